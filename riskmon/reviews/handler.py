"""Manual review: a reviewer's verdict becomes the ``manual`` decision, audited.

A review is accepted only for an application whose automated decision was
``review``, or whose approval was re-issued as a review by a ``hold`` (a
critical alert on the customer, :mod:`riskmon.alerting.holds`), and that has
no manual decision yet. Anything else is refused with
a clear error on the dead-letter topic, never silently applied:

* ``unknown_application``: no automated decision is known for it;
* ``already_final``: it was approved or rejected automatically, or another
  review already decided it.

The manual decision is reserved in Redis (``<ns>:manual:<application_id>``,
``SET NX``) before it is sent, like automated ones: the same review replayed
after a crash re-sends the same bytes; a different review for the same
application is ``already_final``. Its ``decision_id`` is deterministic
(``manual:<application_id>``), and its audit record names the reviewer, the
verdict, the reason and the automated decision it settles.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from riskmon.applications.decide import decision_id_for
from riskmon.audit import review_record
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore
from riskmon.redis_clients import REDIS_ERRORS
from riskmon.schemas import DeadLetter, Decision, Reason, Review, SchemaError, decode_object, dumps

__all__ = ["ReviewHandler", "ReviewRefused"]

log = logging.getLogger(__name__)


class ReviewRefused(Exception):
    """A valid review that cannot be applied; ``kind`` is the dead letter's error type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ReviewHandler(BatchHandler):
    """Apply a batch of reviews; never raises."""

    def __init__(
        self,
        *,
        store: DecisionStore,
        send: Send,
        decisions_topic: str,
        deadletter_topic: str,
        audit_topic: str | None,
        max_message_bytes: int,
        metrics: WorkerMetrics,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(send=send, deadletter_topic=deadletter_topic, metrics=metrics, wall_clock=wall_clock)
        self._store = store
        self._decisions_topic = decisions_topic
        self._audit_topic = audit_topic
        self._max_bytes = max_message_bytes

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        if batch:
            self._metrics.consumed_on(batch[0].topic, len(batch))
        pending: list[Awaitable[Any]] = []
        for message in batch:  # reviews are few: one at a time keeps the rules plain
            try:
                review = Review.from_dict(decode_object(message.value, max_bytes=self._max_bytes))
                pending += await self._apply(review)
            except SchemaError as exc:
                pending.append(await self._deadletter(message, exc))
            except ReviewRefused as exc:
                pending.append(await self._refuse(message, exc))
        for future in pending:
            await future

    async def _apply(self, review: Review) -> list[Awaitable[Any]]:
        store, app_id = self._store, review.application_id
        # a hold is stored as application "hold:<id>" (riskmon.alerting.holds): on a cluster, another slot
        keys = [store.key("decision", app_id), store.key("features", app_id), store.key("decision", f"hold:{app_id}")]
        try:
            raw = await store.mget(keys)
            automated_raw, features_raw, hold_raw = raw
        except REDIS_ERRORS as exc:
            raise RuntimeError(f"decision store unavailable: {exc}") from exc  # retried, then dead-lettered
        if automated_raw is None:
            raise ReviewRefused(
                "unknown_application", f"application_id: no automated decision is known for {review.application_id}"
            )
        # a hold (an approval re-issued as a review after a critical alert) is settled as any review is
        automated = orjson.loads(hold_raw if hold_raw is not None else automated_raw)
        if automated["outcome"] != "review":
            raise ReviewRefused(
                "already_final",
                f"application_id: {review.application_id} was decided automatically ({automated['outcome']})",
            )
        review_dict = review.to_dict()
        manual = self._manual_decision(review, automated, orjson.loads(features_raw) if features_raw else None)
        value = dumps(
            {**manual.to_dict(), "review": {"reviewer": review.reviewer, "reviewed_at": review_dict["reviewed_at"]}}
        )
        key = store.key("manual", app_id)
        reserved = await self._store.client.set(key, value, nx=True, ex=400 * 86400)
        if not reserved:
            stored = await self._store.client.get(key)
            if stored is None or orjson.loads(stored).get("review") != orjson.loads(value)["review"]:
                raise ReviewRefused(
                    "already_final", f"application_id: {review.application_id} already has a manual decision"
                )
            value = stored  # the same review again (a replay): the same bytes again
        out = [await self._send(self._decisions_topic, review.application_id.encode(), value)]
        if self._audit_topic is not None:
            record = review_record(review_dict, automated)
            out.append(await self._send(self._audit_topic, None, dumps({"records": [record]})))
        return out

    def _manual_decision(self, review: Review, automated: dict, snapshot: dict | None) -> Decision:
        requested = (snapshot or {}).get("inputs", {}).get("amount")
        decided = review.reviewed_at
        automated_at = datetime.fromisoformat(automated["decided_at"].replace("Z", "+00:00"))
        reasons = [Reason(f"MANUAL_{review.outcome.upper()}", f"Manual review: {review.reason}"[:500], 1.0)]
        reasons += [Reason(r["code"], r["description"], r["contribution"]) for r in automated["reasons"][:3]]
        return Decision(
            decision_id=decision_id_for(review.application_id, "manual"),
            application_id=review.application_id,
            customer_id=automated["customer_id"],
            decided_at=decided,
            stage="manual",
            outcome=review.outcome,
            score=automated["score"],
            grade=automated["grade"],
            approved_amount=float(requested) if review.outcome == "approve" and requested is not None else None,
            currency=automated.get("currency"),
            reasons=tuple(reasons),
            model_version=automated["model_version"],
            policy_version=automated["policy_version"],
            latency_ms=max(0.0, (decided - automated_at).total_seconds() * 1000.0),
        )

    async def _refuse(self, message: Incoming, exc: ReviewRefused) -> Awaitable[Any]:
        record = DeadLetter(
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            received_at=self._now(),
            error={"type": exc.kind, "message": str(exc), "field": "application_id"},
            raw=message.value,
        )
        self._metrics.deadlettered(message.topic, exc.kind)
        return await self._send(self._deadletter_topic, message.key, dumps(record.to_dict()))
