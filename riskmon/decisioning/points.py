"""A fitted points scorecard applied to one application (see :mod:`riskmon.scorecard_points`).

Numeric characteristics read the field as the linear scorecard does (derived
``loan_to_income``, ``features.<name>``; a non-number is missing); categorical
ones read the value as text. Reasons are the characteristics that lost points
against their best bin, as shares of all the points lost, most first.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from riskmon.decisioning.factors import ScoredFactor
from riskmon.ratio_fields import ratio_of, split_ratio
from riskmon.scorecard_points import PointsScorecard

__all__ = ["points_score", "read_field"]


def read_field(application: Any, ref: str, *, numeric: bool) -> float | str | None:
    """The value of field ``ref`` of ``application`` (None when missing or of the wrong kind).

    A ratio ref (``amount/features.goods_price``, :mod:`riskmon.ratio_fields`) is always a number or None.
    """
    ratio = split_ratio(ref)
    if ratio is not None:
        numerator, denominator = (read_field(application, part, numeric=True) for part in ratio)
        return ratio_of(
            numerator if isinstance(numerator, float) else None,
            denominator if isinstance(denominator, float) else None,
        )
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


def points_score(
    application: Any, card: PointsScorecard, *, max_reasons: int = 4
) -> tuple[float, tuple[ScoredFactor, ...]]:
    """The PD of ``application`` and its top ``max_reasons`` reasons, ranked.

    On the decision path, so kept lean: one pass over the card's precomputed
    plan (:attr:`PointsScorecard.best`), no call per characteristic but the
    bin look-up. Shares are of all the points lost, as :meth:`PointsScorecard.score` gives them.
    """
    features = application.features
    total = 0.0
    lost: list[tuple[float, int]] = []
    for index, (ch, best, key) in enumerate(card.best):
        value: Any = features.get(key) if key is not None else read_field(application, ch.field, numeric=ch.numeric)
        if value is None:
            points = ch.missing_points
        elif ch.numeric:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                points = ch.missing_points
            else:
                points = ch.points[bisect.bisect_right(ch.uppers, value)]
        else:
            text = (str(value).lower() if isinstance(value, bool) else str(value)) if key is not None else value
            points = ch.categories.get(text, ch.other_points)
        total += points
        if best > points:
            lost.append((best - points, index))
    if not lost:
        return card.pd_of(total), ()
    lost.sort(key=lambda t: (-t[0], t[1]))
    all_lost = sum(gap for gap, _ in lost)
    chars = card.characteristics
    return card.pd_of(total), tuple(
        ScoredFactor(chars[i].code, chars[i].description, round(gap / all_lost, 4)) for gap, i in lost[:max_reasons]
    )
