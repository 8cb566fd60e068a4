"""A bound on repeated log lines: the Kafka client's reconnect errors during a broker outage.

Why: while the broker is down, aiokafka logs a failed connection, a failed
metadata update and a failed fetch on every retry, each as an ERROR: about
220 lines a second from one worker on this machine, 2,000 on a faster one.
The log that should tell the operator what happened becomes the outage's
largest cost. :class:`RepeatLimiter` lets each kind of line (logger, level
and message template, before its arguments are filled in) through at most
``burst`` times per ``interval`` seconds, and the first one after that says
how many like it were not logged. It never drops a line of a kind it has not
seen within the interval, so the first report of anything new always shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["LIBRDKAFKA_LOGGER", "LIMITED_LOGGERS", "RepeatLimiter", "limit_repeats"]

#: The loggers whose lines repeat without bound while a dependency is down: the Kafka
#: client, the stream framework, and riskmon's own producer of outputs.
LIMITED_LOGGERS = ("aiokafka", "faust", "mode", "riskmon.runtime.output_producer", "riskmon.runtime.librdkafka")

#: Where the worker's other librdkafka clients (the audit writer's producer) log, instead of stderr.
LIBRDKAFKA_LOGGER = "riskmon.runtime.librdkafka"

#: Kinds of line remembered at most; past it the oldest window is forgotten (a library
#: that logs pre-formatted text would otherwise grow the table without end).
MAX_KINDS = 1024


@dataclass(slots=True)
class _Window:
    start: float
    passed: int = 1
    dropped: int = 0


class RepeatLimiter(logging.Filter):
    """Pass each kind of record at most ``burst`` times per ``interval`` seconds.

    >>> now = [0.0]
    >>> limiter = RepeatLimiter(burst=2, interval=10.0, clock=lambda: now[0])
    >>> line = lambda: logging.LogRecord("aiokafka", logging.ERROR, "", 0, "Unable connect to node %s", (1,), None)
    >>> [limiter.filter(line()) for _ in range(4)]
    [True, True, False, False]
    >>> now[0] = 10.0
    >>> record = line()
    >>> limiter.filter(record), record.getMessage()
    (True, 'Unable connect to node 1 (2 more like it in the last 10 s were not logged)')
    """

    def __init__(self, *, burst: int = 5, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        if burst < 1 or interval <= 0:
            raise ValueError(f"burst must be >= 1 and interval > 0, got {burst} and {interval}")
        self._burst = burst
        self._interval = interval
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.start >= self._interval:
            if window is not None:
                del self._windows[key]  # re-inserted last: the table stays ordered by age
            elif len(self._windows) >= MAX_KINDS:
                del self._windows[next(iter(self._windows))]
            self._windows[key] = _Window(start=now)
            if window is not None and window.dropped:
                record.msg = (
                    f"{record.msg} ({window.dropped} more like it in the last {self._interval:g} s were not logged)"
                )
            return True
        if window.passed < self._burst:
            window.passed += 1
            return True
        window.dropped += 1
        return False


def limit_repeats(limiter: RepeatLimiter, prefixes: Iterable[str] = LIMITED_LOGGERS) -> list[str]:
    """Attach ``limiter`` to every logger under ``prefixes`` that exists now; returns their names.

    A filter on a logger sees only the records made on that logger, not its
    children's, so each module's logger gets it. Call after the libraries are
    imported (their loggers are made at import).
    """
    wanted = tuple(prefixes)
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name == p or name.startswith(p + ".") for p in wanted)
    ]
    for name in [*wanted, *names]:
        logger = logging.getLogger(name)
        if limiter not in logger.filters:
            logger.addFilter(limiter)
    return sorted(set(names) | set(wanted))
