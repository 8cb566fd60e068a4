"""Grouping: related alerts become one incident for the people paged.

A noisy incident (a merchant breach that trips the velocity detector on two
hundred customers) should page once, not two hundred times. Alerts whose
``group_by`` fields are equal form one group, and the group is what
receivers see (its key is PagerDuty's ``dedup_key``):

* the first alert of a quiet group triggers a notification at once;
* alerts joining a group notified less than ``group_interval`` ago are
  ``grouped``: published to the feed, and announced together by the next
  ``new_alerts_in_group`` notification, which :func:`flush` sends once the
  interval has passed;
* an alert whose level is above what the group was last notified at (the
  first critical of a group of warnings) notifies at once; other level
  changes join the next group notification; a repeat notifies again;
* a member's resolution resolves the group's incident when it was the last
  firing member; otherwise it is told with the group's next notification;
* an acknowledgement acknowledges the incident once every firing member is
  acknowledged.

``group_by: [dedup_key]`` makes every alert its own group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from riskmon.alerting.matchers import field_value
from riskmon.alerting.model import GroupState, Item, Notification, Reason, notification_id
from riskmon.detectors.base import utc
from riskmon.schemas import Alert, format_timestamp
from riskmon.schemas.vocab import LEVELS

__all__ = ["GroupStage", "group_key", "flush"]


def group_key(alert: Alert, group_by: Iterable[str]) -> str:
    """``grp-`` + a short hash of the grouping fields' values; readable fields stay in the notification.

    >>> from riskmon.detectors import build_alert
    >>> a = build_alert(detector="cash_24h", subject={"kind": "customer", "id": "c-1"}, level="warning",
    ...                 status="firing", summary="s", started_at=0, updated_at=0, config_version="v")
    >>> group_key(a, ["dedup_key"])
    'cash_24h:customer:c-1'
    >>> group_key(a, ["detector"])
    'grp-cash_24h-1ccdea08'
    """
    fields = list(group_by)
    if fields == ["dedup_key"]:
        return alert.dedup_key
    values = [f"{name}={field_value(alert, name) or ''}" for name in fields]
    digest = hashlib.sha256("|".join(values).encode()).hexdigest()[:8]
    readable = alert.detector if "detector" in fields else "alerts"
    return f"grp-{readable}-{digest}"


def _notify(ctx: Any, group: GroupState, action: str, reason: Reason, trigger: Alert | None) -> GroupState:
    """Queue one notification for ``group`` and mark its notified members."""
    sequence = group.sequence + 1
    members = [ctx.states[k].alert for k in sorted(group.members) if k in ctx.states]
    shown = members + ([trigger] if trigger is not None and trigger.dedup_key not in group.members else [])
    level = max((a.level for a in shown), key=LEVELS.index, default=trigger.level if trigger else "info")
    firing = [a for a in shown if a.status == "firing"]
    head = trigger or (firing[0] if firing else shown[0])
    if action == "resolve":
        summary = f"resolved: {head.summary}"
    elif len(firing) > 1:
        summary = f"{len(firing)} alerts firing ({head.detector}): {head.summary}"
    else:
        summary = head.summary
    ctx.notifications.append(
        Notification(
            notification_id=notification_id(group.group_key, action, sequence),
            group_key=group.group_key,
            action=action,
            reason=reason.value,
            level=level,
            summary=summary[:1024],
            created_at=format_timestamp(utc(ctx.now)),
            alerts=tuple(a.to_dict() for a in shown),
            acknowledged_by=head.acknowledged_by if action == "acknowledge" else None,
        )
    )
    for a in shown:
        state = ctx.states.get(a.dedup_key)
        if state is not None and a.status == "firing":
            ctx.states[a.dedup_key] = replace(
                state, notified=True, last_notified_at=ctx.now, notified_level=a.level, suppressed_by=None
            )
    return replace(
        group,
        sequence=sequence,
        last_notified_at=ctx.now,
        pending=frozenset(),
        open=action != "resolve",
        level=None if action == "resolve" else level,
    )


class GroupStage:
    """Turn notifying items into group notifications (see module doc)."""

    def exec(self, ctx: Any, items: list[Item]) -> list[Item]:
        for item in items:
            if item.reason is None or not item.reason.publishes:
                continue
            key = group_key(item.alert, ctx.config.group_by)
            item.alert = replace(item.alert, group_key=key)
            state = ctx.states.get(item.alert.dedup_key)
            if state is not None:
                ctx.states[item.alert.dedup_key] = replace(state, alert=item.alert)
            if item.reason.notifies or item.reason is Reason.UNNOTIFIED_RESOLVED:
                self._one(ctx, item, key)
        return items

    def _one(self, ctx: Any, item: Item, key: str) -> None:
        a = item.alert
        group = ctx.groups.get(key) or GroupState(group_key=key)
        recent = group.last_notified_at is not None and ctx.now - group.last_notified_at < ctx.config.group_interval
        if a.status == "resolved":
            members = group.members - {a.dedup_key}
            group = replace(group, members=members, pending=group.pending - {a.dedup_key})
            if item.reason is Reason.UNNOTIFIED_RESOLVED:
                ctx.groups[key] = group
            elif members or not group.open:
                item.decide(
                    Reason.GROUPED, f"group {key} still has {len(members)} firing" if members else "group not open"
                )
                ctx.groups[key] = group
            else:
                ctx.groups[key] = _notify(ctx, group, "resolve", Reason.RESOLVED, a)
            return
        if item.reason is Reason.ACKNOWLEDGED:
            unacked = [k for k in group.members if k in ctx.states and not ctx.states[k].alert.acknowledged_by]
            if unacked or not group.open:
                item.decide(Reason.GROUPED, f"{len(unacked)} firing alerts of group {key} not acknowledged yet")
            else:
                ctx.groups[key] = _notify(ctx, group, "acknowledge", Reason.ACKNOWLEDGED, a)
            return
        group = replace(group, members=group.members | {a.dedup_key})
        rises = group.level is None or LEVELS.index(a.level) > LEVELS.index(group.level)
        if item.reason in (Reason.FIRST, Reason.LEVEL_CHANGED) and group.open and recent and not rises:
            item.decide(
                Reason.GROUPED,
                f"joins group {key} (at {group.level} already), notified {ctx.now - group.last_notified_at:.0f}s ago",
            )
            ctx.groups[key] = replace(group, pending=group.pending | {a.dedup_key})
            return
        assert item.reason is not None  # every item arrives here with the dedup stage's reason
        ctx.groups[key] = _notify(ctx, group, "trigger", item.reason, a)


def flush(ctx: Any) -> None:
    """Announce alerts that joined groups since their last notification, once ``group_interval`` passed."""
    for key, group in list(ctx.groups.items()):
        if not group.pending or group.last_notified_at is None:
            continue
        if ctx.now - group.last_notified_at < ctx.config.group_interval:
            continue
        live = frozenset(k for k in group.pending if k in ctx.states and ctx.states[k].firing)
        if not live:
            ctx.groups[key] = replace(group, pending=frozenset())
            continue
        ctx.groups[key] = _notify(ctx, replace(group, pending=live), "trigger", Reason.NEW_IN_GROUP, None)
