"""Drift: of the score distribution (PSI), of the model's errors (ADWIN, Page-Hinkley), of ingestion (lag).

* :class:`PSIMonitor`: population stability index of the current scores
  against a reference. Bins are fixed from the reference's quantiles (so each
  holds about the same share of it); empty bins are smoothed to ``epsilon``.
  Conventional grading: below 0.1 stable, 0.1 to 0.25 warning, 0.25 and
  above critical.
* :class:`ErrorDriftDetector`: concept drift in the model's errors as labels
  arrive (``0/1`` misclassification, or ``|y - p|``), with River's
  ``drift.ADWIN`` (default) or ``drift.PageHinkley``; every update returns a
  :class:`DriftResult` whose reason says what moved.
* :class:`IngestionLag`: processing time minus event time of an input topic's
  messages, the latest and the maximum over a rolling window.

All are count- or caller-time-driven: no clock is read here.

>>> import random
>>> rng = random.Random(3)
>>> psi = PSIMonitor(reference_size=500, window_size=500)
>>> for _ in range(500):
...     _ = psi.update(rng.betavariate(2, 8))
>>> for _ in range(500):
...     r = psi.update(rng.betavariate(4, 6))
>>> str(r.level), r.psi > 0.25
('critical', True)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from riskmon.detectors.base import (
    DetectorConfigError,
    finite_value,
    fmt,
    fraction,
    integer,
    positive,
)
from riskmon.schemas.vocab import Level

__all__ = [
    "PSIResult",
    "PSIMonitor",
    "psi",
    "DriftResult",
    "ErrorDriftDetector",
    "LagValue",
    "IngestionLag",
]


# -- PSI ------------------------------------------------------------------------


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def psi(expected: Iterable[float], actual: Iterable[float], epsilon: float = 1e-4) -> float:
    """Population stability index of two proportion vectors, each smoothed to at least ``epsilon``.

    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6), round(psi([0.5, 0.5], [0.9, 0.1]), 4)
    (0.0, 0.8789)
    """
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, epsilon), max(a, epsilon)
        total += (a - e) * math.log(a / e)
    return total


@dataclass(frozen=True, slots=True)
class PSIResult:
    """The PSI after one observation: ``None`` until the current window is full enough."""

    psi: float | None
    level: Level | None
    n: int
    reason: str


class PSIMonitor:
    """PSI of a rolling window of scores against a fixed reference.

    The first ``reference_size`` values (or :meth:`set_reference`) form the
    reference; its quantiles fix ``n_bins`` bins. Later values fill a rolling
    window of the last ``window_size``; PSI is computed once it holds
    ``min_window`` values (default: full).

    Parameters
    ----------
    reference_size, window_size, min_window
        Counts of values.
    n_bins
        Bins from the reference's quantiles (fewer when it has ties).
    epsilon
        Smallest proportion used for a bin (smoothing of empty bins).
    warning, critical
        PSI grading cut-offs (``>=``).
    """

    def __init__(
        self,
        reference_size: int = 1000,
        window_size: int = 1000,
        *,
        n_bins: int = 10,
        epsilon: float = 1e-4,
        warning: float = 0.1,
        critical: float = 0.25,
        min_window: int | None = None,
    ) -> None:
        self.reference_size = integer(reference_size, "reference_size", minimum=2)
        self.window_size = integer(window_size, "window_size", minimum=1)
        self.min_window = window_size if min_window is None else integer(min_window, "min_window", minimum=1)
        if self.min_window > self.window_size:
            raise DetectorConfigError("min_window", f"must be <= window_size ({self.window_size}), got {min_window}")
        self.n_bins = integer(n_bins, "n_bins", minimum=2)
        self.epsilon = fraction(epsilon, "epsilon")
        self.warning = positive(warning, "warning")
        self.critical = positive(critical, "critical")
        if not self.critical > self.warning:
            raise DetectorConfigError(
                "critical", f"must be above warning ({fmt(self.warning)}), got {fmt(self.critical)}"
            )
        self._reset()

    def _reset(self) -> None:
        self._fixed_by_last = False  # the latest value completed the reference (see last_result)
        self._reference: list[float] = []
        self._edges: list[float] | None = None
        self._expected: list[float] = []
        self._window: deque[int] = deque()
        self._counts: list[int] = []

    def set_reference(self, values: Iterable[float]) -> None:
        """Fix the reference from ``values`` (for example the training scores); clears the current window."""
        ref = sorted(finite_value(v) for v in values)
        if len(ref) < 2:
            raise ValueError("a reference needs at least 2 values")
        inner = sorted({_quantile(ref, i / self.n_bins) for i in range(1, self.n_bins)})
        counts = [0] * (len(inner) + 1)
        for v in ref:
            counts[bisect_right(inner, v)] += 1
        self._reference = []
        self._edges = inner
        self._expected = [c / len(ref) for c in counts]
        self._window = deque()
        self._counts = [0] * len(counts)
        self._fixed_by_last = False

    def update(self, x: float) -> PSIResult:
        """Add one score: to the reference while it fills, else to the rolling window."""
        self.observe(x)
        return self.last_result()

    def observe(self, x: float) -> None:
        """:meth:`update` without computing its result: for a reader that needs only the
        result after many scores (:meth:`last_result`), as the console does once per batch."""
        x = finite_value(x)
        if self._edges is None:
            self._reference.append(x)
            if len(self._reference) >= self.reference_size:
                self.set_reference(self._reference)
                self._fixed_by_last = True
            return
        self._fixed_by_last = False
        b = bisect_right(self._edges, x)
        self._window.append(b)
        self._counts[b] += 1
        if len(self._window) > self.window_size:
            self._counts[self._window.popleft()] -= 1

    def last_result(self) -> PSIResult:
        """What :meth:`update` returned (or would have) for the latest score."""
        if self._edges is None:
            return PSIResult(None, None, 0, f"building reference: {len(self._reference)} of {self.reference_size}")
        if self._fixed_by_last:
            return PSIResult(
                None, None, 0, f"reference fixed: {self.reference_size} values, {len(self._expected)} bins"
            )
        return self._result()

    def _result(self) -> PSIResult:
        n = len(self._window)
        if n < self.min_window:
            return PSIResult(None, None, n, f"filling current window: {n} of {self.min_window}")
        value = psi(self._expected, [c / n for c in self._counts], self.epsilon)
        if value >= self.critical:
            level, rule = Level.CRITICAL, f">= critical {fmt(self.critical)}"
        elif value >= self.warning:
            level, rule = Level.WARNING, f">= warning {fmt(self.warning)}"
        else:
            level, rule = None, f"< warning {fmt(self.warning)}: stable"
        return PSIResult(value, level, n, f"psi {fmt(value)} {rule} over the last {n} scores")

    @property
    def psi(self) -> float | None:
        """The current PSI (``None`` before the window is full enough)."""
        return self._result().psi if self._edges is not None else None

    @property
    def edges(self) -> tuple[float, ...] | None:
        """The inner bin edges, once the reference is fixed."""
        return None if self._edges is None else tuple(self._edges)

    def __repr__(self) -> str:
        return f"PSIMonitor(bins={self.n_bins}, warning={self.warning:g}, critical={self.critical:g})"


# -- concept drift on errors ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftResult:
    """One error observed: ``detected`` with the reason, the error-rate estimate and counts."""

    detected: bool
    reason: str
    estimate: float | None
    before: float | None
    n: int
    level: Level | None
    at: float | None = None


class ErrorDriftDetector:
    """Concept drift in a model's error stream, with River's ADWIN or Page-Hinkley.

    Parameters
    ----------
    method
        ``"adwin"`` (two-sided, adaptive window) or ``"page_hinkley"``.
    delta
        ADWIN's confidence (smaller: fewer false alarms, later detection), or
        Page-Hinkley's tolerated change magnitude.
    grace_period, clock
        ADWIN: observations before the first check; checks every ``clock`` updates.
    min_instances, threshold, alpha, mode
        Page-Hinkley's parameters (``mode="up"`` watches only rising errors).
    level
        The level a detection is graded.

    >>> import random
    >>> rng = random.Random(0)
    >>> det = ErrorDriftDetector()
    >>> for i in range(4000):
    ...     r = det.update(float(rng.random() < (0.1 if i < 2000 else 0.4)), at=float(i))
    ...     if r.detected:
    ...         print(i, r.reason)
    ...         break
    2079 drift detected by ADWIN after 2080 errors: mean error 0.1088 over the 1664 dropped, 0.149 over the 416 kept
    """

    def __init__(
        self,
        method: Literal["adwin", "page_hinkley"] = "adwin",
        *,
        delta: float | None = None,
        grace_period: int = 10,
        clock: int = 32,
        min_instances: int = 30,
        threshold: float = 50.0,
        alpha: float = 0.9999,
        mode: Literal["up", "down", "both"] = "up",
        level: Level | str = Level.WARNING,
    ) -> None:
        if method not in ("adwin", "page_hinkley"):
            raise DetectorConfigError("method", f"must be adwin or page_hinkley, got {method!r}")
        self.method = method
        self.delta = (0.002 if method == "adwin" else 0.005) if delta is None else positive(delta, "delta")
        self.grace_period = integer(grace_period, "grace_period", minimum=1)
        self.clock = integer(clock, "clock", minimum=1)
        self.min_instances = integer(min_instances, "min_instances", minimum=1)
        self.threshold = positive(threshold, "threshold")
        self.alpha = fraction(alpha, "alpha")
        if mode not in ("up", "down", "both"):
            raise DetectorConfigError("mode", f"must be up, down or both, got {mode!r}")
        self.mode = mode
        try:
            self.level = Level.parse(level)
        except ValueError:
            raise DetectorConfigError("level", f"must be info, warning or critical, got {level!r}") from None
        self._reset()

    def _reset(self) -> None:
        from river import drift  # imported on first use: river.drift takes seconds to import

        self._detector: drift.ADWIN | drift.PageHinkley
        if self.method == "adwin":
            self._detector = drift.ADWIN(delta=self.delta, clock=self.clock, grace_period=self.grace_period)
        else:
            self._detector = drift.PageHinkley(
                min_instances=self.min_instances,
                delta=self.delta,
                threshold=self.threshold,
                alpha=self.alpha,
                mode=self.mode,
            )
        self._n = 0  # errors since the last detection
        self._sum = 0.0
        self._detections = 0

    def update(self, error: float, at: float | None = None) -> DriftResult:
        """Observe one error (``at``: the label's event time, carried into the result).

        On a detection ``before`` is the mean error of the regime left behind
        (ADWIN: the part of its window it dropped; Page-Hinkley: everything
        since the previous detection) and ``estimate`` the current one (ADWIN:
        the window it kept).
        """
        e = finite_value(error, "error")
        self._detector.update(e)
        self._n += 1
        self._sum += e
        name = "ADWIN" if self.method == "adwin" else "Page-Hinkley"
        if not self._detector.drift_detected:
            estimate = self._estimate()
            return DriftResult(False, f"no drift ({name}, {self._n} errors)", estimate, None, self._n, None, at)
        self._detections += 1
        n, total = self._n, self._sum
        from river.drift import ADWIN  # already imported by _reset

        if isinstance(self._detector, ADWIN):
            # ADWIN keeps the recent sub-window (the new regime) and drops the rest
            width = int(self._detector.width)
            estimate = float(self._detector.estimation)
            kept = estimate * width
            before = (total - kept) / (n - width) if n > width else estimate
            self._n, self._sum = width, kept
            reason = (
                f"drift detected by ADWIN after {n} errors: mean error {fmt(before)} over the {n - width} "
                f"dropped, {fmt(estimate)} over the {width} kept"
            )
        else:
            before = estimate = total / n
            self._n, self._sum = 0, 0.0
            reason = (
                f"drift detected by Page-Hinkley after {n} errors: mean error {fmt(estimate)} since the last detection"
            )
        return DriftResult(True, reason, estimate, before, n, self.level, at)

    def _estimate(self) -> float:
        from river.drift import ADWIN  # already imported by _reset

        if isinstance(self._detector, ADWIN):
            return float(self._detector.estimation)
        return self._sum / self._n if self._n else 0.0

    @property
    def detections(self) -> int:
        """Drifts detected so far."""
        return self._detections

    @property
    def estimate(self) -> float | None:
        """The current mean-error estimate (ADWIN: over its adaptive window)."""
        return self._estimate() if self._n else None

    def __repr__(self) -> str:
        return f"ErrorDriftDetector(method={self.method!r}, delta={self.delta:g}, detections={self._detections})"


# -- ingestion lag ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LagValue:
    """The latest lag and the maximum over the rolling window, in seconds."""

    lag: float
    max_lag: float
    at: float


class IngestionLag:
    """Lag of one input topic: processing time minus event time, latest and rolling maximum.

    The caller gives both times (epoch seconds); a negative lag (event time
    ahead of processing time: clock skew) is reported as is. The maximum is
    over ``window`` seconds of processing time, in ``buckets`` steps, so
    memory stays constant however fast messages arrive.

    >>> lag = IngestionLag(window=60)
    >>> [lag.update(event_time=t - d, processing_time=t).max_lag for t, d in [(0, 2), (10, 9), (30, 1), (75, 3)]]
    [2.0, 9.0, 9.0, 3.0]
    """

    def __init__(self, window: float = 300.0, buckets: int = 60) -> None:
        self.window = positive(window, "window")
        self.buckets = integer(buckets, "buckets", minimum=1)
        self._step = self.window / self.buckets
        self._reset()

    def _reset(self) -> None:
        self._maxima: deque[list] = deque()  # [bucket index, max lag], oldest first
        self._lag: float | None = None
        self._at: float | None = None
        self._n = 0

    def update(self, event_time: float, processing_time: float) -> LagValue:
        """Observe one message; the latest lag and the window's maximum."""
        et = finite_value(event_time, "event_time")
        pt = finite_value(processing_time, "processing_time")
        lag = pt - et
        if self._at is not None and pt < self._at:
            pt = self._at  # processing time does not run backwards
        k = math.floor(pt / self._step)
        if self._maxima and self._maxima[-1][0] == k:
            self._maxima[-1][1] = max(self._maxima[-1][1], lag)
        else:
            self._maxima.append([k, lag])
        while self._maxima[0][0] <= k - self.buckets:
            self._maxima.popleft()
        self._lag, self._at = lag, pt
        self._n += 1
        return LagValue(lag, max(m for _, m in self._maxima), pt)

    @property
    def lag(self) -> float | None:
        """The latest lag observed."""
        return self._lag

    @property
    def max_lag(self) -> float | None:
        """The maximum lag over the window ending at the latest processing time."""
        return max((m for _, m in self._maxima), default=None)

    @property
    def n(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"IngestionLag(window={self.window:g}, lag={self._lag})"
