"""Give the process under test a core of its own (``bench.harness --pin-worker``).

Why: on this 2-core machine the worker shares both cores with the broker,
Redis and the harness's own producer and reader, so its latency tail measures
their contention as much as its own code; a deployment gives the worker its
own cores. Pinning the worker to one CPU and everything else to the others is
the nearest this machine comes to that. At 1,000 events/s it cut riskmon's
p99 from 870 ms to 168-242 ms within one hour (docs/performance.md).

Affinity is per thread on Linux (``sched_setaffinity`` on a thread id), and
a new thread inherits its creator's: :func:`pin` sets it on every thread a
process has now, so a worker pinned right after it is spawned (before its
interpreter has started any thread) has all its threads there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["split", "pin"]


def split(cpus: Iterable[int]) -> tuple[set[int], set[int]]:
    """(the worker's CPUs, everyone else's): the highest-numbered CPU for the worker.

    >>> split({0, 1})
    ({1}, {0})
    >>> split({0, 1, 2, 3})
    ({3}, {0, 1, 2})
    >>> split({0})
    Traceback (most recent call last):
    ...
    ValueError: pinning the worker needs at least 2 CPUs to split, this process may use 1
    """
    available = sorted(set(cpus))
    if len(available) < 2:
        raise ValueError(f"pinning the worker needs at least 2 CPUs to split, this process may use {len(available)}")
    return {available[-1]}, set(available[:-1])


def pin(pid: int, cpus: set[int]) -> int:
    """Restrict every current thread of ``pid`` to ``cpus``; the number of threads pinned.

    Threads that end while this runs are skipped; ``ProcessLookupError`` if the
    process itself has gone.
    """
    tasks = Path(f"/proc/{pid}/task")
    try:
        tids = [int(t.name) for t in tasks.iterdir()]
    except FileNotFoundError:
        raise ProcessLookupError(f"no process {pid}") from None
    pinned = 0
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
            pinned += 1
        except ProcessLookupError:
            continue
    return pinned
