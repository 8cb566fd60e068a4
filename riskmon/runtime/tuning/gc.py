"""Garbage-collector pauses: time them, and stop the start-up heap from causing them.

Why: CPython's cyclic collector stops the worker for as long as it takes to
traverse the generation it collects. A full (generation 2) collection
traverses every tracked object: at 1,000 events/s the worker ran 15 of them
in 40 s, 265-460 ms each, all finding nothing (``collected=0``). A large part
of those objects is the start-up heap (River, scipy, numpy, Faust and our own
modules and their functions, classes and constants: 155k objects at a
worker's first assignment) that lives as long as the process and never
becomes garbage.

:func:`freeze_startup_heap` collects once and then ``gc.freeze()`` moves
every tracked object to the permanent generation, which later collections
skip. Why it is safe (CPython docs, ``gc.freeze``, and ``Modules/gcmodule.c``):

* frozen objects are still freed by reference counting when their last
  reference goes; only a reference *cycle* made of frozen objects that becomes
  unreachable later is never reclaimed (until ``gc.unfreeze()``). The start-up
  heap is modules and their contents, which live until exit; the collection
  just before the freeze reclaims the start-up's own cyclic garbage first;
* a young object referenced from a frozen one is treated as reachable from
  outside its generation, so it is kept, which is right: it is reachable;
* nothing in riskmon relies on finalizers of cyclic garbage.

The one cost is that start-up objects that turn into cyclic garbage later
(say, connection objects replaced after a reconnect) stay in memory: a bounded
leak, once per process, at most the number of objects
:func:`freeze_startup_heap` logs as frozen.

Freezing makes each full collection cheaper, not rarer (CPython runs one
when the objects promoted since the last exceed a quarter of those that
survived it, and frozen ones no longer count). Raising the generation-0
threshold from 700 to 10,000 was first tried for latency and not kept: with
the compact customer state it changed no latency figure measurably (e2e p99
280 / 420 ms against 268 / 266 ms).

It is kept now for CPU (:data:`YOUNG_THRESHOLD`, set by
:func:`raise_young_threshold` with the freeze). Under a backlog the decision
path takes batches of up to 500 applications, and every object a batch builds
(decisions, snapshots, audit records, summaries: ~40 containers per
application) lives until the batch is sent, so with CPython's 700 the
collector ran a young collection every ~20 applications and an older one
every ~200, each traversing objects that reference counting frees a moment
later anyway: 15-25 us of CPU per application (``bench.handler_cost
--batch 500``; about a tenth of the decision path's). With 50,000 a
collection runs only when that many containers outlive their batch (minutes
apart on the decision path), and traverses at most that many: a few
milliseconds. Cyclic garbage waits a little longer to be freed; nothing here
relies on it being freed early.

:class:`GcPauseRecorder` feeds ``riskmon_gc_pause_seconds{generation}``
from ``gc.callbacks``, so pauses are seen on ``/metrics`` rather than inferred
from a latency tail. The callback runs inside every collection (13 to 40 a
second at 1,000 events/s, measured after and before the compact customer
state): one clock read and, at the end, one observation on a pre-bound child.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from prometheus_client import Histogram

__all__ = ["GcPauseRecorder", "YOUNG_THRESHOLD", "freeze_startup_heap", "raise_young_threshold"]

log = logging.getLogger(__name__)

#: Net new tracked containers that start a young (generation 0) collection; CPython's default is 700.
YOUNG_THRESHOLD = 50_000


class GcPauseRecorder:
    """Observes each collection's duration in ``histogram``, labelled by generation.

    ``histogram`` must have exactly one label, ``generation``; its children
    for generations 0, 1 and 2 are bound here, once."""

    def __init__(self, histogram: Histogram, clock: Any = time.perf_counter) -> None:
        self._children = tuple(histogram.labels(generation=str(g)) for g in range(3))
        self._clock = clock
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = self._clock()
        elif self._started is not None:
            self._children[info["generation"]].observe(self._clock() - self._started)
            self._started = None

    def install(self) -> GcPauseRecorder:
        """Start timing collections (idempotent)."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def uninstall(self) -> None:
        """Stop timing collections."""
        while self in gc.callbacks:
            gc.callbacks.remove(self)


def freeze_startup_heap() -> int:
    """Collect, then move every object now tracked to the permanent generation.

    Call it once, when the worker has started (imports done, app built,
    partitions assigned) and before state accumulates. Returns how many
    objects were frozen."""
    began = time.perf_counter()
    unreachable = gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "froze the start-up heap: %d objects no longer traversed by the garbage collector "
        "(%d unreachable collected first, %.0f ms)",
        frozen,
        unreachable,
        (time.perf_counter() - began) * 1000,
    )
    return frozen


def raise_young_threshold(young: int = YOUNG_THRESHOLD) -> tuple[int, int, int]:
    """Let ``young`` net new containers accumulate before a young collection (see the module's doc);
    the older generations keep their thresholds. Returns the thresholds now in force."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
    return gc.get_threshold()
