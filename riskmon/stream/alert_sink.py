"""Publishing alert candidates to ``risk.alerts``, keyed by their dedup key.

The alerting stages (grading, dedup, routing, pagers) come after this topic;
until then every detector transition is published here in the contract's
shape. Keys are the stable ``dedup_key`` so one subject's alerts stay in
order on one partition.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Iterable

from riskmon.schemas import Alert, dumps
from riskmon.stream.batch_handler import Send
from riskmon.stream.metrics import WorkerMetrics

__all__ = ["AlertSink"]

log = logging.getLogger(__name__)


class AlertSink:
    """Sends alerts; returns delivery futures so callers wait once per batch."""

    def __init__(self, send: Send, topic: str, metrics: WorkerMetrics) -> None:
        self._send = send
        self._topic = topic
        self._metrics = metrics

    async def publish(self, alerts: Iterable[Alert]) -> list[Awaitable[Any]]:
        futures = []
        for alert in alerts:
            record = alert.to_dict()
            futures.append(await self._send(self._topic, alert.dedup_key.encode(), dumps(record)))
            self._metrics.alerted(record["detector"], record["level"], record["status"])
            log.info("alert %s %s %s: %s", record["status"], record["level"], record["dedup_key"], record["summary"])
        return futures
