"""A points scorecard, as a risk team fits and signs it off: bins, points, scaling.

Why its own module: the configuration (``policy.scorecard`` with ``kind:
points``) and the fitter (``riskmon model fit-scorecard``,
:mod:`riskmon.scorecards`) share this shape, and the policy evaluates it on
every application; it imports nothing of riskmon so each of them can use it.

Each characteristic (one application field) is cut into bins; each bin is
worth a number of points. Numeric bins are given by their upper bounds
(``x < upper``; the last bin has none), categorical bins by their values. A
missing value, and a category never seen in fitting, have points of their
own. The total is turned into a probability of default (PD) with the usual
scaling: ``points_to_double_the_odds`` (PDO) more points double the odds of a
good loan, and ``base_points`` stand for good:bad odds of ``base_odds``::

    factor = PDO / ln 2;  offset = base_points - factor * ln(base_odds)
    ln(good:bad odds) = (total - offset) / factor;  PD = 1 / (1 + odds)

Reasons are the characteristics that lost the most points against their best
bin, ranked, as shares of all the points lost.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskmon.ratio_fields import split_ratio

__all__ = [
    "Characteristic",
    "PointsError",
    "PointsScorecard",
    "parse_points_scorecard",
    "points_scorecard_to_dict",
]


class PointsError(ValueError):
    """A points scorecard breaks a rule; ``field`` is the dotted path (relative to ``policy.scorecard``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Characteristic:
    """One scored field and its bins.

    Numeric: ``uppers[i]`` is bin ``i``'s exclusive upper bound; ``points``
    has one more entry than ``uppers`` (the last bin is open). Categorical:
    ``categories`` maps each value to its points. ``missing_points`` scores a
    missing value, ``other_points`` a category not seen in fitting.
    """

    code: str
    description: str
    field: str
    numeric: bool
    uppers: tuple[float, ...]
    points: tuple[float, ...]
    categories: Mapping[str, float]
    missing_points: float
    other_points: float
    information_value: float | None = None

    @property
    def best_points(self) -> float:
        """The most points any value of this characteristic can earn."""
        values = [*self.points, *self.categories.values(), self.missing_points]
        if self.categories:
            values.append(self.other_points)
        return max(values)

    def points_for(self, value: float | str | None) -> float:
        """The points of ``value`` (None: missing)."""
        if value is None:
            return self.missing_points
        if self.numeric:
            if isinstance(value, str):
                return self.missing_points
            return self.points[bisect.bisect_right(self.uppers, value)]
        return self.categories.get(str(value), self.other_points)


def _feature_key(ref: str) -> str | None:
    """The feature name a characteristic reads directly, or None (a contract root or a ratio: read_field)."""
    return ref[len("features.") :] if ref.startswith("features.") and split_ratio(ref) is None else None


@dataclass(frozen=True, slots=True)
class PointsScorecard:
    """A fitted scorecard: characteristics and the scaling of points to PD."""

    characteristics: tuple[Characteristic, ...]
    points_to_double_the_odds: float
    base_points: float
    base_odds: float
    #: ``(characteristic, its best points, its feature name or None)`` in order: computed once, read on
    #: every application (the decision path)
    best: tuple[tuple[Characteristic, float, str | None], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plan = tuple((ch, ch.best_points, _feature_key(ch.field)) for ch in self.characteristics)
        object.__setattr__(self, "best", plan)

    @property
    def factor(self) -> float:
        return self.points_to_double_the_odds / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_points - self.factor * math.log(self.base_odds)

    def pd_of(self, total: float) -> float:
        """The PD a total of points stands for."""
        log_odds = (total - self.offset) / self.factor
        if log_odds >= 0:
            e = math.exp(-log_odds)
            return e / (1.0 + e)
        return 1.0 / (1.0 + math.exp(log_odds))

    def score(
        self, read: Callable[[Characteristic], float | str | None]
    ) -> tuple[float, float, list[tuple[float, int]]]:
        """``(PD, total points, [(points lost, characteristic index), ...])`` of one application.

        ``read(characteristic)`` returns its field's value (None when missing). Only
        characteristics that lost points are listed, most lost first.
        """
        total = 0.0
        lost: list[tuple[float, int]] = []
        for index, (ch, best, _) in enumerate(self.best):
            points = ch.points_for(read(ch))
            total += points
            if best > points:
                lost.append((best - points, index))
        lost.sort(key=lambda t: (-t[0], t[1]))
        return self.pd_of(total), total, lost


# -- parsing and writing ---------------------------------------------------------------


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise PointsError(field, f"must be a finite number, got {value!r}")
    return float(value)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PointsError(field, "must be a non-empty string")
    return value


def _characteristic(raw: Any, field: str, check_code: Callable[[Any, str], str]) -> Characteristic:
    if not isinstance(raw, Mapping):
        raise PointsError(field, "must be a mapping")
    allowed = {"code", "description", "field", "bins", "categories", "missing", "other", "information_value"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise PointsError(field, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    for key in ("code", "description", "field", "missing"):
        if key not in raw:
            raise PointsError(f"{field}.{key}", "is required")
    has_bins, has_categories = "bins" in raw, "categories" in raw
    if has_bins == has_categories:
        raise PointsError(field, "needs exactly one of `bins` (numeric) or `categories` (categorical)")
    uppers: list[float] = []
    points: list[float] = []
    categories: dict[str, float] = {}
    if has_bins:
        bins = raw["bins"]
        if not isinstance(bins, list) or not bins:
            raise PointsError(f"{field}.bins", "must be a non-empty list of {upper, points}")
        for i, b in enumerate(bins):
            where = f"{field}.bins[{i}]"
            if not isinstance(b, Mapping) or "points" not in b:
                raise PointsError(where, "must be a mapping with `points` (and `upper`, except the last)")
            points.append(_number(b["points"], f"{where}.points"))
            upper = b.get("upper")
            if i < len(bins) - 1:
                bound = _number(upper, f"{where}.upper")
                if uppers and bound <= uppers[-1]:
                    raise PointsError(f"{where}.upper", f"must be above the previous bound ({uppers[-1]})")
                uppers.append(bound)
            elif upper is not None:
                raise PointsError(f"{where}.upper", "the last bin is open: leave `upper` out")
        other = _number(raw.get("other", raw["missing"]), f"{field}.other")
    else:
        cats = raw["categories"]
        if not isinstance(cats, list) or not cats:
            raise PointsError(f"{field}.categories", "must be a non-empty list of {values, points}")
        for i, c in enumerate(cats):
            where = f"{field}.categories[{i}]"
            if not isinstance(c, Mapping) or not isinstance(c.get("values"), list) or "points" not in c:
                raise PointsError(where, "must be a mapping with `values` (a list) and `points`")
            for value in c["values"]:
                if str(value) in categories:
                    raise PointsError(where, f"value {value!r} is in two bins")
                categories[str(value)] = _number(c["points"], f"{where}.points")
        if "other" not in raw:
            raise PointsError(f"{field}.other", "is required for categories (the points of an unseen value)")
        other = _number(raw["other"], f"{field}.other")
    iv = raw.get("information_value")
    return Characteristic(
        code=check_code(raw["code"], f"{field}.code"),
        description=_text(raw["description"], f"{field}.description"),
        field=_text(raw["field"], f"{field}.field"),
        numeric=has_bins,
        uppers=tuple(uppers),
        points=tuple(points),
        categories=categories,
        missing_points=_number(raw["missing"], f"{field}.missing"),
        other_points=other,
        information_value=None if iv is None else _number(iv, f"{field}.information_value"),
    )


def parse_points_scorecard(raw: Mapping[str, Any], check_code: Callable[[Any, str], str]) -> PointsScorecard:
    """The ``policy.scorecard`` block of ``kind: points`` (``check_code`` validates each code)."""
    allowed = {"kind", "points_to_double_the_odds", "base_points", "base_odds", "characteristics", "fitted"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise PointsError("scorecard", f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    for key in ("points_to_double_the_odds", "base_points", "base_odds", "characteristics"):
        if key not in raw:
            raise PointsError(f"scorecard.{key}", "is required")
    pdo = _number(raw["points_to_double_the_odds"], "scorecard.points_to_double_the_odds")
    odds = _number(raw["base_odds"], "scorecard.base_odds")
    if pdo <= 0:
        raise PointsError("scorecard.points_to_double_the_odds", f"must be positive, got {pdo}")
    if odds <= 0:
        raise PointsError("scorecard.base_odds", f"must be positive (good:bad odds), got {odds}")
    items = raw["characteristics"]
    if not isinstance(items, list) or not items:
        raise PointsError("scorecard.characteristics", "must be a non-empty list")
    chars = tuple(_characteristic(c, f"scorecard.characteristics[{i}]", check_code) for i, c in enumerate(items))
    seen: set[str] = set()
    for i, ch in enumerate(chars):
        if ch.code in seen:
            raise PointsError(f"scorecard.characteristics[{i}].code", f"duplicates code {ch.code!r}")
        seen.add(ch.code)
    return PointsScorecard(
        characteristics=chars,
        points_to_double_the_odds=pdo,
        base_points=_number(raw["base_points"], "scorecard.base_points"),
        base_odds=odds,
    )


def points_scorecard_to_dict(card: PointsScorecard, fitted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The configuration block (``policy.scorecard``) of ``card``; ``fitted`` records how it was fitted."""
    chars: list[dict[str, Any]] = []
    for ch in card.characteristics:
        item: dict[str, Any] = {"code": ch.code, "description": ch.description, "field": ch.field}
        if ch.numeric:
            item["bins"] = [
                {"upper": ch.uppers[i], "points": ch.points[i]} if i < len(ch.uppers) else {"points": ch.points[i]}
                for i in range(len(ch.points))
            ]
        else:
            grouped: dict[float, list[str]] = {}
            for value, points in ch.categories.items():
                grouped.setdefault(points, []).append(value)
            item["categories"] = [{"values": sorted(v), "points": p} for p, v in grouped.items()]
            item["other"] = ch.other_points
        item["missing"] = ch.missing_points
        if ch.information_value is not None:
            item["information_value"] = round(ch.information_value, 4)
        chars.append(item)
    out: dict[str, Any] = {
        "kind": "points",
        "points_to_double_the_odds": card.points_to_double_the_odds,
        "base_points": card.base_points,
        "base_odds": card.base_odds,
    }
    if fitted:
        out["fitted"] = dict(fitted)
    out["characteristics"] = chars
    return out
