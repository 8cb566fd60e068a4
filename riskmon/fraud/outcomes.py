"""The label path of fraud: confirmed outcomes joined with the features their transaction was scored with.

Card issuers learn which transactions were fraud days or weeks later
(confirmed cases, chargebacks), on ``credit.transaction_outcomes`` (key
``customer_id``; each names its ``transaction_id``). Per batch:

1. validate the raw bytes (bad ones go to the dead-letter topic with their
   original bytes, as everywhere);
2. in one Redis script, fetch each transaction's snapshot
   (:mod:`riskmon.fraud.store`) and claim the label once (``SET NX``);
3. publish the joined example to the internal ``risk.fraud.training`` topic
   (one partition: one worker is the fraud learner, off the decision path).

Outcomes of transactions the monitor has no snapshot of (never seen, or older
than the snapshots' expiry) and repeated outcomes are valid events, not
errors: counted in ``riskmon_fraud_labels_total{result}`` and logged, not
dead-lettered (as for repayments).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from prometheus_client import Counter

from riskmon.fraud.store import JOIN_LUA, SNAPSHOT_TTL_SECONDS, labelled_key, snapshot_key
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore
from riskmon.redis_clients import REDIS_ERRORS
from riskmon.schemas import SchemaError, TransactionOutcome, decode_object

__all__ = ["OutcomeHandler", "label_counter"]

log = logging.getLogger(__name__)

_COUNTERS: dict[int, Counter] = {}


def label_counter(metrics: WorkerMetrics) -> Counter:
    """``riskmon_fraud_labels_total{result}`` on the worker's registry (joined, unmatched, repeated, unavailable)."""
    key = id(metrics.registry)
    if key not in _COUNTERS:
        _COUNTERS[key] = Counter(
            "riskmon_fraud_labels_total",
            "Confirmed transaction outcomes, by what became of them.",
            ["result"],
            registry=metrics.registry,
        )
    return _COUNTERS[key]


class OutcomeHandler(BatchHandler):
    """Join a batch of transaction outcomes with their snapshots; never raises."""

    def __init__(
        self,
        *,
        store: DecisionStore,
        send: Send,
        training_topic: str,
        deadletter_topic: str,
        max_message_bytes: int,
        metrics: WorkerMetrics,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(send=send, deadletter_topic=deadletter_topic, metrics=metrics, wall_clock=wall_clock)
        self._store = store
        self._training_topic = training_topic
        self._max_bytes = max_message_bytes
        self._join = store.client.register_script(JOIN_LUA)
        self._labels = label_counter(metrics)

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        if batch:
            self._metrics.consumed_on(batch[0].topic, len(batch))
        pending: list[Awaitable[Any]] = []
        outcomes: dict[str, TransactionOutcome] = {}
        for message in batch:
            try:
                outcome = TransactionOutcome.from_dict(decode_object(message.value, max_bytes=self._max_bytes))
            except SchemaError as exc:
                pending.append(await self._deadletter(message, exc))
                continue
            if outcome.transaction_id in outcomes:
                self._labels.labels("repeated").inc()
            outcomes[outcome.transaction_id] = outcome
        if outcomes:
            pending += await self._join_and_send(list(outcomes.values()))
        for future in pending:
            await future

    async def _join_and_send(self, outcomes: list[TransactionOutcome]) -> list[Awaitable[Any]]:
        ns = self._store.namespace
        keys: list[str] = []
        for o in outcomes:
            keys += (snapshot_key(ns, o.transaction_id), labelled_key(ns, o.transaction_id))
        try:
            joined = await self._join(keys=keys, args=[SNAPSHOT_TTL_SECONDS])
        except REDIS_ERRORS as exc:
            # Without Redis there is no snapshot to join: raise so the batch is read again later.
            self._labels.labels("unavailable").inc(len(outcomes))
            raise RuntimeError(f"fraud labels cannot be joined while Redis is unreachable: {exc}") from exc
        pending = []
        for outcome, snap in zip(outcomes, joined, strict=True):
            if snap == 0:
                self._labels.labels("unmatched").inc()
                log.debug("outcome %s: no snapshot of transaction %s", outcome.outcome_id, outcome.transaction_id)
                continue
            if snap == 1:
                self._labels.labels("repeated").inc()
                continue
            doc = orjson.loads(snap)
            example = {"transaction_id": outcome.transaction_id, "fraud": outcome.fraud, "x": doc["x"], "s": doc["s"]}
            pending.append(
                await self._send(self._training_topic, outcome.transaction_id.encode(), orjson.dumps(example))
            )
            self._labels.labels("joined").inc()
        return pending
