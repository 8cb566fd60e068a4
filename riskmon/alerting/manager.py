"""The alert manager: candidates in, feed updates and notifications out, through a list of stages.

Every stage has one shape, ``exec(ctx, items) -> items`` (Alertmanager's
``Stage``); the pipeline is the list :data:`STAGES`, and adding a stage
touches one file and this list:

1. :class:`~riskmon.alerting.grading.GradeStage`: level from detector level and subject weight;
2. :class:`~riskmon.alerting.dedup.DedupStage`: one open alert per dedup key, reasons;
3. :class:`~riskmon.alerting.inhibition.InhibitStage`: critical mutes lesser alerts on its subject;
4. :class:`~riskmon.alerting.silences.SilenceStage`: operators' silences;
5. :class:`~riskmon.alerting.grouping.GroupStage`: one incident per group for the people paged;
6. :class:`~riskmon.alerting.routing.RouteStage`: receivers by level and labels.

:class:`AlertManager` is pure: it takes the time as an argument and does no
I/O. It returns an :class:`Outcome` (alerts to publish, notifications to
send, each item's reason, and the state changes), and the caller commits
the changes only after the broker acknowledged the messages, so a crash in
between replays the batch instead of losing a page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace

from riskmon.alerting.config import AlertingConfig
from riskmon.alerting.context import Context
from riskmon.alerting.dedup import DedupStage, published_id
from riskmon.alerting.grading import GradeStage
from riskmon.alerting.grouping import GroupStage, flush
from riskmon.alerting.inhibition import InhibitStage
from riskmon.alerting.model import AlertState, GroupState, Item, Notification, Reason
from riskmon.alerting.routing import RouteStage
from riskmon.alerting.silences import Silence, SilenceStage
from riskmon.alerting.state_index import IndexedStates
from riskmon.detectors.base import epoch, format_duration, utc
from riskmon.detectors.candidates import alert_id
from riskmon.schemas import Alert

__all__ = ["AlertManager", "Acknowledge", "AddSilence", "ExpireSilence", "Outcome", "STAGES"]

STAGES = (GradeStage(), DedupStage(), InhibitStage(), SilenceStage(), GroupStage(), RouteStage())
_AFTER_DEDUP = (GroupStage(), RouteStage())


@dataclass(frozen=True)
class Acknowledge:
    """Someone (on the command line, the console or the pager) has taken an alert."""

    dedup_key: str
    by: str
    at: float
    comment: str = ""


@dataclass(frozen=True)
class AddSilence:
    silence: Silence


@dataclass(frozen=True)
class ExpireSilence:
    silence_id: str
    by: str
    at: float


Input = Alert | Acknowledge | AddSilence | ExpireSilence


@dataclass
class Outcome:
    """What one call produced; nothing is applied until :meth:`AlertManager.commit`."""

    published: list[Alert] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    decisions: list[tuple[str, Reason, str]] = field(default_factory=list)
    states: dict[str, AlertState] = field(default_factory=dict)
    groups: dict[str, GroupState] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


class AlertManager:
    """Pure alert lifecycle over committed state (see module doc)."""

    def __init__(
        self,
        config: AlertingConfig,
        *,
        states: MutableMapping[str, AlertState] | None = None,
        groups: MutableMapping[str, GroupState] | None = None,
        silences: MutableMapping[str, Silence] | None = None,
    ) -> None:
        self.config = config
        self.states: IndexedStates = IndexedStates(states or {})
        self.groups: MutableMapping[str, GroupState] = groups if groups is not None else {}
        self.silences: MutableMapping[str, Silence] = silences if silences is not None else {}

    # -- the three entry points ------------------------------------------------

    def process(
        self,
        inputs: Iterable[Input],
        now: float,
        *,
        exposures: Mapping[str, float] | None = None,
        portfolio_exposure: float | None = None,
        wall: float | None = None,
    ) -> Outcome:
        """Run candidates and control messages, in order, through the stages.

        ``now`` is the manager's clock (event time, see :mod:`riskmon.alerting.clock`);
        ``wall`` the operators' clock for silences (default: ``now``).
        """
        ctx, out = self._context(now, exposures, portfolio_exposure)
        ctx.wall = wall
        for message in inputs:
            if isinstance(message, Alert):
                self._run(ctx, out, [Item(alert=message)], STAGES)
            elif isinstance(message, Acknowledge):
                self._acknowledge(ctx, out, message)
            elif isinstance(message, AddSilence):
                out.silences[message.silence.id] = message.silence
                ctx.silences = {**ctx.silences, message.silence.id: message.silence}
            elif isinstance(message, ExpireSilence):
                current = ctx.silences.get(message.silence_id)
                if current is None:
                    out.ignored.append(f"no silence {message.silence_id} to expire")
                    continue
                expired = current.expire(message.at)
                out.silences[expired.id] = expired
                ctx.silences = {**ctx.silences, expired.id: expired}
        return self._finish(ctx, out)

    def tick(self, now: float, wall: float | None = None) -> Outcome:
        """Time passing: resolve point-in-time alerts that did not recur, announce grouped alerts."""
        ctx, out = self._context(now, None, None)
        ctx.wall = wall
        for key in self.states.firing():  # committed firing alerts only: nothing has been written in ctx yet
            state = ctx.states[key]
            after = self.config.resolve_after.get(state.alert.detector)
            if after is None or not state.firing or now - epoch(state.alert.updated_at) < after:
                continue
            a = state.alert
            resolved = replace(
                a,
                status="resolved",
                summary=f"{a.detector} on {a.subject.kind} {a.subject.id}: no recurrence for {format_duration(after)}",
                updated_at=utc(now),
                alert_id=alert_id(key, epoch(a.started_at), a.level, "resolved"),
            )
            self._run(ctx, out, [Item(alert=resolved)], STAGES)
        flush(ctx)
        RouteStage().exec(ctx, [])
        return self._finish(ctx, out)

    def prune(self, now: float, keep: float = 7 * 86400.0) -> tuple[list[str], list[str]]:
        """Forget alerts resolved, and incidents closed, more than ``keep`` seconds ago.

        Housekeeping on committed state, so memory and Redis do not grow with
        every customer ever alerted on. A pruned key that fires again starts a
        new alert, as it would anyway after its resolution.
        """
        stale = [k for k, s in self.states.items() if not s.firing and now - epoch(s.alert.updated_at) > keep]
        for key in stale:
            del self.states[key]
        closed = [
            k
            for k, g in self.groups.items()
            if not g.open and not g.members and (g.last_notified_at is None or now - g.last_notified_at > keep)
        ]
        for key in closed:
            del self.groups[key]
        return stale, closed

    def commit(self, outcome: Outcome) -> None:
        """Apply an outcome's state changes (after its messages were delivered)."""
        self.states.update(outcome.states)
        self.groups.update(outcome.groups)
        self.silences.update(outcome.silences)

    # -- internals -------------------------------------------------------------

    def _context(
        self, now: float, exposures: Mapping[str, float] | None, portfolio_exposure: float | None
    ) -> tuple[Context, Outcome]:
        ctx = Context.overlay(
            now,
            self.config,
            self.states,
            self.groups,
            silences=dict(self.silences),
            exposures=exposures or {},
            portfolio_exposure=portfolio_exposure,
        )
        return ctx, Outcome()

    @staticmethod
    def _run(ctx: Context, out: Outcome, items: list[Item], stages: Sequence[object]) -> None:
        for stage in stages:
            items = stage.exec(ctx, items)  # type: ignore[attr-defined]
        for item in items:
            assert item.reason is not None, "every item leaves the pipeline with a reason"
            if item.suppressed_by is not None and item.reason in (Reason.SILENCED, Reason.INHIBITED):
                item.alert = replace(
                    item.alert,
                    suppressed_by=item.suppressed_by,
                    notification=item.reason.value,
                    alert_id=published_id(item.alert, item.reason),
                )
                state = ctx.states[item.alert.dedup_key]
                ctx.states[item.alert.dedup_key] = replace(state, alert=item.alert, suppressed_by=item.suppressed_by)
            elif item.reason is Reason.GROUPED and item.alert.notification == Reason.FIRST.value:
                item.alert = replace(item.alert, notification=item.reason.value)
            if item.reason.publishes:
                out.published.append(item.alert)
            out.decisions.append((item.alert.dedup_key, item.reason, item.note))

    def _acknowledge(self, ctx: Context, out: Outcome, ack: Acknowledge) -> None:
        group = ctx.groups.get(ack.dedup_key)
        if group is not None and ack.dedup_key not in ctx.states:
            # The pager acknowledged the incident (the group): every firing member is taken.
            for member in sorted(group.members):
                self._acknowledge(ctx, out, replace(ack, dedup_key=member))
            return
        state = ctx.states.get(ack.dedup_key)
        if state is None or not state.firing:
            out.ignored.append(f"no firing alert {ack.dedup_key} to acknowledge")
            return
        if state.alert.acknowledged_by:
            out.decisions.append(
                (ack.dedup_key, Reason.DUPLICATE, f"already acknowledged by {state.alert.acknowledged_by}")
            )
            return
        acked = replace(
            state.alert, acknowledged_by=ack.by, acknowledged_at=utc(ack.at), notification=Reason.ACKNOWLEDGED.value
        )
        acked = replace(acked, alert_id=published_id(acked, Reason.ACKNOWLEDGED))
        ctx.states[ack.dedup_key] = replace(state, alert=acked)
        item = Item(
            alert=acked, reason=Reason.ACKNOWLEDGED, note=f"by {ack.by}" + (f": {ack.comment}" if ack.comment else "")
        )
        AlertManager._run(ctx, out, [item], _AFTER_DEDUP)

    @staticmethod
    def _finish(ctx: Context, out: Outcome) -> Outcome:
        out.notifications = list(ctx.notifications)
        out.states, out.groups = ctx.changes()
        return out
