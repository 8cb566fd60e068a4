"""Portfolio indicators: exact rates and DPD buckets on small tables, minimum samples, windows, lateness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskmon.detectors import INDICATORS, DetectorConfigError, PortfolioIndicators, ThresholdDetector
from riskmon.schemas import Decision, Level, Repayment

T0 = datetime(2026, 11, 29, tzinfo=UTC)
DAY = 86400.0


def decisions(p: PortfolioIndicators, table) -> list:
    """Feed (outcome, seconds after 0, latency_ms) rows; the observations."""
    return [p.observe(outcome=o, at=t, latency_ms=ms, decision_id=f"d{i}") for i, (o, t, ms) in enumerate(table)]


DECISION_CASES = [
    # (table of (outcome, t, latency_ms), expected approval, review, reject rates and mean latency)
    ([("approve", 0, 10), ("approve", 1, 20), ("review", 2, 30), ("reject", 3, 40)], (0.5, 0.25, 0.25, 25.0)),
    ([("reject", t, 5) for t in range(5)], (0.0, 0.0, 1.0, 5.0)),  # all rejected
    (
        [("approve", 0, 1), ("approve", 1, 1), ("approve", 2, 1), ("review", 3, 5), ("review", 4, 5)],
        (0.6, 0.4, 0.0, 2.6),
    ),
    # older decisions slide out of the 10-minute window: only the last four count
    (
        [("reject", 0, 100), ("approve", 700, 10), ("approve", 701, 10), ("review", 702, 10), ("approve", 703, 30)],
        (0.75, 0.25, 0.0, 15.0),
    ),
]


@pytest.mark.parametrize("table,expected", DECISION_CASES)
def test_decision_rates_exact(table, expected) -> None:
    p = PortfolioIndicators(min_decisions=4, decision_window=600, decision_step=60)
    decisions(p, table)
    got = tuple(p.value(n).value for n in ("approval_rate", "review_rate", "reject_rate", "decision_latency_ms"))
    assert got == expected


def test_minimum_sample_means_no_value() -> None:
    p = PortfolioIndicators(min_decisions=50)
    decisions(p, [("reject", 0, 1), ("reject", 1, 1), ("reject", 2, 1)])  # a 100% reject rate over 3 decisions...
    ind = p.value("reject_rate")
    assert (ind.value, ind.n, ind.min_samples) == (None, 3, 50)
    assert ind.reason == "insufficient sample: 3 < 50 decisions in 1h"
    # ...which therefore cannot reach a threshold detector
    det = ThresholdDetector({"critical": {"enter": 0.5}})
    assert all(det.update(i.value, at=0.0) is None for i in p.values().values() if i.value is not None)


def test_duplicates_manual_stage_and_late_decisions() -> None:
    p = PortfolioIndicators(min_decisions=1, decision_window=600, decision_step=60, decision_lateness=120)
    base = dict(
        application_id="a",
        customer_id="c",
        stage="automated",
        score=0.1,
        grade="B",
        approved_amount=None,
        model_version="m",
        policy_version="p",
        latency_ms=4.0,
    )

    def dec(i, seconds, outcome="review", **kw):
        return Decision(
            **{**base, **kw, "decision_id": f"d{i}", "decided_at": T0 + timedelta(seconds=seconds), "outcome": outcome}
        )

    assert p.on_decision(dec(1, 1000)).accepted
    obs = p.on_decision(dec(1, 1000))  # re-delivered: counted once
    assert (obs.accepted, obs.late, obs.reason) == (False, False, "duplicate decision d1: counted once")
    obs = p.on_decision(dec(2, 1000, outcome="approve", stage="manual"))
    assert (obs.accepted, obs.reason) == (False, "ignored: manual stage (rates count automated decisions)")
    obs = p.on_decision(dec(3, 900, outcome="approve"))  # 100 s late, within 120: counted
    assert (obs.accepted, obs.late) == (True, True)
    obs = p.on_decision(dec(4, 870))  # 130 s late: dropped and reported
    assert (obs.accepted, obs.late) == (False, True) and obs.reason.startswith("late, dropped")
    assert p.dropped == 1
    assert (p.value("review_rate").value, p.value("approval_rate").value, p.value("review_rate").n) == (0.5, 0.5, 2)


# loans: (loan, t in days, days past due, status)
LOANS = [
    ("L0", 1, 0, "current"),
    ("L1", 1, 5, "late"),
    ("L2", 1, 29, "late"),
    ("L3", 1, 30, "late"),
    ("L4", 1, 59, "late"),
    ("L5", 1, 60, "late"),
    ("L6", 1, 89, "late"),
    ("L7", 1, 90, "late"),
    ("L8", 1, 200, "default"),
    ("L9", 1, 0, "paid_off"),
]

LOAN_CASES = [
    # (extra events after LOANS, expected rates: overdue, 1-29, 30-59, 60-89, 90+, default)
    ([], (0.8, 0.2, 0.2, 0.2, 0.2, 0.1)),  # ten loans, two per bucket, one default
    ([("L1", 2, 0, "current")], (0.7, 0.1, 0.2, 0.2, 0.2, 0.1)),  # L1 caught up: its latest event counts
    ([("L1", 0.5, 45, "late")], (0.8, 0.2, 0.2, 0.2, 0.2, 0.1)),  # an older event for L1 does not override
    ([("L0", 2, 95, "default")], (0.9, 0.2, 0.2, 0.2, 0.3, 0.2)),  # L0 defaulted: 90+ and default
    ([("L8", 2, 200, "charged_off")], (0.8, 0.2, 0.2, 0.2, 0.2, 0.1)),  # L8 written off: still its one default
    ([("L7", 2, 180, "charged_off")], (0.8, 0.2, 0.2, 0.2, 0.2, 0.2)),  # L7 charged off: a default now
    ([("LA", 2, 1, "late"), ("LB", 2, 0, "current")], (0.75, 0.25, 1 / 6, 1 / 6, 1 / 6, 1 / 12)),  # 12 loans
    # at day 31.5 the 30-day window (day 1.5, day 31.5] has lost the day-1 loans: LA and LB remain
    ([("LA", 2, 10, "late"), ("LB", 31.5, 0, "current")], None),
]


@pytest.mark.parametrize("extra,expected", LOAN_CASES)
def test_dpd_buckets_exact(extra, expected) -> None:
    p = PortfolioIndicators(min_loans=1)
    for loan, days, dpd, status in LOANS + extra:
        p.observe_loan(loan_id=loan, at=days * DAY, days_past_due=dpd, status=status)
    names = ("overdue_rate", "dpd_1_29_rate", "dpd_30_59_rate", "dpd_60_89_rate", "dpd_90_plus_rate", "default_rate")
    got = tuple(p.value(n).value for n in names)
    if expected is None:  # the eviction case
        assert p.loans_observed == 2 and got == (0.5, 0.5, 0.0, 0.0, 0.0, 0.0)
    else:
        assert got == pytest.approx(expected, abs=1e-12)
        assert p.loans_observed == len({row[0] for row in LOANS + extra})


def test_loan_minimum_sample_and_lateness_from_repayments() -> None:
    p = PortfolioIndicators(min_loans=3, loan_lateness=DAY)
    rep = dict(customer_id="c", status="late", days_past_due=40)

    def r(i, days):
        return Repayment(event_id=f"e{i}", application_id=f"L{i}", occurred_at=T0 + timedelta(days=days), **rep)

    p.on_repayment(r(1, 10))
    p.on_repayment(r(2, 10))
    assert p.value("dpd_30_59_rate").value is None
    assert p.value("dpd_30_59_rate").reason == "insufficient sample: 2 < 3 loans in 30d"
    assert p.on_repayment(r(3, 9.5)).late  # half a day late: counted
    obs = p.on_repayment(r(4, 8))  # two days late: dropped
    assert (obs.accepted, obs.late) == (False, True)
    assert p.value("dpd_30_59_rate").value == 1.0 and p.dropped == 1


def test_every_indicator_is_named_and_feeds_a_threshold_detector() -> None:
    p = PortfolioIndicators(min_decisions=10, decision_window=600, decision_step=60)
    det = ThresholdDetector({"warning": {"enter": 0.3, "exit": 0.2}, "critical": {"enter": 0.5, "exit": 0.4}})
    levels = []
    for i in range(40):
        outcome = "reject" if i >= 20 and i % 3 else "approve"
        p.observe(outcome=outcome, at=float(i), latency_ms=3.0, decision_id=f"d{i}")
        ind = p.value("reject_rate")
        if ind.value is not None:
            tr = det.update(ind.value, at=ind.at)
            if tr:
                levels.append((i, tr.level))
    assert set(p.values()) == set(INDICATORS)
    assert levels == [(35, Level.WARNING)]  # 11 rejects of 36 = 0.306 >= 0.3; 0.5 is never reached
    assert round(p.value("reject_rate").value, 4) == 0.325


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(decision_window=600, decision_step=70), "decision_step"),  # does not divide the window
        (dict(min_decisions=0), "min_decisions"),
        (dict(loan_window=-1), "loan_window"),
        (dict(decision_lateness=3600), "decision_lateness"),  # more than window - step
    ],
)
def test_config_errors_name_the_field(kwargs, field) -> None:
    with pytest.raises(DetectorConfigError) as info:
        PortfolioIndicators(**kwargs)
    assert info.value.field == field


def test_loan_window_matches_a_recount_and_keeps_one_heap_entry_per_loan() -> None:
    """Many events per loan, some out of order or late: after each one the rates
    equal a recount of every loan's latest event inside the window, and the
    eviction heap never holds more entries than there are loans in it."""
    import random

    rng = random.Random(11)
    window, lateness = 50.0, 5.0
    p = PortfolioIndicators(loan_window=window, loan_lateness=lateness, min_loans=1)
    latest: dict[str, tuple[float, int, str]] = {}
    wm = None
    t = 0.0
    for _ in range(3000):
        t += rng.random()
        at = t - rng.random() * 8  # up to 8 s late: some within lateness, some dropped
        loan = f"L{rng.randrange(120)}"
        dpd, status = rng.choice([(0, "current"), (3, "current"), (45, "current"), (95, "default")])
        p.observe_loan(loan_id=loan, at=at, days_past_due=dpd, status=status)
        if wm is not None and at < wm - lateness:
            continue
        if loan not in latest or at >= latest[loan][0]:
            latest[loan] = (at, dpd, status)
        wm = at if wm is None or at > wm else wm
        live = {k: v for k, v in latest.items() if v[0] > wm - window}
        assert p.loans_observed == len(live)
        assert len(p._heap) <= len(live)
        overdue = sum(1 for _, d, _ in live.values() if d >= 1) / len(live)
        default = sum(1 for _, _, s in live.values() if s == "default") / len(live)
        assert p.value("overdue_rate").value == pytest.approx(overdue)
        assert p.value("default_rate").value == pytest.approx(default)
    assert p.dropped > 0  # the lateness rule was exercised
