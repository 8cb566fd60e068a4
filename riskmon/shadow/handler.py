"""Shadow mode: a second configuration judged live on the same events, recorded and never acted on.

``RISKMON_SHADOW_CONFIG=path`` makes the worker also evaluate that
configuration's policy and detectors (:class:`riskmon.backtest.Evaluator`,
the code the offline backtest runs) on every application, transaction and
repayment it consumes, run its alerting section through an alert manager of
its own (in memory, on the same event-time clock as the live one), and write
what it would have done to ``risk.shadow`` (with the topic prefix), keyed by
application id, dedup key or group key, each wrapped as::

    {"shadow": true, "kind": "decision" | "candidate" | "alert" | "notification",
     "config_version": "<12 hex>", "active_policy_version": "<the live policy_version>",
     "record": {...}}

``decision`` is a ``credit.decisions`` event, ``candidate`` a detector's raw
candidate, ``alert`` what the manager would publish on ``risk.alerts`` and
``notification`` what it would send receivers on ``risk.notifications``.

What keeps the shadow harmless:

* its handler's only output is ``risk.shadow``: it is given no other topic,
  so nothing it computes can reach ``credit.decisions``, the alert topics
  (candidates, feed, notifications, hence no receiver), the audit trail or
  the dead-letter topic;
* it writes nothing to Redis: its detector and alert-manager state is in
  worker memory (per worker: exact with one worker, per-partition slices
  with several; a restart starts afresh), and it reads only the published
  models (the live learner's, with the shadow's own
  ``models.min_labels_to_decide`` and cut-offs; the shadow does not train);
* it never raises into the agent: a failure is logged and the live path
  goes on; invalid input is left to the live path's dead-letter topic;
* it runs as its own agents on the same topics (Faust fans each message out
  to both), so the live agents' code is untouched. The cost: every input is
  handled twice, and an input's offset is committed once both are done.

Redelivered applications are decided again here (the live path's duplicate
suppression lives in Redis): consumers of ``risk.shadow`` should keep the
last record per ``decision_id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from riskmon.alerting.clock import EventClock, alert_event_time
from riskmon.alerting.config import DEFAULTS
from riskmon.alerting.manager import AlertManager, Outcome
from riskmon.applications.scoring import ModelScorer
from riskmon.backtest.evaluator import Evaluator
from riskmon.config import ConfigError, RiskConfig, load_config
from riskmon.pipeline.messages import Incoming, Send, utcnow
from riskmon.schemas import Alert, Application, Repayment, SchemaError, Transaction, decode_object, dumps

__all__ = ["SHADOW_TICK_SECONDS", "SHADOW_TOPIC", "ShadowHandler", "load_shadow_config"]

log = logging.getLogger(__name__)

#: The shadow's only output topic (the deployment's prefix goes in front).
SHADOW_TOPIC = "risk.shadow"
#: Customers whose detector state the shadow keeps in memory (least recently seen dropped first).
MAX_CUSTOMERS = 50_000
#: Seconds between two runs of the shadow alert manager's timer.
SHADOW_TICK_SECONDS = 5.0


def load_shadow_config(path: str) -> RiskConfig:
    """The shadow configuration; an error names the variable, the file and the field."""
    try:
        return load_config(path)
    except ConfigError as exc:
        raise ConfigError("RISKMON_SHADOW_CONFIG", f"{path}: {exc}") from None


class ShadowHandler:
    """Evaluate batches under the shadow configuration; its only output is ``topic`` (see module doc)."""

    def __init__(
        self,
        *,
        config: RiskConfig,
        scorer: ModelScorer,
        send: Send,
        topic: str,
        active_policy_version: str,
        max_message_bytes: int,
        degraded: Callable[[], str | None] = lambda: None,
        wall_clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.evaluator = Evaluator(config, scorer, max_customers=MAX_CUSTOMERS)
        self.manager = AlertManager(config.alerting or DEFAULTS)
        self._clock = EventClock(wall=lambda: self._now().timestamp())
        self._lock = asyncio.Lock()
        self._scorer = scorer
        self._send = send
        self._topic = topic
        self._envelope = {
            "shadow": True,
            "config_version": config.version[:12],
            "active_policy_version": active_policy_version,
        }
        self._max_bytes = max_message_bytes
        self._degraded = degraded
        self._now = wall_clock
        self._mono = monotonic

    async def applications(self, batch: Sequence[Incoming]) -> None:
        await self._guard(self._applications, batch)

    async def transactions(self, batch: Sequence[Incoming]) -> None:
        await self._guard(self._transactions, batch)

    async def repayments(self, batch: Sequence[Incoming]) -> None:
        await self._guard(self._repayments, batch)

    async def _guard(self, work: Callable[[Sequence[Incoming]], Awaitable[None]], batch: Sequence[Incoming]) -> None:
        try:
            await work(batch)
        except Exception:  # the shadow must never cost the live path anything
            log.exception("shadow evaluation of a batch of %d failed; the live path is not affected", len(batch))

    def _valid(self, batch: Sequence[Incoming], kind: type[Transaction] | type[Repayment]) -> list[Any]:
        out = []
        for message in batch:
            try:
                out.append(kind.from_dict(decode_object(message.value, max_bytes=self._max_bytes)))
            except SchemaError:
                continue  # the live handler dead-letters it
        return out

    async def _applications(self, batch: Sequence[Incoming]) -> None:
        fresh: list[tuple[Incoming, Application]] = []
        seen: set[str] = set()
        for message in batch:
            try:
                application = Application.from_dict(decode_object(message.value, max_bytes=self._max_bytes))
            except SchemaError:
                continue
            if application.application_id not in seen:
                seen.add(application.application_id)
                fresh.append((message, application))
        if not fresh:
            return
        await self._scorer.refresh()
        degraded = self._degraded() or self.evaluator.model_hold
        latencies = [(self._mono() - m.received_monotonic) * 1000.0 for m, _ in fresh]
        evaluated = self.evaluator.decide(
            [a for _, a in fresh], decided_at=self._now(), latencies_ms=latencies, degraded=degraded
        )
        decisions = [e.decision for e in evaluated]
        records = [(d["application_id"], self._wrap("decision", d)) for d in decisions]
        await self._publish(records, self.evaluator.watch_decisions(decisions))

    async def _transactions(self, batch: Sequence[Incoming]) -> None:
        alerts: list[Alert] = []
        for tx in self._valid(batch, Transaction):
            alerts += self.evaluator.watch_transaction(tx)
        await self._publish([], alerts)

    async def _repayments(self, batch: Sequence[Incoming]) -> None:
        alerts: list[Alert] = []
        for repayment in self._valid(batch, Repayment):
            alerts += self.evaluator.watch_repayment(repayment)
        await self._publish([], alerts)

    async def tick(self) -> None:
        """The shadow manager's timer: quiet-period resolutions and grouped announcements."""
        await self._guard(lambda _: self._publish([], [], timer=True), [])

    def _wrap(self, kind: str, record: dict) -> bytes:
        return dumps({**self._envelope, "kind": kind, "record": record})

    def _manage(self, candidates: list[Alert], timer: bool) -> Outcome:
        if timer:
            return self.manager.tick(self._clock.now())
        for a in candidates:
            if (at := alert_event_time(a)) is not None:
                self._clock.observe(at)
        exposures, book = self.evaluator.exposures([a.subject.id for a in candidates if a.subject.kind == "customer"])
        return self.manager.process(candidates, self._clock.now(), exposures=exposures, portfolio_exposure=book)

    async def _publish(self, records: list[tuple[str, bytes]], candidates: list[Alert], *, timer: bool = False) -> None:
        # One outcome at a time: three agents and the timer share the manager, and an outcome is
        # computed on the committed state, so the next must wait for this one's commit.
        async with self._lock:
            records = records + [(a.dedup_key, self._wrap("candidate", a.to_dict())) for a in candidates]
            outcome = self._manage(candidates, timer) if candidates or timer else None
            if outcome is not None:
                records += [(a.dedup_key, self._wrap("alert", a.to_dict())) for a in outcome.published]
                holds = self.evaluator.on_published(outcome.published, now=self._now().timestamp())
                records += [(h["application_id"], self._wrap("decision", h)) for h in holds]
                records += [(n.group_key, self._wrap("notification", n.to_dict())) for n in outcome.notifications]
            futures = [await self._send(self._topic, key.encode(), value) for key, value in records]
            for future in futures:  # one wait per batch
                await future
            if outcome is not None:
                self.manager.commit(outcome)  # as live: state moves on once the broker has the messages
