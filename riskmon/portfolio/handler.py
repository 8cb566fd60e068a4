"""The portfolio path: one worker watches every decision and repayment.

Rates such as the approval or 90+ days-past-due rate mean something only over
the whole portfolio, but decisions and repayments are spread over partitions
and workers. So the decision and label paths publish small summaries of
their decisions and repayments, one message per batch (``{"events": [...]}``,
so the watching worker pays Faust's per-message cost once per batch), to the
internal, single-partition ``risk.portfolio.events`` topic, and
whichever worker Kafka assigns it to runs :class:`riskmon.portfolio.watch.PortfolioWatch`:
portfolio indicators with their thresholds, score drift (PSI) and customer
exposure. Its state is in memory: after a restart the windows refill within
their length (an hour of decisions by default); exposure restarts from zero,
a limitation the next iteration removes by snapshotting it to Redis.

After a batch with repayments the watch writes its loan indicators (overdue,
days-past-due buckets, default rate) to ``<ns>:portfolio:loan_rates``, where
every worker's console reads them: the consoles keep no loan window of their
own, the largest state the watch holds (the latest event of every loan
repaid in 30 days), and show the numbers the detectors threshold on.

When score drift is critical the watch sets ``<ns>:model:alert`` in Redis;
scorers read it and hold approvals for manual review until it clears.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import orjson

from riskmon.alerting.sink import AlertSink
from riskmon.alerting.state_store import EXPOSURE_TOTAL
from riskmon.config import RiskConfig
from riskmon.detectors.portfolio import LOAN_INDICATORS, PortfolioIndicators
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore
from riskmon.portfolio.summaries import observe_summary
from riskmon.portfolio.watch import PortfolioWatch
from riskmon.redis_clients import REDIS_ERRORS

__all__ = ["PortfolioHandler", "MODEL_ALERT_KEY", "LOAN_RATES_KEY", "loan_rates_doc"]

log = logging.getLogger(__name__)

MODEL_ALERT_KEY = "model:alert"
#: Hash (indicator name -> JSON ``{value, n, window, reason}``) of the watch's loan indicators.
LOAN_RATES_KEY = "portfolio:loan_rates"


def loan_rates_doc(indicators: PortfolioIndicators) -> dict[str, bytes]:
    """The loan indicators as the watch has them now, one JSON value per name."""
    return {name: orjson.dumps(indicators.value(name).to_dict()) for name in LOAN_INDICATORS}


class PortfolioHandler:
    """Feed portfolio events to the watch and publish its alerts; never raises."""

    def __init__(self, *, config: RiskConfig, store: DecisionStore, alerts: AlertSink) -> None:
        self._config = config
        self._store = store
        self._alerts = alerts
        self._watch = PortfolioWatch(config.detectors)
        self._model_critical: str | None = None

    async def handle(self, batch: Sequence[Incoming]) -> None:
        try:
            await self._handle(batch)
        except Exception:
            log.exception("portfolio batch of %d failed", len(batch))

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        version = self._config.version[:12]
        alerts = []
        touched: set[str] = set()
        repaid = False
        for message in batch:
            try:
                events = orjson.loads(message.value or b"")["events"]
            except Exception:
                log.exception("unusable portfolio message at offset %s", message.offset)
                continue
            for event in events:
                try:
                    # before and after: a customer whose last loan just closed leaves the book
                    had = event.get("customer_id") in self._watch.exposure
                    alerts += observe_summary(self._watch, event, config_version=version)
                    if had or event.get("customer_id") in self._watch.exposure:
                        touched.add(event["customer_id"])
                    repaid = repaid or event.get("kind") == "repayment"
                except Exception:
                    log.exception("unusable portfolio event at offset %s", message.offset)
        # Exposures first: the alert manager grades these very candidates by them.
        await self._share(touched, repaid)
        for future in await self._alerts.publish(alerts):
            await future
        await self._sync_model_alert()

    async def _share(self, customers: set[str], repaid: bool) -> None:
        """Customers' outstanding exposure (and the book's) for the alert manager's grading, and
        after repayments the loan indicators for every worker's console: one round trip per batch.

        Exposure is a hash keyed by customer id as a field: identifiers only.
        """
        if not (customers or repaid):
            return
        pipe = self._store.client.pipeline(transaction=False)
        if customers:
            values: dict[str, str] = {c: repr(self._watch.outstanding(c)) for c in customers}
            values[EXPOSURE_TOTAL] = repr(max(0.0, self._watch.total_outstanding))
            pipe.hset(f"{self._store.namespace}:exposure", mapping=values)
        if repaid:
            pipe.hset(f"{self._store.namespace}:{LOAN_RATES_KEY}", mapping=loan_rates_doc(self._watch.indicators))
        try:
            await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("could not share exposures and loan rates in Redis: %s", exc)

    def snapshot(self) -> tuple[dict[str, float | None], float | None, str | None]:
        """The watch's current rates by indicator, the score PSI and the model
        family it compares, for the metrics timer (cheap: no I/O)."""
        ratios = {name: indicator.value for name, indicator in self._watch.indicators.values().items()}
        return ratios, self._watch.psi.psi, self._watch.scoring_model

    async def _sync_model_alert(self) -> None:
        critical = self._watch.model_critical
        if critical == self._model_critical:
            return
        key = f"{self._store.namespace}:{MODEL_ALERT_KEY}"
        try:
            if critical:
                await self._store.client.set(key, critical.encode())
            else:
                await self._store.client.delete(key)
            self._model_critical = critical
        except REDIS_ERRORS as exc:
            log.warning("could not record the model alert state in Redis: %s", exc)
