"""The manager's clock: event time while events flow, wall time in between.

Repeat and group intervals and quiet-period resolutions must mean the same
thing when a day of recorded events is replayed in a minute (a backtest, a
catch-up after an outage) as when it happens live. So the clock follows the
newest event time seen (the watermark) and, between events, advances with
the wall clock from the moment that watermark was seen.

>>> wall = [100.0]
>>> clock = EventClock(wall=lambda: wall[0])
>>> clock.observe(1_000.0); clock.now()      # at the watermark
1000.0
>>> wall[0] = 105.0; clock.now()             # 5 s of wall time later, no new event
1005.0
>>> clock.observe(900.0); clock.now()        # older events do not move it back
1005.0
"""

from __future__ import annotations

import time
from typing import Callable

__all__ = ["EventClock"]


class EventClock:
    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._watermark: float | None = None
        self._seen_at = 0.0

    def observe(self, event_time: float) -> None:
        if self._watermark is None or event_time > self._watermark:
            self._watermark = event_time
            self._seen_at = self._wall()

    def now(self) -> float:
        wall = self._wall()
        if self._watermark is None:
            return wall
        return self._watermark + max(0.0, wall - self._seen_at)
