"""The transaction path: per-customer velocity and cash-out, anomalies, ingestion lag.

Per-customer detector state (:class:`riskmon.watch.CustomerWatch`: sliding
windows and threshold levels) crosses restarts and rebalances in Redis,
``<ns>:watch:customer:<customer_id>`` (pickled, expiring after two days of
silence), read and written with one pipeline per batch. A small in-memory LRU
serves repeat customers and keeps the detectors running, from memory, while
Redis is unreachable. Keys hold identifiers, never personal data.

Event time is the transaction's ``occurred_at``: late and out-of-order events
within the window's ``allowed_lateness`` are counted in their window; older
ones are counted in ``riskmon_late_events_total`` and otherwise ignored by the
windows (the transaction itself is valid and still scored for anomalies).
"""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from datetime import datetime
from typing import Any, Awaitable, Callable, Sequence

from redis.exceptions import RedisError

from riskmon.config import RiskConfig
from riskmon.detectors import epoch
from riskmon.schemas import SchemaError, Transaction, decode_object
from riskmon.stream.alert_sink import AlertSink
from riskmon.stream.batch_handler import BatchHandler, Send, utcnow
from riskmon.stream.decision_store import DecisionStore
from riskmon.stream.decisions import Incoming
from riskmon.stream.metrics import WorkerMetrics
from riskmon.watch import CustomerWatch, TransactionAnomalyWatch

__all__ = ["TransactionHandler"]

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 2 * 86400
CACHE_SIZE = 50_000


class TransactionHandler(BatchHandler):
    """Watch a batch of transactions; never raises."""

    def __init__(
        self,
        *,
        config: RiskConfig,
        store: DecisionStore,
        send: Send,
        alerts: AlertSink,
        deadletter_topic: str,
        max_message_bytes: int,
        metrics: WorkerMetrics,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(send=send, deadletter_topic=deadletter_topic, metrics=metrics, wall_clock=wall_clock)
        self._config = config
        self._store = store
        self._alerts = alerts
        self._max_bytes = max_message_bytes
        self._cache: OrderedDict[str, CustomerWatch] = OrderedDict()
        self._anomaly = TransactionAnomalyWatch(config.detectors)
        self._fresh = CustomerWatch.factory(config.detectors)

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        if batch:
            self._metrics.consumed_on(batch[0].topic, len(batch))
        pending: list[Awaitable[Any]] = []
        valid: list[Transaction] = []
        for message in batch:
            try:
                valid.append(Transaction.from_dict(decode_object(message.value, max_bytes=self._max_bytes)))
            except SchemaError as exc:
                pending.append(await self._deadletter(message, exc))
        watches = await self._load({tx.customer_id for tx in valid})
        version = self._config.version[:12]
        alerts = []
        for tx in valid:
            at = epoch(tx.occurred_at)
            watch = watches[tx.customer_id]
            before = watch.late_dropped
            alerts += watch.observe(tx, at, config_version=version)
            if watch.late_dropped > before:
                self._metrics.late_events.inc()
            alerts += self._anomaly.observe(tx, at, config_version=version)
        pending += await self._alerts.publish(alerts)
        await self._save(watches)
        for future in pending:
            await future

    async def _load(self, customers: set[str]) -> dict[str, CustomerWatch]:
        found: dict[str, CustomerWatch] = {}
        missing = []
        for customer in customers:
            if customer in self._cache:
                self._cache.move_to_end(customer)
                found[customer] = self._cache[customer]
            else:
                missing.append(customer)
        if missing and not self._store.degraded:
            try:
                raw = await self._store.client.mget([self._key(c) for c in missing])
                for customer, value in zip(missing, raw):
                    if value is not None:
                        found[customer] = pickle.loads(value)
            except (RedisError, OSError) as exc:
                log.warning("customer state unavailable in Redis (%s); starting from memory", exc)
        for customer in customers:
            if customer not in found:
                found[customer] = self._fresh()
        return found

    async def _save(self, watches: dict[str, CustomerWatch]) -> None:
        for customer, watch in watches.items():
            self._cache[customer] = watch
            self._cache.move_to_end(customer)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if not watches or self._store.degraded:
            return
        try:
            pipe = self._store.client.pipeline(transaction=False)
            for customer, watch in watches.items():
                pipe.set(self._key(customer), pickle.dumps(watch, protocol=pickle.HIGHEST_PROTOCOL), ex=STATE_TTL_SECONDS)
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not save customer state to Redis (%s); kept in memory", exc)

    def _key(self, customer_id: str) -> str:
        return f"{self._store.namespace}:watch:customer:{customer_id}"
