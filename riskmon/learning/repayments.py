"""The label path: repayment events joined with the features scored at decision time.

A loan's outcome arrives weeks or months after its decision, on
``credit.repayments``. This handler turns each *final* outcome (see
:func:`riskmon.models.labels.label_from_repayment`: default or 90+ days past
due is bad, paid off is good) into one training example:

1. validate the raw bytes (bad ones go to the dead-letter topic, as everywhere);
2. in one Redis pipeline per batch, fetch the feature snapshot kept at
   decision time (``<ns>:features:<application_id>``) and claim the label
   with ``SET NX <ns>:labelled:<application_id>``, so a loan is learned once
   however many final events it produces or however often they are replayed;
3. publish the joined example to the internal ``risk.model.training`` topic.

Why a topic between join and learning: the training topic has one partition,
so exactly one worker (whichever Kafka assigns it to) is the learner, and
failover is a rebalance, not code of ours; scorers on every worker hot-swap
the snapshots it publishes. Examples are also replayable for a retrain.

Repayments for loans the monitor never decided (no snapshot, for example loans
older than the monitor) are counted in
``riskmon_repayment_labels_total{result="unmatched"}`` and logged at debug
level; they are valid events, not errors, so they do not go to the dead-letter
topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from riskmon.models.labels import label_from_repayment
from riskmon.pipeline import cluster_batches
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send, oldest_timestamp, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.profile_lua import APPLY_REPAYMENT
from riskmon.pipeline.store import DecisionStore, clock_entry, queue_script
from riskmon.portfolio.summaries import repayment_summary
from riskmon.profile import clock_key, risk_key
from riskmon.schemas import Repayment, SchemaError, decode_object, dumps, format_timestamp

__all__ = ["RepaymentHandler"]

log = logging.getLogger(__name__)


#: Each repayment's effect on its customer's risk profile, in event order: an
#: open loan's current days past due (``dpd:<loan>``, removed when the loan
#: closes), the worst ever seen, and a ``default:<loan>`` mark per loan that
#: defaulted (set once, so a redelivery never counts twice). KEYS are the
#: customers' profile keys then the clock key; ARGV the profile TTL and the
#: clock entry, then triples (loan, days past due, status).
PROFILE_LUA = (
    APPLY_REPAYMENT
    + """
local ttl = ARGV[1]
local n = #KEYS - 1
for i = 1, n do
  local j = (i - 1) * 3 + 3
  apply_repayment(KEYS[i], ARGV[j], tonumber(ARGV[j + 1]), ARGV[j + 2])
  redis.call('EXPIRE', KEYS[i], ttl)
end
redis.call('HSET', KEYS[#KEYS], 'repayments', ARGV[2])
return n
"""
)


class RepaymentHandler(BatchHandler):
    """Join final repayment outcomes with decision-time features; never raises."""

    def __init__(
        self,
        *,
        store: DecisionStore,
        send: Send,
        training_topic: str,
        deadletter_topic: str,
        max_message_bytes: int,
        bad_days_past_due: int,
        metrics: WorkerMetrics,
        portfolio_topic: str | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(send=send, deadletter_topic=deadletter_topic, metrics=metrics, wall_clock=wall_clock)
        self._portfolio_topic = portfolio_topic
        self._store = store
        self._training_topic = training_topic
        self._max_bytes = max_message_bytes
        self._bad_dpd = bad_days_past_due
        self._profile_script = store.client.register_script(PROFILE_LUA)

    def _queue_profiles(self, pipe: Any, repayments: Sequence[Repayment], oldest: float | None) -> None:
        """Queue the customers' loan standing (days past due, defaults) in ``pipe``: one script call."""
        ns = self._store.namespace
        keys = [risk_key(ns, r.customer_id) for r in repayments] + [clock_key(ns)]
        args: list[Any] = [self._store.ttl_seconds, clock_entry(oldest, time.time())]
        for r in repayments:
            args += (r.application_id, r.days_past_due, r.status)
        if self._store.cluster:
            cluster_batches.queue_repayments(pipe, keys, args)
        else:
            queue_script(pipe, self._profile_script, keys, args)

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        if batch:
            self._metrics.consumed_on(batch[0].topic, len(batch))
        pending: list[Awaitable[Any]] = []
        final: dict[str, tuple[Repayment, bool]] = {}
        summaries: list[dict] = []
        valid: list[Repayment] = []
        for message in batch:
            try:
                repayment = Repayment.from_dict(decode_object(message.value, max_bytes=self._max_bytes))
            except SchemaError as exc:
                pending.append(await self._deadletter(message, exc))
                continue
            summaries.append(repayment_summary(repayment))
            valid.append(repayment)
            label = label_from_repayment(repayment, bad_days_past_due=self._bad_dpd)
            if label is None:
                self._metrics.label_result("not_final")
                continue
            final.setdefault(repayment.application_id, (repayment, label))  # first final event in the batch wins

        if self._portfolio_topic is not None and summaries:  # one message per batch
            pending.append(await self._send(self._portfolio_topic, None, dumps({"events": summaries})))
        oldest = oldest_timestamp(batch)
        # the labels' join and the customers' loan standing in the profile: one round trip
        joined = await self._store.join_labels(
            list(final), also=(lambda pipe: self._queue_profiles(pipe, valid, oldest)) if valid else None
        )
        if joined is not None and valid:
            self._metrics.profile_written("repayments", oldest)
        if joined is None and final:
            # Redis is down: the labels cannot be joined now. Raising makes the
            # batch retry event by event, and each failure is dead-lettered with
            # its original bytes, so a replay from risk.deadletter can recover them.
            raise RuntimeError("feature store (Redis) unavailable: repayment labels cannot be joined")
        labelled_at = format_timestamp(self._now())
        for (application_id, (repayment, label)), (snapshot, first) in zip(final.items(), joined or [], strict=False):
            if snapshot is None:
                self._metrics.label_result("unmatched")
                log.debug("no decision-time features for application %s", application_id)
                continue
            if not first:
                self._metrics.label_result("duplicate")
                continue
            example = orjson.loads(snapshot)
            example.update(label=label, labelled_at=labelled_at, repayment_event_id=repayment.event_id)
            pending.append(await self._send(self._training_topic, application_id.encode(), dumps(example)))
            self._metrics.label_result("joined")
        if pending:
            for future in pending:
                await future
