"""Ingestion lag of each input topic, watched with multi-level thresholds.

Lag here is the pipeline's own delay: the time between a record's broker
timestamp (when its producer sent it) and the moment this worker processed
it. Business event times (``submitted_at``, ``occurred_at``) are not used:
a replay of last year's data is not a slow pipeline. One watch per topic per
worker; its alerts have the pipeline as subject (``pipeline:<topic>``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from riskmon.alerting.sink import AlertSink
from riskmon.config import RiskConfig
from riskmon.detectors import IngestionLag, ThresholdDetector, alerts_on
from riskmon.pipeline.messages import Incoming
from riskmon.schemas import Alert

__all__ = ["LagWatch", "PipelineLag"]

log = logging.getLogger(__name__)


class PipelineLag:
    """Observe each batch's oldest record per topic; publish lag alerts."""

    def __init__(self, config: RiskConfig, alerts: AlertSink, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._alerts = alerts
        self._clock = clock
        self._watches: dict[str, LagWatch] = {}

    async def observe(self, batch: Sequence[Incoming]) -> None:
        stamps = [m.timestamp for m in batch if m.timestamp is not None]
        if not stamps:
            return
        topic = batch[0].topic
        watch = self._watches.get(topic)
        if watch is None:
            watch = self._watches[topic] = LagWatch(topic, self._config.detectors.lag_thresholds())
        try:
            alerts = watch.observe(min(stamps), self._clock(), config_version=self._config.version[:12])
            for future in await self._alerts.publish(alerts):
                await future
        except Exception:  # lag watching must never cost a decision
            log.exception("ingestion lag watch failed for %s", topic)


@dataclass
class LagWatch:
    """Ingestion lag of one input topic (event time vs processing time)."""

    topic: str
    levels: ThresholdDetector
    lag: IngestionLag = field(default_factory=IngestionLag)

    def observe(self, event_time: float, now: float, *, config_version: str) -> list[Alert]:
        value = self.lag.update(event_time, now)
        return alerts_on(
            self.levels.update(value.lag, now),
            detector="ingestion_lag",
            subject={"kind": "pipeline", "id": self.topic},
            config_version=config_version,
            window=None,
        )
