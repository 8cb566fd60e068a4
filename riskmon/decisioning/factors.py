"""A ranked reason, as the policy, the customer rules and the models give them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ScoredFactor"]


@dataclass(frozen=True, slots=True)
class ScoredFactor:
    """One ranked reason: a code, its plain-language text and its weight."""

    code: str
    description: str
    contribution: float
