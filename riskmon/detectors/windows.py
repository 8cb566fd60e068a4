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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

from riskmon.detectors.base import (
    DetectorConfigError,
    finite_value,
    fmt,
    integer,
    non_negative,
    positive,
)
from riskmon.schemas.outputs import Decision
from riskmon.schemas.inputs import Repayment

__all__ = [
    "WindowValue",
    "WindowUpdate",
    "TumblingWindow",
    "SlidingWindow",
    "ExposureChange",
    "RecentIds",
    "ExposureTracker",
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
                f"late, dropped: older than watermark - lateness "
                f"({fmt(t)} < {fmt(wm)} - {fmt(self.allowed_lateness)})"
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
        (:class:`riskmon.watch.CustomerStates`, which also records the shape
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
        window._buckets = {k: [int(c), float(s)] for k, c, s in zip(window._keys, flat[1::3], flat[2::3])}
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
        reason = f"counted late (by {fmt(self._watermark - t)}s) in {where}" if late else f"counted in {where}"
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
        return tuple(
            WindowValue(k * self.size, (k + 1) * self.size, b[0], b[1]) for k, b in self._pop_until(k_stop)
        )

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
            raise DetectorConfigError("step", f"must divide size ({fmt(size)}) a whole number of times, got {fmt(step)}")
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
        reason = f"counted late (by {fmt(self._watermark - t)}s)" if late else "counted"
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
        return (
            f"SlidingWindow(size={self.size:g}, step={self.step:g}, "
            f"allowed_lateness={self.allowed_lateness:g})"
        )


# -- exposure -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureChange:
    """What one decision or repayment did to a customer's exposure."""

    changed: bool
    loan_id: str
    delta: float
    outstanding: float
    utilisation: float | None
    reason: str


class RecentIds:
    """The last ``capacity`` ids added, oldest forgotten first: a bounded dedup memory.

    One instance can serve many trackers (:class:`ExposureTracker`), so the memory of
    re-delivered events is bounded for the whole book, not per customer
    (``customers x capacity`` grows with the customer base).

    >>> ids = RecentIds(2)
    >>> for k in ("a", "b", "c"):
    ...     ids.add(k)
    >>> "a" in ids, "c" in ids, len(ids)
    (False, True, 2)
    """

    __slots__ = ("capacity", "_ids")

    def __init__(self, capacity: int) -> None:
        self.capacity = integer(capacity, "capacity", minimum=1)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._ids[key] = None
        self._ids.move_to_end(key)
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class ExposureTracker:
    """One customer's approved amounts outstanding, and utilisation of a known limit.

    An approval adds the approved amount of a loan (keyed by application id);
    a repayment reduces it by ``amount_paid`` (never below zero); ``paid_off``
    and ``charged_off`` close the loan (repaid, or written off as a loss: it is
    no longer exposure but a realised loss); a ``default`` keeps its
    outstanding amount (the exposure at default) until the loan is charged off.
    Re-delivered events change nothing: a loan is approved once, and
    the ``event_id`` of each repayment is remembered (the last ``dedup_capacity``, or
    the shared ``seen`` and ``closed`` memories when given).

    Parameters
    ----------
    limit
        The customer's credit limit, if known: ``utilisation = outstanding / limit``.
    dedup_capacity
        How many recent repayment event ids and closed loans to remember (when not shared).
    seen, closed
        Shared memories of repayment event ids and closed loans (one for the whole book).

    >>> x = ExposureTracker(limit=10_000)
    >>> x.approve("app-1", 4000.0).utilisation
    0.4
    >>> x.repay("app-1", 1500.0, event_id="ev-1").reason
    'repaid 1500 of app-1: outstanding 2500'
    >>> x.repay("app-1", 1500.0, event_id="ev-1").reason
    'duplicate repayment event ev-1: unchanged'
    >>> x.repay("app-1", None, paid_off=True).outstanding
    0.0
    >>> x.approve("app-2", 900.0).outstanding
    900.0
    >>> x.repay("app-2", None, charged_off=True).reason
    'app-2 charged off (900 written off): outstanding 0'
    """

    def __init__(
        self,
        limit: float | None = None,
        dedup_capacity: int = 256,
        *,
        seen: RecentIds | None = None,
        closed: RecentIds | None = None,
    ) -> None:
        self._limit = None if limit is None else positive(limit, "limit")
        self.dedup_capacity = integer(dedup_capacity, "dedup_capacity", minimum=1)
        self._shared = (seen, closed)
        self._reset()

    def _reset(self) -> None:
        """Forget every loan, and the memories this tracker owns (shared ones are the book's)."""
        seen, closed = self._shared
        self._loans: dict[str, float] = {}
        self._seen = seen if seen is not None else RecentIds(self.dedup_capacity)
        self._closed = closed if closed is not None else RecentIds(self.dedup_capacity)

    def _change(self, changed: bool, loan_id: str, delta: float, reason: str) -> ExposureChange:
        return ExposureChange(changed, loan_id, delta, self.outstanding, self.utilisation, reason)

    def approve(self, loan_id: str, amount: float) -> ExposureChange:
        """Add an approved loan of ``amount``; a loan already known or closed is left alone."""
        amount = finite_value(amount, "amount")
        if amount < 0:
            raise ValueError(f"amount must be >= 0, got {amount!r}")
        if loan_id in self._loans or loan_id in self._closed:
            return self._change(False, loan_id, 0.0, f"{loan_id} already approved: unchanged")
        self._loans[loan_id] = amount
        return self._change(True, loan_id, amount, f"approved {fmt(amount)} for {loan_id}")

    def repay(
        self,
        loan_id: str,
        amount_paid: float | None,
        *,
        paid_off: bool = False,
        charged_off: bool = False,
        event_id: str | None = None,
    ) -> ExposureChange:
        """Reduce a loan by ``amount_paid``, or close it when ``paid_off`` or ``charged_off``."""
        if event_id is not None:
            if event_id in self._seen:
                return self._change(False, loan_id, 0.0, f"duplicate repayment event {event_id}: unchanged")
            self._seen.add(event_id)
        if loan_id not in self._loans:
            why = "closed" if loan_id in self._closed else "unknown (not approved here)"
            return self._change(False, loan_id, 0.0, f"{loan_id} is {why}: unchanged")
        before = self._loans[loan_id]
        if paid_off or charged_off:
            del self._loans[loan_id]
            self._closed.add(loan_id)
            how = "paid off" if paid_off else f"charged off ({fmt(before)} written off)"
            return self._change(before != 0, loan_id, -before, f"{loan_id} {how}: outstanding {fmt(self.outstanding)}")
        paid = 0.0 if amount_paid is None else finite_value(amount_paid, "amount_paid")
        after = max(before - paid, 0.0)
        self._loans[loan_id] = after
        return self._change(
            after != before,
            loan_id,
            after - before,
            f"repaid {fmt(before - after)} of {loan_id}: outstanding {fmt(self.outstanding)}",
        )

    def on_decision(self, decision: Decision) -> ExposureChange | None:
        """Apply a decision: an ``approve`` with an approved amount adds it; others give ``None``."""
        if decision.outcome != "approve" or decision.approved_amount is None:
            return None
        return self.approve(decision.application_id, decision.approved_amount)

    def on_repayment(self, repayment: Repayment) -> ExposureChange:
        """Apply a repayment event (``amount_paid``; ``paid_off`` and ``charged_off`` close the loan)."""
        return self.repay(
            repayment.application_id,
            repayment.amount_paid,
            paid_off=repayment.status == "paid_off",
            charged_off=repayment.status == "charged_off",
            event_id=repayment.event_id,
        )

    def set_limit(self, limit: float | None) -> None:
        """Record the customer's limit (``None``: unknown)."""
        self._limit = None if limit is None else positive(limit, "limit")

    @property
    def limit(self) -> float | None:
        return self._limit

    @property
    def outstanding(self) -> float:
        """Approved amounts not yet repaid, over open loans."""
        return math.fsum(self._loans.values())

    @property
    def utilisation(self) -> float | None:
        """``outstanding / limit``, ``None`` while the limit is unknown."""
        return None if self._limit is None else self.outstanding / self._limit

    @property
    def open_loans(self) -> int:
        return len(self._loans)

    def __repr__(self) -> str:
        return f"ExposureTracker(outstanding={self.outstanding:g}, limit={self._limit}, open_loans={len(self._loans)})"
