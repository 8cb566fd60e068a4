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

Pipeline alerts (ingestion lag) are stamped with processing time, not event
time: :func:`alert_event_time` leaves them out of the watermark. Otherwise,
while old events are replayed (a backfill, a catch-up, the benchmark's long
run), one lag alert would pin the clock at today. Quiet-period resolutions
would then be stamped today too, so no resolved alert would grow old enough
to be pruned for the whole replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskmon.schemas import Alert

__all__ = ["EventClock", "alert_event_time"]


def alert_event_time(alert: Alert) -> float | None:
    """The event time an alert carries (its ``updated_at``), ``None`` for a pipeline alert.

    >>> from types import SimpleNamespace as A
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> alert_event_time(A(subject=A(kind="customer"), updated_at=at))
    1767225600.0
    >>> alert_event_time(A(subject=A(kind="pipeline"), updated_at=at)) is None
    True
    """
    if alert.subject.kind == "pipeline":
        return None
    return alert.updated_at.timestamp()


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
