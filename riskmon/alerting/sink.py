"""Publishing detector alert candidates to the alert manager, keyed by their dedup key.

Detectors run on every worker; their candidates go to the internal,
single-partition ``risk.alerts.candidates`` topic, where one alert manager
(:mod:`riskmon.alerting.handler`) grades, dedups, groups, silences and
routes them, and publishes each state change to ``risk.alerts``. Keys are
the stable ``dedup_key``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from typing import Any

from riskmon.pipeline.messages import Send
from riskmon.schemas import Alert, dumps

__all__ = ["AlertSink"]

log = logging.getLogger(__name__)


class AlertSink:
    """Sends candidates; returns delivery futures so callers wait once per batch."""

    def __init__(self, send: Send, topic: str) -> None:
        self._send = send
        self._topic = topic

    async def publish(self, alerts: Iterable[Alert]) -> list[Awaitable[Any]]:
        futures = []
        for alert in alerts:
            futures.append(await self._send(self._topic, alert.dedup_key.encode(), dumps(alert.to_dict())))
            log.debug("alert candidate %s %s %s", alert.status, alert.level, alert.dedup_key)
        return futures
