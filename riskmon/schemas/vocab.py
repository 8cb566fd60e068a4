"""The contract's closed vocabularies, as ordered tuples, and two ordered enums.

Tuples list the allowed strings, least severe (or best) first. :class:`Outcome`
and :class:`Level` compare by severity, after Marble's approve < review < decline.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Self

__all__ = [
    "OUTCOMES",
    "REVIEW_OUTCOMES",
    "GRADES",
    "STAGES",
    "LEVELS",
    "ALERT_STATUSES",
    "SUBJECT_KINDS",
    "TRANSACTION_TYPES",
    "REPAYMENT_STATUSES",
    "TRANSACTION_OUTCOMES",
    "CLOSING_STATUSES",
    "DEFAULT_STATUSES",
    "Outcome",
    "Level",
]

OUTCOMES = ("approve", "review", "reject")
REVIEW_OUTCOMES = ("approve", "reject")
GRADES = ("A", "B", "C", "D", "E")
#: ``hold``: an approval re-issued as a review because a critical alert opened on the customer.
STAGES = ("automated", "manual", "hold")
LEVELS = ("info", "warning", "critical")
ALERT_STATUSES = ("firing", "resolved")
SUBJECT_KINDS = ("customer", "portfolio", "model", "pipeline")
TRANSACTION_TYPES = ("purchase", "cash_withdrawal", "transfer", "repayment", "refund")
REPAYMENT_STATUSES = ("current", "late", "default", "paid_off", "charged_off")
#: Confirmed outcomes of a transaction (``credit.transaction_outcomes``): fraud and chargeback are fraud labels.
TRANSACTION_OUTCOMES = ("fraud", "chargeback", "genuine")
#: Statuses that end a loan: it leaves the exposure book (paid in full, or written off as a loss).
CLOSING_STATUSES = ("paid_off", "charged_off")
#: Statuses that count as a default (a charge-off follows a default, so it is one too).
DEFAULT_STATUSES = ("default", "charged_off")


class _Ordered(IntEnum):
    """Shared behaviour: parse the contract's lower-case name, print it back."""

    @classmethod
    def parse(cls, text: str | _Ordered) -> Self:
        """The member named ``text`` (``"review"`` -> ``REVIEW``); ``ValueError`` otherwise."""
        if isinstance(text, cls):
            return text
        try:
            return cls[text.upper()]  # type: ignore[union-attr]  # not a str: AttributeError below
        except (KeyError, AttributeError):
            names = ", ".join(m.name.lower() for m in cls)
            raise ValueError(f"unknown {cls.__name__.lower()} {text!r}: expected one of {names}") from None

    @classmethod
    def worst(cls, items: Iterable[_Ordered | str]) -> Self:
        """The most severe of ``items`` (the least severe member when empty)."""
        return max((cls.parse(i) for i in items), default=cls(0))

    def __str__(self) -> str:
        return self.name.lower()


class Outcome(_Ordered):
    """A decision outcome; larger is more severe.

    >>> Outcome.parse("review") > Outcome.APPROVE
    True
    >>> str(Outcome.worst(["approve", "reject", "review"]))
    'reject'
    """

    APPROVE = 0
    REVIEW = 1
    REJECT = 2


class Level(_Ordered):
    """An alert level; larger is more severe.

    >>> str(max(Level.INFO, Level.parse("critical")))
    'critical'
    """

    INFO = 0
    WARNING = 1
    CRITICAL = 2
