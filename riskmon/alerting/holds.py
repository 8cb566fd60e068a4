"""Issuing holds: the alert manager's side of the linked response (:mod:`riskmon.profile.holds` decides which).

When a published alert about a customer is critical and firing, each of the
customer's approvals decided within the hold window is re-issued as a
``hold`` decision on ``credit.decisions`` and audited like any decision.
Exactly once, as the application path does it: a hold's bytes are reserved
in the decision store before they are sent (a redelivered alert batch, after
a crash between the alert and the hold, sends the same bytes again under the
same ``decision_id``) and marked delivered after the broker acknowledged
them (a later alert sends nothing). Redis down: no hold is issued then (a
warning is logged) and the batch's alerts go on; the hold is not retried on
its own, only the next publication of a critical alert on the customer within
the window issues it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from riskmon.audit import decision_record
from riskmon.pipeline.messages import Send
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore
from riskmon.profile.holds import holds_for, is_hold_trigger
from riskmon.schemas import Alert, dumps

__all__ = ["HoldIssuer"]

log = logging.getLogger(__name__)


class HoldIssuer:
    """Send the holds a batch's published alerts call for; see the module doc."""

    def __init__(
        self,
        *,
        store: DecisionStore,
        send: Send,
        decisions_topic: str,
        audit_topic: str | None,
        policy_version: str,
        window_seconds: float,
        metrics: WorkerMetrics,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._send = send
        self._decisions_topic = decisions_topic
        self._audit_topic = audit_topic
        self._policy_version = policy_version
        self._window = window_seconds
        self._metrics = metrics
        self._wall = wall

    async def issue(self, alerts: Sequence[Alert]) -> tuple[list[Awaitable[Any]], list[str]]:
        """Queue the holds for ``alerts``; returns their delivery futures and the hold ids to confirm.

        The customers' recent approvals are read only when an alert can call for a hold (a
        critical customer alert firing): a round trip then, none for the batches without one.
        """
        triggers = [a for a in alerts if is_hold_trigger(a)] if self._window > 0 else []
        if not triggers:
            return [], []
        approvals = await self._store.approvals(sorted({a.subject.id for a in triggers}))
        if approvals is None:
            log.warning("holds not issued for %d alerts: the decision store (Redis) is unavailable", len(triggers))
            return [], []
        now = self._wall()
        holds = []
        refs: dict[str, str | None] = {}
        for alert in triggers:
            entries = approvals.get(alert.subject.id, ())
            for hold in holds_for(
                alert, entries, now=now, window_seconds=self._window, policy_version=self._policy_version
            ):
                holds.append(hold)
                refs[hold.application_id] = next(
                    (e.get("applicant_ref") for e in entries if e.get("application_id") == hold.application_id), None
                )
        if not holds:
            return [], []
        ids = [f"hold:{h.application_id}" for h in holds]
        known = await self._store.lookup(ids)
        if known is None:
            log.warning("%d holds not issued: the decision store (Redis) is unavailable", len(holds))
            return [], []
        fresh = [(i, h) for i, h, k in zip(ids, holds, known, strict=True) if not k.delivered]
        stored = await self._store.reserve([(i, dumps(h.to_dict())) for i, h in fresh])
        if stored is None:
            log.warning("%d holds not issued: the decision store (Redis) is unavailable", len(fresh))
            return [], []
        futures: list[Awaitable[Any]] = []
        records = []
        for (_, hold), value in zip(fresh, stored, strict=True):
            futures.append(await self._send(self._decisions_topic, hold.application_id.encode(), value))
            sent = orjson.loads(value)
            records.append(
                decision_record(
                    sent, applicant_ref=refs.get(hold.application_id), snapshot=None, features_retained=False
                )
            )
            log.info(
                "hold %s: approval %s of an application held for review (alert %s)",
                sent["decision_id"],
                sent.get("supersedes"),
                hold.alert["dedup_key"] if hold.alert else "?",
            )
            self._metrics.holds.inc()
        if self._audit_topic is not None and records:
            futures.append(await self._send(self._audit_topic, None, dumps({"records": records})))
        return futures, [hold_key for hold_key, _ in fresh]

    async def confirm(self, hold_ids: Sequence[str]) -> None:
        """Mark sent holds delivered (after the broker acknowledged them): a later alert sends nothing."""
        if hold_ids:
            await self._store.mark_delivered(hold_ids)
