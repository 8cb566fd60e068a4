"""The application path: a batch of raw messages in, decisions and dead letters out.

The handler is the I/O shell around :mod:`riskmon.applications.decide`. Its rules,
from the lessons of faust-streaming's issue tracker (docs/architecture.md):

* It never raises. An exception escaping the agent would ack the batch and
  lose it, so every event is handled on its own: bad input becomes a
  dead-letter record with the original bytes; a valid application whose
  processing fails still gets a ``review`` decision (and a dead letter that says
  why).
* It waits for the broker to acknowledge a batch's outputs before confirming
  them in Redis, so "delivered" in Redis means delivered in Kafka. Faust also
  flushes the producer before committing input offsets, so an input is never
  committed before its outputs are durable (at-least-once). Duplicates that
  at-least-once allows are suppressed by the decision store and, failing that,
  carry the same deterministic ``decision_id``.
* One Redis pipeline per step per batch, never a round trip per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from riskmon.applications.decide import decide_batch, parse_application
from riskmon.applications.scoring import ModelScorer, Scored
from riskmon.audit import decision_record, pseudonymize
from riskmon.config import RiskConfig
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import UNAVAILABLE, DecisionStore
from riskmon.portfolio.summaries import decision_summary
from riskmon.schemas import Application, SchemaError, dumps

__all__ = ["ApplicationHandler", "Send"]

log = logging.getLogger(__name__)


class ApplicationHandler(BatchHandler):
    """Decide a batch of consumed applications; never raises."""

    def __init__(
        self,
        *,
        config: RiskConfig,
        store: DecisionStore,
        send: Send,
        decisions_topic: str,
        deadletter_topic: str,
        max_message_bytes: int,
        metrics: WorkerMetrics,
        scorer: ModelScorer | None = None,
        portfolio_topic: str | None = None,
        audit_topic: str | None = None,
        pseudonym_key: bytes = b"riskmon-development-key-not-for-production",
        wall_clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(send=send, deadletter_topic=deadletter_topic, metrics=metrics, wall_clock=wall_clock)
        self._config = config
        self._scorer = scorer
        self._portfolio_topic = portfolio_topic
        self._audit_topic = audit_topic
        self._pseudonym_key = pseudonym_key
        self._store = store
        self._decisions_topic = decisions_topic
        self._max_bytes = max_message_bytes
        self._mono = monotonic

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        if batch:
            self._metrics.consumed_on(batch[0].topic, len(batch))
        pending: list[Awaitable[Any]] = []
        valid: list[tuple[Incoming, Application]] = []
        seen: set[str] = set()
        for message in batch:
            try:
                application = parse_application(message, max_bytes=self._max_bytes)
            except SchemaError as exc:
                pending.append(await self._deadletter(message, exc))
                continue
            if application.application_id in seen:  # the same application twice in one batch
                self._metrics.duplicates.inc()
                continue
            seen.add(application.application_id)
            valid.append((message, application))

        lookups = await self._store.lookup([a.application_id for _, a in valid])
        # Redis's answer, not the store's state later: the back-off may end during the
        # await below, and a batch Redis could not look up must still hold its approvals.
        store_down = lookups is None
        if self._scorer is not None and valid:
            await self._scorer.refresh()  # new snapshots and model alerts, before anything is decided
        degraded = UNAVAILABLE if store_down else (self._scorer.model_alert if self._scorer else None)
        degraded_reason = "redis_unavailable" if store_down else "model_alert"
        resend: list[tuple[Application, bytes]] = []
        fresh: list[tuple[Incoming, Application]] = []
        for index, (message, application) in enumerate(valid):
            known = lookups[index] if lookups else None
            if known is not None and known.stored is not None:
                if known.delivered:
                    self._metrics.duplicates.inc()
                else:
                    resend.append((application, known.stored))
                continue
            fresh.append((message, application))

        scored = await self._score([a for _, a in fresh])
        to_reserve: list[tuple[str, bytes]] = []
        outputs: list[tuple[Application, float, dict | None]] = []  # application, latency s, snapshot
        produced_at: list[float | None] = []  # broker timestamps of the inputs decided, for end-to-end latency
        latencies = [self._mono() - message.received_monotonic for message, _ in fresh]
        decided = decide_batch(
            [a for _, a in fresh],
            scored,
            self._config,
            now=self._now,
            latencies_ms=[latency * 1000.0 for latency in latencies],
            degraded=degraded,
        )
        for (message, application), latency, d in zip(fresh, latencies, decided, strict=True):
            if d.error is not None:
                log.error("policy failed for an application; routing it to review", exc_info=d.error)
                pending.append(await self._deadletter(message, d.error))
            to_reserve.append((application.application_id, dumps(d.record)))
            outputs.append((application, latency, d.snapshot))
            produced_at.append(message.timestamp)
            if degraded:
                self._metrics.decided_degraded(degraded_reason)

        stored = await self._store.reserve(to_reserve)
        values = stored if stored else [value for _, value in to_reserve]
        sent: list[tuple[str, str, bytes, bytes | None]] = []
        summaries: list[dict] = []
        audit_records: list[dict] = []
        for (application, latency, snapshot), value in zip(outputs, values, strict=True):
            # ``value`` may be an earlier attempt's stored decision: read it once, use it everywhere
            sent_decision = orjson.loads(value)
            pending.append(await self._send(self._decisions_topic, application.application_id.encode(), value))
            self._metrics.decided(sent_decision["outcome"])
            self._metrics.latency.observe(latency)
            features = dumps(snapshot) if snapshot is not None else None
            sent.append((application.application_id, application.customer_id, _profile(sent_decision), features))
            summaries.append(decision_summary(sent_decision))
            audit_records += self._audit_record(application, sent_decision, snapshot)
        for application, value in resend:
            sent_decision = orjson.loads(value)
            pending.append(await self._send(self._decisions_topic, application.application_id.encode(), value))
            sent.append((application.application_id, application.customer_id, _profile(sent_decision), None))
            audit_records += self._audit_record(
                application, sent_decision, None
            )  # the writer drops it if already chained

        if self._audit_topic is not None and audit_records:  # one message per batch, like the summaries
            pending.append(await self._send(self._audit_topic, None, dumps({"records": audit_records})))
        if self._portfolio_topic is not None and summaries:
            # one message per batch: the portfolio worker pays Faust's per-event cost once per batch
            pending.append(await self._send(self._portfolio_topic, None, dumps({"events": summaries})))
        if pending:
            await asyncio.gather(*pending)  # one wait per batch: the broker has them all
        self._metrics.delivered_end_to_end(produced_at, self._now().timestamp())
        await self._store.confirm(sent)

    def _audit_record(self, application: Application, decision: dict, snapshot: dict | None) -> list[dict]:
        """The decision's audit record (pseudonymous), for the audit writer."""
        if self._audit_topic is None:
            return []
        return [
            decision_record(
                decision,
                applicant_ref=pseudonymize(application.applicant, self._pseudonym_key),
                snapshot=snapshot,
                features_retained=True,
            )
        ]

    async def _score(self, applications: list[Application]) -> list[Scored | None]:
        """Model scores for a batch; on any model failure the scorecard decides."""
        if self._scorer is None or not applications:
            return [None] * len(applications)
        return self._scorer.score_or_none(applications, self._config.policy)


def _profile(d: dict) -> bytes:
    """The customer's latest-decision summary kept in Redis (no personal data)."""
    return dumps(
        {
            "decision_id": d["decision_id"],
            "application_id": d["application_id"],
            "outcome": d["outcome"],
            "score": d["score"],
            "grade": d["grade"],
            "decided_at": d["decided_at"],
            "policy_version": d["policy_version"],
        }
    )
