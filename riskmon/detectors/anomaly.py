"""Anomaly scores on transactions, graded by streaming quantiles of recent scores.

:func:`transaction_features` turns a :class:`~riskmon.schemas.Transaction`
into numbers in ``[0, 1]`` (log-scaled amount, type and channel one-hot,
hour of day as sine/cosine, a cash flag). The scaling is fixed rather than
learned (no ``MinMaxScaler``): a learned scaler would stretch itself to fit
the very outliers we want to see, and Half-Space Trees expect ``[0, 1]``.

:class:`TransactionAnomalyDetector` scores with River's
``anomaly.HalfSpaceTrees`` (seeded; ``method="hst"``) or with the rarity of
the transaction's attribute values (``method="rarity"``,
:mod:`riskmon.detectors.rarity`, the configuration's default) and grades
each score against streaming quantiles of the scores seen so far (River
``stats.Quantile``, or exact quantiles over the last ``quantile_window``
scores, :class:`RecentScores`), one
quantile per level, for example info at 0.95, warning at 0.99 and critical at
0.999; an optional ``min_score`` per level keeps a quiet stream's top
percentile from alerting. A level may instead name its **budget**, the share
of transactions it may flag (``critical: {budget: 0.001}`` is the quantile
0.999): the feed's volume per level is then known in advance, whatever the
scores' scale (``bench/fraud_quality.py`` measures the shares reached).
Like River's ``anomaly.QuantileFilter``, scoring and
grading are separate from learning, and the model does not learn from points
graded ``protect_from`` (warning) or worse, so it never comes to find what it
flags normal.

Use :meth:`~TransactionAnomalyDetector.update` (score, grade, then learn
unless flagged) on the stream; :meth:`~TransactionAnomalyDetector.score_one`
grades without changing any state. During the warm-up (the first ``warmup``
observations) nothing is graded and everything is learned; the quantiles only
start once the trees have completed their first window.

>>> import random
>>> from riskmon.detectors.anomaly import TransactionAnomalyDetector, features
>>> rng = random.Random(1)
>>> det = TransactionAnomalyDetector(warmup=500, seed=42)
>>> for _ in range(1500):
...     r = det.update(features(amount=rng.gauss(50, 10), type="purchase", hour=rng.uniform(9, 20)))
>>> r = det.update(features(amount=5000, type="cash_withdrawal", hour=3))
>>> str(r.level), r.learned
('critical', False)
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from riskmon.detectors.base import DetectorConfigError, fmt, fraction, integer, number
from riskmon.detectors.rarity import RarityModel
from riskmon.schemas.inputs import Transaction
from riskmon.schemas.vocab import TRANSACTION_TYPES, Level

__all__ = [
    "AnomalyResult",
    "TransactionAnomalyDetector",
    "transaction_features",
    "features",
    "CHANNELS",
    "CASH_MERCHANT_CATEGORIES",
    "DEFAULT_QUANTILES",
    "METHODS",
]

#: Anomaly models: Half-Space Trees over features, or the rarity of attribute values.
METHODS = ("hst", "rarity")

#: Channels with their own one-hot feature; any other channel sets ``channel_other``.
CHANNELS = ("web", "mobile", "branch", "partner", "pos", "atm")
#: Merchant category codes of cash disbursements (ISO 18245 6010, 6011).
CASH_MERCHANT_CATEGORIES = frozenset({"6010", "6011"})
#: Default grading: level -> quantile of recent scores.
DEFAULT_QUANTILES = {"info": 0.95, "warning": 0.99, "critical": 0.999}
_TWO_PI = 2.0 * math.pi


def features(
    *,
    amount: float,
    type: str,
    hour: float,
    channel: str | None = None,
    merchant_category: str | None = None,
    max_amount: float = 1e7,
) -> dict[str, float]:
    """The feature vector of one transaction's raw parts, every value in ``[0, 1]``.

    ``hour`` is the local hour of day as a float (``13.5`` = 13:30).

    >>> x = features(amount=99.0, type="purchase", hour=6.0, channel="web")
    >>> x["amount_log"], x["type_purchase"], x["hour_sin"], x["hour_cos"], x["channel_web"], x["cash"]
    (0.2857, 1.0, 1.0, 0.5, 1.0, 0.0)
    """
    amount = max(float(amount), 0.0)
    x = {"amount_log": round(min(math.log10(1.0 + amount) / math.log10(1.0 + max_amount), 1.0), 4)}
    for t in TRANSACTION_TYPES:
        x[f"type_{t}"] = 1.0 if type == t else 0.0
    angle = _TWO_PI * (hour % 24.0) / 24.0
    x["hour_sin"] = round((math.sin(angle) + 1.0) / 2.0, 4)
    x["hour_cos"] = round((math.cos(angle) + 1.0) / 2.0, 4)
    for c in CHANNELS:
        x[f"channel_{c}"] = 1.0 if channel == c else 0.0
    x["channel_other"] = 1.0 if channel is not None and channel not in CHANNELS else 0.0
    cash = type == "cash_withdrawal" or channel == "atm" or merchant_category in CASH_MERCHANT_CATEGORIES
    x["cash"] = 1.0 if cash else 0.0
    return x


def transaction_features(tx: Transaction, *, tz: tzinfo = UTC, max_amount: float = 1e7) -> dict[str, float]:
    """:func:`features` of a :class:`Transaction`; the hour is ``occurred_at`` seen in ``tz``.

    Amounts are log-scaled against ``max_amount`` (major units); the hour's
    time zone should be the customer's when the caller knows it.
    """
    local = tx.occurred_at.astimezone(tz)
    hour = local.hour + local.minute / 60.0 + local.second / 3600.0
    return features(
        amount=tx.amount,
        type=tx.type,
        hour=hour,
        channel=tx.channel,
        merchant_category=tx.merchant_category,
        max_amount=max_amount,
    )


class RecentScores:
    """The last ``size`` scores, kept sorted too: every level's exact quantile over them from one window.

    One sorted list shared by the levels (an insertion and a removal per
    score) instead of one River ``RollingQuantile`` per level: a third of the
    work on the transaction path.

    >>> r = RecentScores(4)
    >>> for s in (5.0, 1.0, 3.0, 2.0, 4.0):
    ...     r.update(s)
    >>> r.quantile(0.0), r.quantile(0.5), r.quantile(1.0)
    (1.0, 2.5, 4.0)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def update(self, score: float) -> None:
        if len(self._order) == self.size:
            del self._sorted[bisect.bisect_left(self._sorted, self._order.popleft())]
        self._order.append(score)
        bisect.insort(self._sorted, score)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the window (linear between ranks, as River's), None before any score."""
        s = self._sorted
        if not s:
            return None
        pos = q * (len(s) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class _RecentQuantile:
    """One level's quantile of a shared :class:`RecentScores` (``get`` as River's quantiles; the
    detector updates the shared window once per score, never through this)."""

    def __init__(self, recent: RecentScores, q: float) -> None:
        self._recent, self._q = recent, q

    def get(self) -> float | None:
        return self._recent.quantile(self._q)

    def update(self, score: float) -> None:
        raise NotImplementedError("update the shared RecentScores once per score")


@dataclass(frozen=True, slots=True)
class AnomalyResult:
    """A graded anomaly score.

    ``level`` is ``None`` for a normal point (and during warm-up);
    ``threshold`` is the score cut-off of the level reached (or of the lowest
    level when none was); ``learned`` says whether the model learned the point.
    """

    score: float
    level: Level | None
    threshold: float | None
    learned: bool
    reason: str


def _levels(raw: Mapping[Any, Any]) -> tuple[tuple[Level, float, float], ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise DetectorConfigError("levels", "must be a non-empty mapping of level name to quantile")
    out: dict[Level, tuple[float, float]] = {}
    for name, spec in raw.items():
        try:
            level = Level.parse(name)
        except ValueError:
            raise DetectorConfigError(f"levels.{name}", "is not a level: expected info, warning or critical") from None
        field = f"levels.{level}"
        if isinstance(spec, Mapping):
            extra = sorted(set(spec) - {"quantile", "min_score", "budget"})
            if extra:
                raise DetectorConfigError(f"{field}.{extra[0]}", "is not a known setting (check its spelling)")
            if "quantile" in spec and "budget" in spec:
                raise DetectorConfigError(f"{field}.budget", "give either budget (a share of transactions) or quantile")
            if "quantile" not in spec and "budget" not in spec:
                raise DetectorConfigError(f"{field}.quantile", "is required (or budget, a share of transactions)")
            if "budget" in spec:
                budget = fraction(spec["budget"], f"{field}.budget")
                if not 0.0 < budget < 1.0:
                    raise DetectorConfigError(
                        f"{field}.budget", f"must be a share strictly between 0 and 1, got {budget}"
                    )
                q = 1.0 - budget
            else:
                q = fraction(spec["quantile"], f"{field}.quantile")
            floor = number(spec.get("min_score", 0.0), f"{field}.min_score")
        else:
            q, floor = fraction(spec, field), 0.0
        out[level] = (q, floor)
    ordered = tuple((level, q, floor) for level, (q, floor) in sorted(out.items()))
    for (lo, q_lo, _), (hi, q_hi, _) in zip(ordered, ordered[1:], strict=False):
        if not q_hi > q_lo:
            raise DetectorConfigError(
                f"levels.{hi}.quantile", f"must be above levels.{lo}.quantile ({fmt(q_lo)}), got {fmt(q_hi)}"
            )
    return ordered


class TransactionAnomalyDetector:
    """Half-Space Trees scores graded by quantile thresholds, protected from what they flag.

    Parameters
    ----------
    levels
        Level -> quantile of recent scores (``0.99``), or
        ``{quantile, min_score}``: a score reaches the level when it is
        ``>= max(quantile estimate, min_score)``, or ``{budget, min_score}``
        with ``budget`` the share of observations the level may flag
        (quantile ``1 - budget``). Quantiles must increase with severity.
    warmup
        Observations learned before any grading; more than ``window_size``.
    protect_from
        Points graded this level or worse are not learned (``None``: learn all).
    quantile_window
        ``None``: quantiles over all scores (P² estimates, constant memory);
        an integer: exact quantiles over the last that many scores
        (:class:`RecentScores`, one window for all levels).
    method
        ``"hst"``: River ``anomaly.HalfSpaceTrees`` over numeric features in
        ``[0, 1]``; ``"rarity"``: :class:`riskmon.detectors.rarity.RarityModel`
        over discrete attributes (:func:`riskmon.detectors.rarity.rarity_attributes`).
    n_trees, height, window_size, seed
        Passed to ``river.anomaly.HalfSpaceTrees``; inputs are in ``[0, 1]``.
        ``window_size`` is also, for both methods, how many scores pass before
        the quantiles start (the first ones mean little).
    """

    def __init__(
        self,
        levels: Mapping[Any, Any] | None = None,
        *,
        warmup: int = 1000,
        protect_from: Level | str | None = Level.WARNING,
        quantile_window: int | None = None,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
        seed: int | None = 42,
        method: str = "hst",
    ) -> None:
        if method not in METHODS:
            raise DetectorConfigError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
        self.method = method
        self.levels = _levels(DEFAULT_QUANTILES if levels is None else levels)
        self.n_trees = integer(n_trees, "n_trees", minimum=1)
        self.height = integer(height, "height", minimum=1)
        self.window_size = integer(window_size, "window_size", minimum=1)
        self.warmup = integer(warmup, "warmup", minimum=1)
        if self.warmup <= self.window_size:
            raise DetectorConfigError(
                "warmup", f"must be above window_size ({self.window_size}) so the trees have a reference, got {warmup}"
            )
        try:
            self.protect_from = None if protect_from is None else Level.parse(protect_from)
        except ValueError:
            raise DetectorConfigError("protect_from", f"must be a level or null, got {protect_from!r}") from None
        self.quantile_window = (
            None if quantile_window is None else integer(quantile_window, "quantile_window", minimum=10)
        )
        self.seed = seed
        self._reset()

    def _reset(self) -> None:
        from river import anomaly, stats  # imported on first use: river.anomaly takes seconds to import

        self._model: Any
        if self.method == "rarity":
            self._model = RarityModel()
        else:
            self._model = anomaly.HalfSpaceTrees(
                n_trees=self.n_trees, height=self.height, window_size=self.window_size, seed=self.seed
            )
        self._quantiles: list[stats.Quantile | _RecentQuantile]
        self._recent: RecentScores | None = None
        if self.quantile_window is None:
            self._quantiles = [stats.Quantile(q) for _, q, _ in self.levels]
        else:
            recent = RecentScores(self.quantile_window)
            self._quantiles = [_RecentQuantile(recent, q) for _, q, _ in self.levels]
            self._recent = recent
        self._n_seen = 0
        self._n_learned = 0
        self._n_flagged = 0

    def _thresholds(self) -> list[float]:
        # a quantile with no scores yet grades nothing
        return [
            math.inf if (v := q.get()) is None else max(v, floor)
            for q, (_, _, floor) in zip(self._quantiles, self.levels, strict=False)
        ]

    def _grade(self, score: float) -> tuple[Level | None, float | None, str]:
        if self._n_seen < self.warmup:
            return None, None, f"warming up: {self._n_seen} of {self.warmup} observations"
        thresholds = self._thresholds()
        for (level, q, _), cut in zip(reversed(self.levels), reversed(thresholds), strict=False):
            if score >= cut:
                return level, cut, f"{level}: score {fmt(score)} >= {fmt(cut)} (q{q:g} of recent scores)"
        lowest, q, _ = self.levels[0]
        return None, thresholds[0], f"normal: score {fmt(score)} < {lowest} threshold {fmt(thresholds[0])} (q{q:g})"

    def rare(self, x: Mapping[str, Any]) -> list[str]:
        """The attributes of ``x`` that stood out (rarity method), rarest first; ``[]`` for Half-Space Trees."""
        return self._model.rare(x) if self.method == "rarity" else []

    def score_one(self, x: Mapping[str, Any]) -> AnomalyResult:
        """Score and grade ``x`` without learning anything (``learned`` is False)."""
        score = self._model.score_one(x)
        level, threshold, reason = self._grade(score)
        return AnomalyResult(score, level, threshold, False, reason)

    def update(self, x: Mapping[str, Any]) -> AnomalyResult:
        """Score and grade ``x``, track the score's quantiles, then learn ``x`` unless it was flagged."""
        score = self._model.score_one(x)
        level, threshold, reason = self._grade(score)
        if self._n_seen >= self.window_size:  # the trees' first window is complete: scores mean something
            if self._recent is not None:
                self._recent.update(score)  # one window for every level
            else:
                for q in self._quantiles:
                    q.update(score)
        self._n_seen += 1
        protected = level is not None and self.protect_from is not None and level >= self.protect_from
        if protected:
            self._n_flagged += 1
            reason += f"; not learned (graded {level}, protected from {self.protect_from} and above)"
        else:
            self._model.learn_one(x)
            self._n_learned += 1
        return AnomalyResult(score, level, threshold, not protected, reason)

    @property
    def n_seen(self) -> int:
        """Observations passed to :meth:`update`."""
        return self._n_seen

    @property
    def n_learned(self) -> int:
        """Observations the model learned from."""
        return self._n_learned

    @property
    def n_flagged(self) -> int:
        """Observations not learned because they were flagged."""
        return self._n_flagged

    @property
    def warming_up(self) -> bool:
        return self._n_seen < self.warmup

    @property
    def thresholds(self) -> dict[Level, float]:
        """Current score cut-off per level."""
        return {level: cut for (level, _, _), cut in zip(self.levels, self._thresholds(), strict=False)}

    def __repr__(self) -> str:
        levels = ", ".join(f"{level}=q{q:g}" for level, q, _ in self.levels)
        return f"TransactionAnomalyDetector({levels}; seen={self._n_seen}, flagged={self._n_flagged})"
