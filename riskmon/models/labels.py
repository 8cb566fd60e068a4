"""The label the models learn: did the loan go bad?

Why this definition: 90 or more days past due, or a declared default, is the
Basel definition of default (Basel II/III, CRR Article 178; IFRS 9 presumes
the same backstop), which is what a probability of default (PD) is a
probability *of*. A loan paid off is good. A loan that is current, or late by
fewer days than the threshold, has no final label yet: it may still cure or
still default, so learning "good" from it would bias the PD downwards.

A loan produces several repayment events over its life (current, late,
late again, default, ...). Only the *first* final label of an application is
learned: a defaulted loan that later pays off stays bad, and a redelivered
event must not be learned twice. The caller remembers which applications were
learned (for example in Redis); :func:`should_learn` makes the decision itself
pure.
"""

from __future__ import annotations

from riskmon.schemas import Repayment
from riskmon.schemas.vocab import DEFAULT_STATUSES

__all__ = ["BAD_DAYS_PAST_DUE", "label_from_repayment", "is_final", "should_learn"]

#: Days past due from which a loan is in default (Basel: 90).
BAD_DAYS_PAST_DUE = 90


def label_from_repayment(rep: Repayment, *, bad_days_past_due: int = BAD_DAYS_PAST_DUE) -> bool | None:
    """The label a repayment event gives its loan: True bad, False good, None not yet.

    ==========  =========================  ========
    status      days_past_due              label
    ==========  =========================  ========
    default     any                        True
    charged_off any                        True (written off: a default)
    paid_off    any                        False
    late        >= ``bad_days_past_due``   True
    current     >= ``bad_days_past_due``   True (the days past due are the fact)
    late        below                      None
    current     below                      None
    ==========  =========================  ========

    Examples
    --------
    >>> from types import SimpleNamespace as Rep
    >>> label_from_repayment(Rep(status="late", days_past_due=95))
    True
    >>> label_from_repayment(Rep(status="late", days_past_due=30)) is None
    True
    """
    if bad_days_past_due < 1:
        raise ValueError(f"bad_days_past_due: must be >= 1, got {bad_days_past_due}")
    if rep.status in DEFAULT_STATUSES:
        return True
    if rep.status == "paid_off":
        return False
    if rep.status in ("late", "current"):
        return True if rep.days_past_due >= bad_days_past_due else None
    raise ValueError(f"status: must be one of current, late, default, paid_off, charged_off, got {rep.status!r}")


def is_final(label: bool | None) -> bool:
    """Whether a label is final (bad or good), i.e. may be learned.

    >>> is_final(True), is_final(False), is_final(None)
    (True, True, False)
    """
    return label is not None


def should_learn(label: bool | None, *, already_learned: bool) -> bool:
    """Learn this label only if it is final and the application has none yet.

    >>> should_learn(True, already_learned=False), should_learn(False, already_learned=True)
    (True, False)
    """
    return is_final(label) and not already_learned
