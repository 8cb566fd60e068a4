"""State gauges sampled by a timer: consumer lag per topic, the portfolio's rates.

Why a timer and not the hot path: lag and rates are states, read at scrape
time; computing them per message would cost every event for a number
Prometheus reads every 15 s.

Consumer lag, per partition this worker holds, is the broker's log end
offset (the *highwater*, which aiokafka refreshes with every fetch response,
empty ones included) minus the next offset this worker will take into its
streams: the last offset Faust's monitor saw read plus one, or, before any
message was read since the last rebalance, the offset last committed, or
else the consumer's fetch position. It is what ``kafka-consumer-groups
--describe`` would show for this member, without a commit interval's delay.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["partition_lag", "sum_by_topic", "sample_consumer_lag", "ConsumerSample"]

log = logging.getLogger(__name__)


def partition_lag(highwater: int | None, read: int | None, committed: int | None, position: int | None) -> int | None:
    """Messages of one partition not yet read; ``None`` when the highwater is unknown.

    ``read`` is the offset of the last message read (so the next is ``read + 1``);
    ``committed`` and ``position`` are already "next offset" values.

    >>> partition_lag(100, 89, 50, 95)       # read wins: it is the freshest
    10
    >>> partition_lag(100, None, 60, 95)     # nothing read since the rebalance
    40
    >>> partition_lag(100, None, None, 95)
    5
    >>> partition_lag(None, 89, 50, 95) is None
    True
    >>> partition_lag(100, 99, None, None)   # caught up
    0
    """
    if highwater is None:
        return None
    if read is not None:
        following = read + 1
    elif committed is not None:
        following = committed
    elif position is not None:
        following = position
    else:
        return None
    return max(0, highwater - following)


def sum_by_topic(partitions: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    """Sum per-partition numbers by topic; a topic whose partitions are all unknown is left out.

    >>> sum_by_topic([("a", 3), ("a", 4), ("b", None), ("c", 0)])
    {'a': 7, 'c': 0}
    """
    totals: dict[str, int] = {}
    for topic, lag in partitions:
        if lag is not None:
            totals[topic] = totals.get(topic, 0) + lag
    return totals


@dataclass(frozen=True, slots=True)
class ConsumerSample:
    """By topic: messages not yet read (``lag``), and the log end offsets
    (``end``, whose rate is the topic's arrival rate on this worker's partitions)."""

    lag: dict[str, int]
    end: dict[str, int]


async def sample_consumer_lag(app: Any, topics: Collection[str]) -> ConsumerSample:
    """Lag and end offsets by topic of the partitions of ``topics`` that ``app``'s
    consumer holds now (Faust's own internal topics, such as the assignor's, are left out)."""
    consumer = app.consumer
    monitor = app.monitor
    read_offsets: Mapping = monitor.tp_read_offsets or {}
    committed_offsets: Mapping = monitor.tp_committed_offsets or {}
    samples: list[tuple[str, int | None]] = []
    ends: list[tuple[str, int | None]] = []
    for tp in consumer.assignment():
        if tp.topic not in topics:
            continue
        highwater = consumer.highwater(tp)
        read, committed = read_offsets.get(tp), committed_offsets.get(tp)
        position = None
        if highwater is not None and read is None and committed is None:
            try:
                position = await consumer.position(tp)
            except Exception as exc:  # a rebalance under way: the next sample will do
                log.debug("no position for %s: %s", tp, exc)
        samples.append((tp.topic, partition_lag(highwater, read, committed, position)))
        ends.append((tp.topic, highwater))
    return ConsumerSample(lag=sum_by_topic(samples), end=sum_by_topic(ends))
