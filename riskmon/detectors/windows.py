"""Event-time windows (count, sum, rate) for one key, and a customer's exposure.

One instance holds one key's state; keying (per customer, per segment) is the
caller's job, for example a dict or a Faust table of instances.

Windows are made of buckets of ``step`` seconds of event time, so memory
depends on the window's span, never on the event rate:

* :class:`TumblingWindow` ``[k*size, (k+1)*size)``: reports the window that
  holds the watermark (``current``, provisional) and, once the watermark has
  passed a window's end by ``allowed_lateness``, the window's final value
  (``closed``, once, only windows that saw events). Closed buckets are evicted.
* :class:`SlidingWindow` of ``size`` seconds moving by ``step``: reports the
  window ending at the end of the step that holds the watermark. Buckets that
  have slid out are evicted.

Watermark and lateness: the watermark is the latest event time seen (or given
to :meth:`~TumblingWindow.advance`, for example a partition-wide watermark);
it never moves back. An event at ``t >= watermark - allowed_lateness`` is
counted in its correct window, even out of order. An event older than that is
*dropped* and reported: ``accepted`` is False and the reason says
``late, dropped: older than watermark - lateness``, so the caller can count it
(``dropped`` keeps a running count too). A sliding window requires
``allowed_lateness <= size - step`` so that every accepted event lies inside
the window it reports.

>>> w = TumblingWindow(size=60, allowed_lateness=30)
>>> for t in (0, 10, 65, 40, 100):     # 40 is out of order but within lateness (65 - 30)
...     u = w.update(t, value=20.0)
>>> u.closed
(WindowValue(start=0.0, end=60.0, count=3, sum=60.0),)
>>> w.update(20, value=1.0).reason     # watermark 100 - lateness 30 = 70 > 20
'late, dropped: older than watermark - lateness (20 < 100 - 30)'
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from riskmon.detectors.base import (
    DetectorConfigError,
    finite_value,
    fmt,
    non_negative,
    positive,
)

__all__ = [
    "WindowValue",
    "WindowUpdate",
    "TumblingWindow",
    "SlidingWindow",
    "MAX_BUCKETS",
]

#: Refuse window shapes that would keep more buckets than this per key.
MAX_BUCKETS = 100_000

_B = TypeVar("_B", bound="_Buckets")


@dataclass(frozen=True, slots=True)
class WindowValue:
    """The aggregate of one window ``[start, end)`` of event time."""

    start: float
    end: float
    count: int
    sum: float

    @property
    def rate(self) -> float:
        """Events per second over the window's span."""
        return self.count / (self.end - self.start)

    @property
    def sum_rate(self) -> float:
        """Summed value per second over the window's span."""
        return self.sum / (self.end - self.start)

    @property
    def mean(self) -> float | None:
        """Mean value per event, ``None`` for an empty window."""
        return self.sum / self.count if self.count else None


@dataclass(frozen=True, slots=True)
class WindowUpdate:
    """What one event did to a window.

    ``accepted`` is False when the event was dropped as too late (``reason``
    says so); ``late`` is True for any event older than the watermark it met.
    ``current`` is the window that holds the watermark after the update and
    ``closed`` the windows that became final (tumbling windows only).
    """

    accepted: bool
    late: bool
    reason: str
    current: WindowValue | None
    closed: tuple[WindowValue, ...] = ()


class _Buckets:
    """Buckets of ``step`` seconds keyed by ``floor(t / step)``, sorted, with a watermark."""

    def __init__(self, size: float, step: float, allowed_lateness: float) -> None:
        self.size = size
        self.step = step
        self.allowed_lateness = allowed_lateness
        self._reset()

    def _reset(self) -> None:
        self._buckets: dict[int, list] = {}  # k -> [count, sum]
        self._keys: list[int] = []
        self._watermark: float | None = None
        self._dropped = 0

    def _index(self, t: float) -> int:
        return math.floor(t / self.step)

    def _admit(self, t: float, value: float) -> tuple[bool, bool, str, int]:
        """Count the event unless too late: (accepted, late, reason, bucket)."""
        wm = self._watermark
        if wm is not None and t < wm - self.allowed_lateness:
            self._dropped += 1
            reason = (
                f"late, dropped: older than watermark - lateness ({fmt(t)} < {fmt(wm)} - {fmt(self.allowed_lateness)})"
            )
            return False, True, reason, self._index(t)
        k = self._index(t)
        bucket = self._buckets.get(k)
        if bucket is None:
            bucket = self._buckets[k] = [0, 0.0]
            bisect.insort(self._keys, k)
        bucket[0] += 1
        bucket[1] += value
        late = wm is not None and t < wm
        return True, late, "", k

    def _advance_to(self, t: float) -> None:
        if self._watermark is None or t > self._watermark:
            self._watermark = t

    def _pop_until(self, k_stop: int) -> list[tuple[int, list]]:
        """Remove and return the buckets with index < ``k_stop``, oldest first."""
        n = bisect.bisect_left(self._keys, k_stop)
        out = [(k, self._buckets.pop(k)) for k in self._keys[:n]]
        del self._keys[:n]
        return out

    # -- state apart from shape ---------------------------------------------

    def state(self) -> list[Any]:
        """This key's state as plain numbers, without the window's shape.

        Why: a stream keeps one window per customer, and the shape (size,
        step, lateness) is the configuration's, the same for all of them.
        Kept apart, a customer's state is a few numbers that serialise to
        JSON and cost the garbage collector nothing while cached as bytes
        (:class:`riskmon.transactions.watch.CustomerStates`, which also records the shape
        the state was kept under). ``[watermark, dropped, [k, count, sum, ...], *totals]``.
        """
        flat: list[Any] = []
        for k in self._keys:
            count, total = self._buckets[k]
            flat += (k, count, total)
        return [self._watermark, self._dropped, flat, *self._totals()]

    def with_state(self: _B, state: Sequence[Any]) -> _B:
        """A window of this one's shape holding ``state`` (from :meth:`state`).

        Shares nothing mutable with ``self``, so one fresh window serves as the
        template for every key. Malformed state raises ``ValueError`` or
        ``TypeError``: callers start that key afresh.
        """
        watermark, dropped, flat, *totals = state
        if len(flat) % 3:
            raise ValueError("window state: buckets must come in (k, count, sum) triples")
        window = object.__new__(type(self))
        window.__dict__.update(self.__dict__)
        window._watermark = None if watermark is None else float(watermark)
        window._dropped = int(dropped)
        window._keys = [int(k) for k in flat[0::3]]
        window._buckets = {k: [int(c), float(s)] for k, c, s in zip(window._keys, flat[1::3], flat[2::3], strict=False)}
        if window._keys != sorted(set(window._keys)):
            raise ValueError("window state: bucket indices must be unique and increasing")
        window._restore_totals(totals)
        return window

    def _totals(self) -> list[Any]:
        """Running totals kept beside the buckets (none here)."""
        return []

    def _restore_totals(self, totals: Sequence[Any]) -> None:
        if totals:
            raise ValueError("window state: unexpected running totals")

    @property
    def watermark(self) -> float | None:
        """The latest event time seen or advanced to; ``None`` before any."""
        return self._watermark

    @property
    def dropped(self) -> int:
        """Events dropped as too late so far."""
        return self._dropped

    @property
    def n_buckets(self) -> int:
        """Buckets held in memory (bounded by the window's shape)."""
        return len(self._buckets)


class TumblingWindow(_Buckets):
    """Tumbling event-time windows ``[k*size, (k+1)*size)`` of count, sum and rate.

    Parameters
    ----------
    size
        Window length in seconds of event time.
    allowed_lateness
        Seconds behind the watermark an event may be and still be counted.

    Memory: at most ``ceil(allowed_lateness / size) + 1`` buckets.
    """

    def __init__(self, size: float, allowed_lateness: float = 0.0) -> None:
        size = positive(size, "size")
        allowed_lateness = non_negative(allowed_lateness, "allowed_lateness")
        if allowed_lateness / size + 2 > MAX_BUCKETS:
            raise DetectorConfigError("allowed_lateness", f"would keep more than {MAX_BUCKETS} windows per key")
        super().__init__(size, size, allowed_lateness)

    def update(self, t: float, value: float = 1.0) -> WindowUpdate:
        """Count an event at event time ``t`` with ``value`` (summed); see :class:`WindowUpdate`."""
        t = finite_value(t, "t")
        value = finite_value(value)
        accepted, late, reason, k = self._admit(t, value)
        if not accepted:
            return WindowUpdate(False, True, reason, self.current)
        start = k * self.size
        where = f"window [{fmt(start)}, {fmt(start + self.size)})"
        lateness = 0.0 if self._watermark is None else self._watermark - t
        reason = f"counted late (by {fmt(lateness)}s) in {where}" if late else f"counted in {where}"
        self._advance_to(t)
        return WindowUpdate(True, late, reason, self.current, self._close())

    def advance(self, watermark: float) -> tuple[WindowValue, ...]:
        """Move the watermark forward (never back); the windows that became final."""
        self._advance_to(finite_value(watermark, "watermark"))
        return self._close()

    def _close(self) -> tuple[WindowValue, ...]:
        assert self._watermark is not None
        # window k is final when its end (k+1)*size <= watermark - lateness
        k_stop = math.floor((self._watermark - self.allowed_lateness) / self.size)
        return tuple(WindowValue(k * self.size, (k + 1) * self.size, b[0], b[1]) for k, b in self._pop_until(k_stop))

    @property
    def current(self) -> WindowValue | None:
        """The (provisional) window holding the watermark; ``None`` before any event."""
        if self._watermark is None:
            return None
        k = self._index(self._watermark)
        count, total = self._buckets.get(k, (0, 0.0))
        return WindowValue(k * self.size, (k + 1) * self.size, count, total)

    def __repr__(self) -> str:
        return f"TumblingWindow(size={self.size:g}, allowed_lateness={self.allowed_lateness:g})"


class SlidingWindow(_Buckets):
    """A sliding event-time window of ``size`` seconds moving in steps of ``step``.

    The window reported ends at the end of the step holding the watermark:
    ``[(k - n + 1) * step, (k + 1) * step)`` with ``k = floor(watermark / step)``
    and ``n = size / step``. A smaller step follows time more closely and keeps
    more buckets (at most ``n``).

    Parameters
    ----------
    size
        Window length in seconds; a whole multiple of ``step``.
    step
        Resolution in seconds.
    allowed_lateness
        Seconds behind the watermark an event may be and still be counted; at
        most ``size - step``.
    """

    def __init__(self, size: float, step: float, allowed_lateness: float = 0.0) -> None:
        size = positive(size, "size")
        step = positive(step, "step")
        n = size / step
        if abs(n - round(n)) > 1e-9 or round(n) < 1:
            raise DetectorConfigError(
                "step", f"must divide size ({fmt(size)}) a whole number of times, got {fmt(step)}"
            )
        if round(n) > MAX_BUCKETS:
            raise DetectorConfigError("step", f"would keep more than {MAX_BUCKETS} buckets per key (size / step)")
        allowed_lateness = non_negative(allowed_lateness, "allowed_lateness")
        if allowed_lateness > size - step:
            raise DetectorConfigError(
                "allowed_lateness",
                f"must be <= size - step ({fmt(size - step)}) so late events stay inside the window, "
                f"got {fmt(allowed_lateness)}",
            )
        super().__init__(size, step, allowed_lateness)
        self._n = round(n)

    def _reset(self) -> None:
        super()._reset()
        self._count = 0
        self._sum = 0.0

    def _totals(self) -> list[Any]:
        # kept as they are (not re-summed from the buckets): a restored window
        # then reports exactly what the original would have, to the last bit
        return [self._count, self._sum]

    def _restore_totals(self, totals: Sequence[Any]) -> None:
        count, total = totals
        self._count, self._sum = int(count), float(total)

    def update(self, t: float, value: float = 1.0) -> WindowUpdate:
        """Count an event at event time ``t`` with ``value`` (summed); see :class:`WindowUpdate`."""
        t = finite_value(t, "t")
        value = finite_value(value)
        accepted, late, reason, _ = self._admit(t, value)
        if not accepted:
            return WindowUpdate(False, True, reason, self.current)
        self._count += 1
        self._sum += value
        lateness = 0.0 if self._watermark is None else self._watermark - t
        reason = f"counted late (by {fmt(lateness)}s)" if late else "counted"
        self._advance_to(t)
        self._evict()
        return WindowUpdate(True, late, reason, self.current)

    def advance(self, watermark: float) -> tuple[WindowValue, ...]:
        """Move the watermark forward (never back); always ``()`` (sliding windows report ``current``)."""
        self._advance_to(finite_value(watermark, "watermark"))
        self._evict()
        return ()

    def _evict(self) -> None:
        assert self._watermark is not None
        for _, (count, total) in self._pop_until(self._index(self._watermark) - self._n + 1):
            self._count -= count
            self._sum -= total
        if not self._buckets:
            self._sum = 0.0  # drop float residue

    @property
    def current(self) -> WindowValue | None:
        """The window ending at the end of the watermark's step; ``None`` before any event."""
        if self._watermark is None:
            return None
        k = self._index(self._watermark)
        return WindowValue((k - self._n + 1) * self.step, (k + 1) * self.step, self._count, self._sum)

    def __repr__(self) -> str:
        return f"SlidingWindow(size={self.size:g}, step={self.step:g}, allowed_lateness={self.allowed_lateness:g})"


# -- exposure -------------------------------------------------------------------
