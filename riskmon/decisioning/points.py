"""A fitted points scorecard applied to one application (see :mod:`riskmon.scorecard_points`).

Numeric characteristics read the field as the linear scorecard does (derived
``loan_to_income``, ``features.<name>``; a non-number is missing); categorical
ones read the value as text. Reasons are the characteristics that lost points
against their best bin, as shares of all the points lost, most first.
"""

from __future__ import annotations

import math
from typing import Any

from riskmon.decisioning.factors import ScoredFactor
from riskmon.scorecard_points import PointsScorecard, reason_shares

__all__ = ["points_score", "read_field"]


def read_field(application: Any, ref: str, *, numeric: bool) -> float | str | None:
    """The value of field ``ref`` of ``application`` (None when missing or of the wrong kind)."""
    if ref == "loan_to_income":
        income = application.annual_income
        return application.amount / income if income > 0 else None
    if ref.startswith("features."):
        value = application.features.get(ref[len("features.") :])
    else:
        value = getattr(application, ref, None)
    if value is None:
        return None
    if not numeric:
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def points_score(application: Any, card: PointsScorecard) -> tuple[float, tuple[ScoredFactor, ...]]:
    """The PD of ``application`` and its reasons, ranked."""
    pd, _, lost = card.score(lambda ch: read_field(application, ch.field, numeric=ch.numeric))
    chars = card.characteristics
    return pd, tuple(ScoredFactor(chars[i].code, chars[i].description, share) for i, share in reason_shares(lost))
