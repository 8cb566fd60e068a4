"""Ordered decision outcomes (approve < review < reject), after Marble.

The type itself lives with the event vocabulary in :mod:`riskmon.schemas`;
this module adds the combination rule the policy needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from riskmon.schemas import Outcome

__all__ = ["Outcome", "most_severe"]


def most_severe(outcomes: Iterable[Outcome]) -> Outcome:
    """The most severe of ``outcomes`` (approve when empty).

    >>> str(most_severe([Outcome.APPROVE, Outcome.REJECT, Outcome.REVIEW]))
    'reject'
    """
    return max(outcomes, default=Outcome.APPROVE)
