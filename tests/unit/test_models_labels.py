"""The label definition: default or 90+ days past due is bad, paid off is good, the rest waits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskmon.models.labels import is_final, label_from_repayment, should_learn
from riskmon.schemas import Repayment

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def rep(status: str, dpd: int) -> Repayment:
    return Repayment("ev-1", "app-1", "cust-1", T0, status, dpd)


CASES = [
    # (status, days past due, threshold, label)
    ("default", 0, 90, True),  # a declared default is bad whatever the days
    ("default", 120, 90, True),
    ("charged_off", 180, 90, True),  # written off: a default
    ("paid_off", 0, 90, False),  # repaid: good
    ("paid_off", 10, 90, False),  # repaid after being late: still good
    ("late", 89, 90, None),  # may still cure
    ("late", 90, 90, True),  # 90 days past due: the Basel definition of default
    ("late", 30, 30, True),  # a stricter threshold
    ("current", 0, 90, None),  # performing, not finished: no label yet
    ("current", 95, 90, True),  # inconsistent status: the days past due are the fact
]


@pytest.mark.parametrize("status,dpd,threshold,label", CASES)
def test_label_from_repayment(status: str, dpd: int, threshold: int, label: bool | None) -> None:
    assert label_from_repayment(rep(status, dpd), bad_days_past_due=threshold) is label


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="bad_days_past_due"):
        label_from_repayment(rep("late", 10), bad_days_past_due=0)


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        label_from_repayment(rep("frozen", 0))


@pytest.mark.parametrize(
    "label,already,learn",
    [
        (True, False, True),  # first final label: learn it
        (False, False, True),
        (None, False, False),  # not final: wait
        (True, True, False),  # a second final label (or a redelivery): ignore
        (False, True, False),  # paid off after a default stays bad
    ],
)
def test_only_the_first_final_label_is_learned(label: bool | None, already: bool, learn: bool) -> None:
    assert is_final(label) is (label is not None)
    assert should_learn(label, already_learned=already) is learn
