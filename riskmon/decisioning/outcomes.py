"""Ordered decision outcomes, after Marble's approve < review < decline."""

from __future__ import annotations

from enum import IntEnum
from typing import Iterable

__all__ = ["Outcome", "most_severe"]


class Outcome(IntEnum):
    """A decision outcome; a larger value is more severe.

    >>> Outcome.parse("review") > Outcome.APPROVE
    True
    >>> str(most_severe([Outcome.APPROVE, Outcome.REJECT, Outcome.REVIEW]))
    'reject'
    """

    APPROVE = 0
    REVIEW = 1
    REJECT = 2

    @classmethod
    def parse(cls, text: str) -> "Outcome":
        """Parse the contract's lower-case name."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown outcome {text!r}: expected approve, review or reject") from None

    def __str__(self) -> str:
        return self.name.lower()


def most_severe(outcomes: Iterable[Outcome]) -> Outcome:
    """The most severe of ``outcomes`` (approve when empty)."""
    return max(outcomes, default=Outcome.APPROVE)
