"""The alert manager's agent: detector candidates and operators' controls in; feed and notifications out.

Detectors on every worker send candidates to the internal, single-partition
``risk.alerts.candidates`` topic (keyed by dedup key), where commands
(acknowledge, silence, expire) also arrive, so one manager sees everything
in one order. For each batch it runs :class:`riskmon.alerting.AlertManager`,
publishes every state change to ``risk.alerts`` (the contract's feed) and
every group notification to ``risk.notifications`` (for the receivers'
consumers), waits for the broker's acknowledgements, and only then commits
the new state in memory and in Redis. A crash in between replays the batch:
same ids, and receivers dedupe by the group key.

Input that is not a candidate or a command goes to the dead-letter topic.

Resolved alerts are kept a week (Redis) so that a late duplicate of a
candidate is still recognised, but only the newest
:data:`RESOLVED_IN_MEMORY` are kept in memory. Older ones are *spilled*:
written to Redis once more and dropped from memory, with their key and time
kept in a small index. A candidate for a spilled key brings its state back
from Redis before the batch is processed, so the manager decides exactly as
if it had never left. Why: one resolved anomaly per customer for a week was
most of the worker's growing memory in the 1M-event run (a state costs
roughly 1.5 KB in memory by tracemalloc's allocation sites, an index entry a
key and a float, roughly 100 bytes; estimates, not measured one by one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson

from riskmon.alerting.clock import EventClock, alert_event_time
from riskmon.alerting.config import AlertingConfig
from riskmon.alerting.holds import HoldIssuer
from riskmon.alerting.manager import Acknowledge, AddSilence, AlertManager, ExpireSilence, Outcome
from riskmon.alerting.metrics import AlertMetrics
from riskmon.alerting.silences import Silence
from riskmon.alerting.state_store import AlertStateStore
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send, oldest_timestamp
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.schemas import Alert, dumps

__all__ = ["AlertManagerHandler", "parse_control"]

log = logging.getLogger(__name__)

#: Resolved alert states kept in memory; beyond it the oldest are spilled to Redis only.
RESOLVED_IN_MEMORY = 2_000
#: How long resolved alerts (and closed incidents) are remembered at all.
KEEP_RESOLVED_S = 7 * 86400.0


def parse_control(doc: dict) -> Acknowledge | AddSilence | ExpireSilence:
    """A command from ``riskmon ack`` / ``riskmon silence`` / the console / a pager webhook."""
    kind = doc["control"]
    if kind == "ack":
        return Acknowledge(
            dedup_key=str(doc["dedup_key"]), by=str(doc["by"]), at=float(doc["at"]), comment=str(doc.get("comment", ""))
        )
    if kind == "silence":
        return AddSilence(Silence.from_dict(doc["silence"]))
    if kind == "expire_silence":
        return ExpireSilence(silence_id=str(doc["silence_id"]), by=str(doc["by"]), at=float(doc["at"]))
    raise ValueError(f"unknown control {kind!r}")


def _decode(message: Incoming) -> Alert | Acknowledge | AddSilence | ExpireSilence:
    doc = orjson.loads(message.value or b"")
    if not isinstance(doc, dict):
        raise ValueError("an alert candidate or command must be a JSON object")
    if "control" in doc:
        return parse_control(doc)
    return Alert.from_dict(doc)


class AlertManagerHandler(BatchHandler):
    """Runs the manager over batches and on timer ticks; state loaded lazily from Redis."""

    def __init__(
        self,
        *,
        config: AlertingConfig,
        store: AlertStateStore,
        send: Send,
        alerts_topic: str,
        notifications_topic: str,
        deadletter_topic: str,
        metrics: WorkerMetrics,
        alert_metrics: AlertMetrics,
        clock: EventClock | None = None,
        holds: HoldIssuer | None = None,
    ) -> None:
        super().__init__(send=send, deadletter_topic=deadletter_topic, metrics=metrics)
        self._holds = holds
        self._config = config
        self._store = store
        self._alerts_topic = alerts_topic
        self._notifications_topic = notifications_topic
        self._alert_metrics = alert_metrics
        self._clock = clock or EventClock()
        self._manager = AlertManager(config)
        self._loaded = False
        self._lock = asyncio.Lock()
        self._pruned_at = 0.0
        self._spilled: dict[str, float] = {}  # dedup key -> updated_at of a resolved state in Redis only
        self._kept_resolved = 0  # resolved states left in memory by the last spill

    @property
    def manager(self) -> AlertManager:
        return self._manager

    def forget(self) -> None:
        """The partition moved away: reload from Redis if it comes back (another worker may have changed it)."""
        self._loaded = False

    async def _load(self) -> None:
        if self._loaded:
            return
        saved = await self._store.load()
        self._manager = AlertManager(self._config)
        self._spilled, self._kept_resolved = {}, 0
        if saved is not None:
            states, groups, silences = saved
            self._manager.states.update(states)
            self._manager.groups.update(groups)
            self._manager.silences.update(silences)
            log.info(
                "alert manager resumed %d alerts, %d groups, %d silences from Redis",
                len(states),
                len(groups),
                len(silences),
            )
            await self._spill(rewrite=False)  # just read from Redis: no need to write them back
        self._loaded = True

    async def _spill(self, *, rewrite: bool = True) -> None:
        """Keep at most :data:`RESOLVED_IN_MEMORY` resolved states in memory (see the module doc).

        Spills down to half the limit, so the scan runs once per thousand
        resolutions, not per batch. A state in a group's members or pending is
        kept: the group's next notification lists it. ``rewrite``: save the
        states first, so Redis has them even if an earlier save failed; if
        that save fails, nothing is spilled. Either way the next scan waits
        for half the limit more resolutions than were kept, so states that
        cannot be spilled (grouped, or Redis down) do not cost a scan per batch.
        """
        states = self._manager.states
        resolved_now = len(states) - len(states.firing())
        if resolved_now <= max(RESOLVED_IN_MEMORY, self._kept_resolved + RESOLVED_IN_MEMORY // 2):
            return
        self._kept_resolved = resolved_now
        grouped: set[str] = set()
        for group in self._manager.groups.values():
            grouped.update(group.members, group.pending)
        resolved = sorted(
            (state.alert.updated_at.timestamp(), key)
            for key, state in states.items()
            if not state.firing and key not in grouped
        )
        out = resolved[: max(0, len(resolved) - RESOLVED_IN_MEMORY // 2)]
        if not out:
            return
        if rewrite and not await self._store.save({key: states[key] for _, key in out}, {}, {}):
            return
        for at, key in out:
            del states[key]
            self._spilled[key] = at
        self._kept_resolved = resolved_now - len(out)

    async def _restore(self, inputs: Sequence[Any]) -> None:
        """Bring back from Redis the spilled states this batch's candidates and acknowledgements name."""
        wanted = sorted(
            {i.dedup_key for i in inputs if isinstance(i, (Alert, Acknowledge)) and i.dedup_key in self._spilled}
        )
        if not wanted:
            return
        for key in wanted:
            del self._spilled[key]  # from here on, memory (restored or new) is the state's copy
        found = await self._store.states(wanted)
        if found is None:
            log.warning(
                "%d spilled alert states not restored (Redis unavailable): a repeat may notify again", len(wanted)
            )
            return
        self._manager.states.update(found)

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        async with self._lock:
            await self._load()
            inputs = []
            for message in batch:
                try:
                    item = _decode(message)
                except Exception as exc:  # bad input: kept with its bytes, never dropped
                    await (await self._deadletter(message, exc))
                    continue
                if isinstance(item, Alert) and (at := alert_event_time(item)) is not None:
                    self._clock.observe(at)
                inputs.append(item)
            await self._restore(inputs)
            customers = sorted({i.subject.id for i in inputs if isinstance(i, Alert) and i.subject.kind == "customer"})
            exposures, book = await self._store.exposures(customers)
            outcome = self._manager.process(
                inputs, self._clock.now(), exposures=exposures, portfolio_exposure=book, wall=time.time()
            )
            await self._emit(outcome, oldest_timestamp(batch))

    async def tick(self) -> None:
        """Quiet-period resolutions and grouped announcements; called by a timer on the manager's worker."""
        async with self._lock:
            await self._load()
            now = self._clock.now()
            outcome = self._manager.tick(now, wall=time.time())
            if outcome.published or outcome.notifications or outcome.states or outcome.groups:
                await self._emit(outcome)
            if now - self._pruned_at > 3600:
                self._pruned_at = now
                stale, closed = self._manager.prune(now, keep=KEEP_RESOLVED_S)
                gone = [key for key, at in self._spilled.items() if now - at > KEEP_RESOLVED_S]
                for key in gone:
                    del self._spilled[key]
                await self._store.forget(stale + gone, closed)
            self._export_open()

    async def _emit(self, outcome: Outcome, oldest: float | None = None) -> None:
        futures = []
        for alert in outcome.published:
            record = alert.to_dict()
            futures.append(await self._send(self._alerts_topic, alert.dedup_key.encode(), dumps(record)))
            self._metrics.alerted(alert.detector, alert.level, alert.status)
        for n in outcome.notifications:
            futures.append(await self._send(self._notifications_topic, n.group_key.encode(), dumps(n.to_dict())))
            self._alert_metrics.sent.labels(action=n.action, routed=str(bool(n.receivers)).lower()).inc()
        # holds go out with the alerts, before the state is saved: a crash before the save
        # brings the alert again, and with it the same holds (the decision store sends them once)
        hold_ids: list[str] = []
        if self._holds is not None:
            hold_futures, hold_ids = await self._holds.issue(outcome.published)
            futures += hold_futures
        for future in futures:
            await future
        self._manager.commit(outcome)  # only now: the broker has every message of this outcome
        for key, reason, note in outcome.decisions:
            self._alert_metrics.decided(reason)
            log.info("alert %s: %s%s", key, reason.value, f" ({note})" if note else "")
        for text in outcome.ignored:
            log.warning("alert command ignored: %s", text)
        for n in outcome.notifications:
            log.info(
                "notification %s %s %s -> %s", n.action, n.group_key, n.reason, ",".join(n.receivers) or "no receiver"
            )
        profiles = [
            (a.subject.id, a.detector, a.level if a.status == "firing" else None)
            for a in outcome.published
            if a.subject.kind == "customer"
        ]
        await self._store.save(outcome.states, outcome.groups, outcome.silences, profiles=profiles, oldest=oldest)
        if profiles:
            self._metrics.profile_written("alerts", oldest)
        if self._holds is not None:
            await self._holds.confirm(hold_ids)
        await self._spill()

    def _export_open(self) -> None:
        counts = {"info": 0, "warning": 0, "critical": 0}
        for state in self._manager.states.values():
            if state.firing:
                counts[state.alert.level] += 1
        for level, n in counts.items():
            self._alert_metrics.open_alerts.labels(level=level).set(n)
