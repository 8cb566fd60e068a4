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
from riskmon.pipeline.handler import BatchHandler, all_delivered
from riskmon.pipeline.messages import Incoming, Send, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import UNAVAILABLE, DecisionStore, Delivered
from riskmon.portfolio.summaries import decision_summary
from riskmon.profile import CustomerProfile
from riskmon.profile.book import approval_entry, latest_decision
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

        # one round trip: earlier decisions of these applications and their customers' risk profiles
        looked_up = await self._store.lookup_with_profiles(
            [a.application_id for _, a in valid], [a.customer_id for _, a in valid]
        )
        lookups, profiles = looked_up if looked_up is not None else (None, {})
        # Redis's answer, not the store's state later: the back-off may end during the
        # await below, and a batch Redis could not look up must still hold its approvals.
        store_down = looked_up is None
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

        fresh_profiles = [profiles.get(a.customer_id) for _, a in fresh]
        scored = await self._score([a for _, a in fresh], fresh_profiles)
        to_reserve: list[tuple[str, bytes]] = []
        records: list[dict] = []  # the contract dict each reserved value was encoded from
        # application, latency (s), snapshot, profile, broker timestamp
        outputs: list[tuple[Application, float | None, dict | None, CustomerProfile | None, float | None]] = []
        produced_at: list[float | None] = []  # broker timestamps of the inputs decided, for end-to-end latency
        latencies = [self._mono() - message.received_monotonic for message, _ in fresh]
        decided = decide_batch(
            [a for _, a in fresh],
            scored,
            self._config,
            now=self._now,
            latencies_ms=[latency * 1000.0 for latency in latencies],
            degraded=degraded,
            profiles=fresh_profiles,
        )
        for (message, application), latency, d, profile in zip(fresh, latencies, decided, fresh_profiles, strict=True):
            if d.error is not None:
                log.error("policy failed for an application; routing it to review", exc_info=d.error)
                pending.append(await self._deadletter(message, d.error))
            to_reserve.append((application.application_id, dumps(d.record)))
            records.append(d.record)
            outputs.append((application, latency, d.snapshot, profile, message.timestamp))
            produced_at.append(message.timestamp)
            if degraded:
                self._metrics.decided_degraded(degraded_reason)

        stored = await self._store.reserve(to_reserve)
        values = stored if stored else [value for _, value in to_reserve]
        # the dict a value was encoded from where the reservation kept ours (the same object came back),
        # None where an earlier attempt's decision won: that one is read from its bytes below
        encoded_from = [
            record if value is ours else None
            for record, value, (_, ours) in zip(records, values, to_reserve, strict=True)
        ]
        sent: list[Delivered] = []
        summaries: list[dict] = []
        audit_records: list[dict] = []
        # decided now, then re-sent (decided by an earlier attempt, never acknowledged): one path for both
        outgoing = [
            *zip(outputs, values, encoded_from, strict=True),
            *(((a, None, None, None, None), v, None) for a, v in resend),
        ]
        for (application, took, snapshot, profile, produced), value, record in outgoing:
            # ``value`` may be an earlier attempt's stored decision: read it once, use it everywhere
            sent_decision = record if record is not None else orjson.loads(value)
            pending.append(await self._send(self._decisions_topic, application.application_id.encode(), value))
            applicant_ref = pseudonymize(application.applicant, self._pseudonym_key)
            features = dumps(snapshot) if snapshot is not None else None
            approval = _approval(sent_decision, applicant_ref)
            sent.append(
                Delivered(
                    application.application_id,
                    application.customer_id,
                    _summary(sent_decision),
                    features,
                    approval,
                    produced,
                )
            )
            # a re-sent decision's audit record too: the writer drops it if already chained
            audit_records += self._audit_record(sent_decision, snapshot, applicant_ref, profile)
            if took is not None:  # counted once, when decided
                self._metrics.decided(sent_decision["outcome"])
                self._metrics.latency.observe(took)
                summaries.append(decision_summary(sent_decision))

        if self._audit_topic is not None and audit_records:  # one message per batch, like the summaries
            pending.append(await self._send(self._audit_topic, None, dumps({"records": audit_records})))
        if self._portfolio_topic is not None and summaries:
            # one message per batch: the portfolio worker pays Faust's per-event cost once per batch
            pending.append(await self._send(self._portfolio_topic, None, dumps({"events": summaries})))
        await all_delivered(pending)  # one wait per batch: the broker has them all
        self._metrics.delivered_end_to_end(produced_at, self._now().timestamp())
        window = self._config.policy.customer.hold_window_hours * 3600
        if await self._store.confirm(sent, hold_window_seconds=window) and sent:
            self._metrics.profile_written("decisions", min((t for t in produced_at if t is not None), default=None))

    def _audit_record(
        self, decision: dict, snapshot: dict | None, applicant_ref: str | None, profile: CustomerProfile | None
    ) -> list[dict]:
        """The decision's audit record (pseudonymous, with the customer profile it used), for the audit writer."""
        if self._audit_topic is None:
            return []
        return [
            decision_record(
                decision,
                applicant_ref=applicant_ref,
                snapshot=snapshot,
                features_retained=True,
                profile=profile.to_record() if profile is not None else None,
            )
        ]

    async def _score(
        self, applications: list[Application], profiles: list[CustomerProfile | None]
    ) -> list[Scored | None]:
        """Model scores for a batch; on any model failure the scorecard decides."""
        if self._scorer is None or not applications:
            return [None] * len(applications)
        return self._scorer.score_or_none(applications, self._config.policy, profiles)


def _summary(d: dict) -> bytes:
    """The customer's latest-decision summary kept in Redis (no personal data)."""
    return dumps(latest_decision(d))


def _approval(d: dict, applicant_ref: str | None) -> bytes | None:
    """An approval's entry in the customer's recent approvals, from which a critical alert makes holds."""
    entry = approval_entry(d, applicant_ref)
    return None if entry is None else dumps(entry)
