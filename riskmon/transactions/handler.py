"""The transaction path: per-customer velocity and cash-out, anomalies, ingestion lag.

Per-customer detector state (:class:`riskmon.transactions.watch.CustomerWatch`: sliding
windows and threshold levels) crosses restarts and rebalances in Redis,
``<ns>:watch:state:<customer_id>`` (JSON of the state alone, see
:class:`riskmon.transactions.watch.CustomerStates`, expiring after two days of silence),
read and written with one command per batch. An in-memory LRU of the same
bytes serves repeat customers and keeps the detectors running, from memory,
while Redis is unreachable; bytes are not tracked by the garbage collector,
so 50,000 cached customers cost its full collections nothing, where watches
kept as objects were about a million tracked objects. State that
cannot be read (another format or window shape) starts that customer afresh,
counted in ``riskmon_customer_state_reset_total``. Keys hold identifiers,
never personal data.

Event time is the transaction's ``occurred_at``: late and out-of-order events
within the window's ``allowed_lateness`` are counted in their window; older
ones are counted in ``riskmon_late_events_total`` and otherwise ignored by the
windows (the transaction itself is valid and still scored for anomalies).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from riskmon.alerting.sink import AlertSink
from riskmon.config import RiskConfig
from riskmon.detectors import epoch
from riskmon.fraud.learner import published_models
from riskmon.fraud.scoring import FraudScoring
from riskmon.fraud.store import REFRESH_SECONDS, SNAPSHOT_TTL_SECONDS, model_key, snapshot_key
from riskmon.keyspace import entity_key
from riskmon.pipeline import cluster_batches
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send, oldest_timestamp, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore, clock_entry
from riskmon.profile import clock_key, risk_key
from riskmon.redis_clients import REDIS_ERRORS
from riskmon.schemas import SchemaError, Transaction, decode_object
from riskmon.transactions.core import watch_transactions
from riskmon.transactions.watch import CustomerStates, CustomerWatch, TransactionAnomalyWatch

__all__ = ["TransactionHandler"]

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 2 * 86400
CACHE_SIZE = 50_000

#: Save a batch's customer states in one command: ``SET key state EX ttl`` for
#: each KEYS[i] and ARGV[i + 1]. A pipeline of one SET per customer cost
#: redis-py a packing and a parsing per customer: 28% of the transaction
#: path's profiled time when most customers are new (the benchmark's mix);
#: one call per batch cut its CPU from 299 to 248 us per transaction
#: (``bench.handler_cost``, docs/performance.md).
#: The same call updates each customer's risk profile (its last 24 h's
#: transaction count and cash amount) and the profile clock: KEYS are pairs
#: (state key, risk profile key) then the clock key; ARGV the state TTL, the
#: profile TTL and the clock entry, then triples (state, count, cash).
#: The same call keeps each transaction's fraud snapshot (riskmon.fraud.store): its
#: keys follow the clock key; its bytes travel as ONE argument, every snapshot of the
#: batch end to end, with their lengths (``"314,290,..."``) in the next: two arguments
#: a batch instead of one per transaction, each of which redis-py packs on its own. The
#: last two ARGV are the number of snapshots and their TTL.
SAVE_LUA = """
local ttl, profile_ttl = ARGV[1], ARGV[2]
local m, snapshot_ttl = tonumber(ARGV[#ARGV - 1]), ARGV[#ARGV]
local n = #KEYS - 1 - m
for i = 1, n, 2 do
  local j = (i - 1) / 2 * 3 + 4
  redis.call('SET', KEYS[i], ARGV[j], 'EX', ttl)
  redis.call('HSET', KEYS[i + 1], 'tx_count_24h', ARGV[j + 1], 'cash_24h', ARGV[j + 2])
  redis.call('EXPIRE', KEYS[i + 1], profile_ttl)
end
redis.call('HSET', KEYS[n + 1], 'transactions', ARGV[3])
local blob, lengths = ARGV[#ARGV - 3], ARGV[#ARGV - 2]
local k, pos = 0, 1
for len in string.gmatch(lengths, '%d+') do
  k = k + 1
  local size = tonumber(len)
  redis.call('SET', KEYS[n + 1 + k], string.sub(blob, pos, pos + size - 1), 'EX', snapshot_ttl)
  pos = pos + size
end
return n / 2
"""


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
        self._cache: OrderedDict[str, bytes] = OrderedDict()  # customer -> encoded state, least recent first
        self._anomaly = TransactionAnomalyWatch(config.detectors)
        self._states = CustomerStates(config.detectors)
        self._save_script = store.client.register_script(SAVE_LUA)
        self._fraud = FraudScoring(config.detectors.fraud_budgets())
        self._fraud_read_at = -math.inf  # monotonic time of the last read of the published fraud models

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
        await self._refresh_fraud_models()
        version = self._config.version[:12]
        scored: dict[str, dict[str, float]] = {}
        alerts, late = watch_transactions(watches, self._anomaly, valid, config_version=version, scored=scored)
        if late:
            self._metrics.late_events.inc(late)
        snapshots: dict[str, bytes] = {}
        for tx in valid:
            fraud_alerts, snapshots[tx.transaction_id] = self._fraud.observe(
                tx, epoch(tx.occurred_at), scored[tx.transaction_id], config_version=version
            )
            alerts += fraud_alerts
        pending += await self._alerts.publish(alerts)
        await self._save(watches, oldest_timestamp(batch), snapshots)
        for future in pending:
            await future

    async def _load(self, customers: set[str]) -> dict[str, CustomerWatch]:
        stored: dict[str, bytes] = {}
        missing = []
        for customer in customers:
            data = self._cache.get(customer)
            if data is not None:
                stored[customer] = data
            else:
                missing.append(customer)
        if missing and not self._store.degraded:
            try:
                keys = [self._key(c) for c in missing]
                raw = await self._store.mget(keys)
                stored.update((c, value) for c, value in zip(missing, raw, strict=True) if value is not None)
            except REDIS_ERRORS as exc:
                log.warning("customer state unavailable in Redis (%s); starting from memory", exc)
        watches: dict[str, CustomerWatch] = {}
        unreadable: list[str] = []
        for customer in customers:
            data = stored.get(customer)
            if data is None:
                watches[customer] = self._states.fresh()
                continue
            try:
                watches[customer] = self._states.decode(data)
            except ValueError as exc:
                unreadable.append(str(exc))
                watches[customer] = self._states.fresh()
        if unreadable:
            self._metrics.customer_state_resets.inc(len(unreadable))
            log.warning(
                "%d customers' stored state could not be used and started afresh (first: %s)",
                len(unreadable),
                unreadable[0],
            )
        return watches

    async def _refresh_fraud_models(self) -> None:
        """Score with the fraud learner's latest models: read at most every ``REFRESH_SECONDS``."""
        now = time.monotonic()
        if now - self._fraud_read_at < REFRESH_SECONDS or self._store.degraded:
            return
        self._fraud_read_at = now
        try:
            data = await self._store.client.get(model_key(self._store.namespace))
        except REDIS_ERRORS as exc:
            log.warning("fraud models unavailable in Redis (%s); scoring with the last ones read", exc)
            return
        champion, challenger, _ = published_models(data)
        if champion is not None:
            self._fraud.use(champion, challenger)

    async def _save(
        self,
        watches: dict[str, CustomerWatch],
        oldest: float | None = None,
        snapshots: dict[str, bytes] | None = None,
    ) -> None:
        """Keep each customer's state (memory and Redis), its part of the risk profile and each
        transaction's fraud snapshot (Redis only, expiring).

        ``oldest`` is the batch's oldest broker timestamp: the profile clock
        records how long after it the profile reflected the batch.
        """
        encoded = {customer: self._states.encode(watch) for customer, watch in watches.items()}
        for customer, data in encoded.items():
            self._cache[customer] = data
            self._cache.move_to_end(customer)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if not encoded or self._store.degraded:
            return
        ns = self._store.namespace
        keys: list[str] = []
        args: list[Any] = [STATE_TTL_SECONDS, self._store.ttl_seconds, clock_entry(oldest, time.time())]
        for customer, data in encoded.items():
            day = watches[customer].cash.current
            keys += (self._key(customer), risk_key(ns, customer))
            args += (data, day.count if day else 0, repr(round(day.sum, 2)) if day else "0.0")
        keys.append(clock_key(ns))
        snapshots = snapshots or {}
        keys += (snapshot_key(ns, tx_id) for tx_id in snapshots)
        values = snapshots.values()
        args += (b"".join(values), ",".join([str(len(v)) for v in values]), len(snapshots), SNAPSHOT_TTL_SECONDS)
        try:
            if self._store.cluster:
                pipe = self._store.client.pipeline(transaction=False)
                cluster_batches.queue_save_transactions(pipe, keys, args)
                await pipe.execute()
            else:
                await self._save_script(keys=keys, args=args)
            self._metrics.profile_written("transactions", oldest)
        except REDIS_ERRORS as exc:
            log.warning("could not save customer state to Redis (%s); kept in memory", exc)

    def _key(self, customer_id: str) -> str:
        return entity_key(self._store.namespace, "watch:state", customer_id)
