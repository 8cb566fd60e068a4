"""Batches of a Faust stream's events, taken every window, that keep filling while one is handled.

What Faust does: ``Stream.take_events(max_, within)`` stops taking events
while its caller handles a batch (its buffer processor waits for the batch to
be consumed), and after each batch waits the whole ``within`` before looking
at what arrived. So a cycle lasts the handling plus the window, and under a
backlog a batch fills only during the window after the previous one. It also
acknowledges a batch whose handling raised.

What we change: :func:`take_batches` keeps taking events while a batch is
handled, and takes the next batch ``within`` after it took the previous one
(the next multiple of ``within`` if nothing arrived by then), or at once when
that time has passed or ``max_`` events are waiting. Under a steady load a
batch is taken every window whatever the handling took, so an event waits
about half a window; under a backlog a batch is whatever arrived while the
previous one was handled (up to ``max_``). It keeps Faust's contract
otherwise: events come through the stream's own iterator (which tracks them
for the commit), are acknowledged only after the caller is done with their
batch, never more than ``max_`` at a time, and the stream's processors run
as before; a batch whose handling raised or was cancelled (a worker stopping
mid-batch) is not acknowledged, so it is read again after a restart. It
reaches into one private method, ``Stream._enable_passive``, as
``take_events`` itself does. :class:`Batcher` is the pure part.

How to drop it: replace ``take_batches(stream, max_, within)`` in
:mod:`riskmon.runtime.app` with ``stream.take_events(max_, within)`` and
delete this module; batches then wait a window after each handling, and a
failed batch is acknowledged (the handlers never raise, so none is lost).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["Batcher", "take_batches"]


class Batcher:
    """The pure part of :func:`take_batches`: what is waiting, and when the next batch closes.

    Batches close on a grid of ``within`` seconds anchored at the last
    batch taken: at the first grid point after an event is waiting, or at
    once when that point has passed (the events arrived while the previous
    batch was handled) or ``max_`` events wait. ``add`` is called for every
    event as it arrives, ``take`` when the caller is ready for a batch. Times
    are the event loop's clock, in seconds.

    >>> b = Batcher(max_=3, within=0.01)
    >>> b.closes_in(now=5.0) is None        # nothing waiting: wait for an event
    True
    >>> b.take(now=5.0)                     # the grid starts here
    []
    >>> b.add("a", now=5.004); b.add("b", now=5.006)
    >>> round(b.closes_in(now=5.006), 3)    # the next grid point, 5.01
    0.004
    >>> b.take(now=5.01)
    ['a', 'b']
    >>> b.add("c", now=5.037)               # grid points 5.02 and 5.03 passed empty
    >>> round(b.closes_in(now=5.037), 3)    # so it waits for 5.04
    0.003
    >>> b.closes_in(now=5.05)               # handled late: take it now
    0.0
    >>> _ = b.take(now=5.05)
    >>> for e in "def": b.add(e, now=5.051)
    >>> b.full, b.closes_in(now=5.051)      # full: take it now
    (True, 0.0)

    With ``linger`` (the latency-critical paths) there is no grid: a batch
    closes ``linger`` after its first event arrived, so a lone event waits
    ``linger``, not up to a whole window, and events that arrived while the
    previous batch was handled are taken at once (batches grow with the load
    by themselves, as in "smart batching").

    >>> b = Batcher(max_=3, within=0.02, linger=0.002)
    >>> _ = b.take(now=5.0)
    >>> b.add("a", now=5.0131)
    >>> round(b.closes_in(now=5.0131), 4)   # 2 ms after "a", not at the grid point 5.02
    0.002
    >>> b.closes_in(now=5.016)              # "a" waited longer (a batch was being handled): now
    0.0
    """

    def __init__(self, *, max_: int, within: float, linger: float | None = None) -> None:
        if max_ < 1:
            raise ValueError(f"a batch holds at least one event, got max_={max_}")
        if within <= 0:
            raise ValueError(f"within must be positive, got {within}")
        if linger is not None and linger < 0:
            raise ValueError(f"linger must not be negative, got {linger}")
        self.max = max_
        self.within = within
        self.linger = linger
        self._pending: list[Any] = []
        self._first_at = 0.0
        self._anchor = 0.0  # when the last batch was taken: the grid's origin

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def full(self) -> bool:
        return len(self._pending) >= self.max

    def add(self, event: Any, *, now: float) -> None:
        """Queue ``event``; the caller waits for room first (:attr:`full`)."""
        if not self._pending:
            self._first_at = now
        self._pending.append(event)

    def closes_in(self, *, now: float) -> float | None:
        """Seconds until the waiting batch should be taken; ``None`` when nothing waits."""
        if not self._pending:
            return None
        if self.full:
            return 0.0
        if self.linger is not None:
            return max(0.0, self._first_at + self.linger - now)
        periods = max(1, math.ceil((self._first_at - self._anchor) / self.within))
        return max(0.0, self._anchor + periods * self.within - now)

    def take(self, *, now: float) -> list[Any]:
        """The waiting events, in arrival order; the batcher starts empty again and the grid at ``now``."""
        batch, self._pending = self._pending, []
        self._anchor = now
        return batch


async def take_batches(stream: Any, max_: int, within: float, linger: float | None = None) -> AsyncIterator[list[Any]]:
    """Yield lists of ``stream``'s events (``faust.EventT``), each acknowledged after the caller is done with it.

    A drop-in for ``stream.take_events(max_, within)`` (see the module doc
    for what differs: when a batch closes, and that events keep arriving
    while one is handled). With ``linger``, batches close that long after their
    first event instead of on the window's grid (:class:`Batcher`)."""
    loop = asyncio.get_running_loop()
    clock: Callable[[], float] = loop.time
    batcher = Batcher(max_=max_, within=within, linger=linger)
    batcher.take(now=clock())  # the grid starts now
    wake: asyncio.Future[None] | None = None  # the caller waits on it for an event or a full batch
    room: asyncio.Future[None] | None = None  # the buffer waits on it while a full batch waits

    def wake_up(*_: Any) -> None:
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def add_to_buffer(value: Any) -> Any:
        nonlocal room
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_batches found the stream's current_event is None")
        while batcher.full:  # never more than max_ in a batch: wait until it is taken
            if room is None or room.done():
                room = loop.create_future()
            await room
        batcher.add(event, now=clock())
        if len(batcher) == 1 or batcher.full:
            wake_up()
        return value

    stream.enable_acks = False  # events are acknowledged below, after their batch
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # noqa: SLF001 - as Stream.take_events does
    while not stream.should_stop:
        delay = batcher.closes_in(now=clock())
        if delay is None or delay > 0:
            wake = loop.create_future()
            timer = loop.call_later(delay, wake_up) if delay is not None else None
            try:
                await wake
            finally:
                wake = None
                if timer is not None:
                    timer.cancel()
            continue
        batch = batcher.take(now=clock())
        if room is not None and not room.done():
            room.set_result(None)
        yield batch
        # Only once the caller asks for the next batch: a batch whose handling
        # raised or was cancelled stays unacknowledged, so its offsets are
        # never committed and a restarted worker reads it again (Faust's
        # take_events acknowledges it in a ``finally``, losing it).
        for event in batch:
            await stream.ack(event)
