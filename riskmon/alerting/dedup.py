"""Dedup: one open alert per ``dedup_key``; repeats update it instead of creating alerts.

This is the notification log (Alertmanager's ``nflog``): it remembers, per
key, the open alert and when receivers last heard of it, and gives every
candidate a :class:`~riskmon.alerting.model.Reason`:

========================================  ===============================
candidate vs. what is open                reason
========================================  ===============================
the same candidate again (a redelivery)   duplicate (dropped)
firing, nothing open                      first_notification
firing, open, level differs               level_changed
firing, open, repeat interval elapsed     repeat_interval_elapsed
firing, open, was muted, may be no more   first_notification (re-checked)
firing, open, otherwise                   duplicate (count and updated_at grow)
resolved, open and notified               resolved
resolved, open, never notified            resolved_without_notification
resolved, nothing open                    duplicate (dropped)
========================================  ===============================

Published alerts keep the episode's ``started_at``; ``count`` is the number
of candidates the open alert has absorbed; ``alert_id`` is deterministic
(the detector's id for first/level/resolution messages, suffixed by reason
and count for the others), so a replayed stream publishes the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from riskmon.alerting.model import AlertState, Item, Reason
from riskmon.detectors.base import epoch
from riskmon.detectors.candidates import alert_id
from riskmon.schemas import Alert

__all__ = ["DedupStage", "published_id"]


def published_id(alert: Alert, reason: Reason) -> str:
    """The id of the message that publishes ``alert`` for ``reason``.

    >>> from riskmon.detectors import build_alert
    >>> a = build_alert(detector="d", subject={"kind": "portfolio", "id": "all"}, level="warning",
    ...                 status="firing", summary="s", started_at=0, updated_at=5, config_version="v", count=3)
    >>> published_id(a, Reason.FIRST) == a.alert_id, published_id(a, Reason.REPEAT) == a.alert_id
    (True, False)
    """
    base = alert_id(alert.dedup_key, epoch(alert.started_at), alert.level, alert.status)
    if reason in (Reason.FIRST, Reason.LEVEL_CHANGED, Reason.RESOLVED, Reason.UNNOTIFIED_RESOLVED):
        return base
    return "alt-" + hashlib.sha256(f"{base}|{reason.value}|{alert.count}".encode()).hexdigest()[:32]


class DedupStage:
    """Decide each candidate's reason against the open alert of its key (see module doc)."""

    def exec(self, ctx: Any, items: list[Item]) -> list[Item]:
        for item in items:
            self._one(ctx, item)
        return items

    def _one(self, ctx: Any, item: Item) -> None:
        cand = item.alert
        key = cand.dedup_key
        state: AlertState | None = ctx.states.get(key)
        if state is not None and state.candidate_id == cand.alert_id and cand.updated_at <= state.alert.updated_at:
            item.decide(Reason.DUPLICATE, "the same candidate again (redelivered)")
            return
        if cand.status == "resolved":
            self._resolved(ctx, item, state)
            return
        if state is None or not state.firing:
            merged = replace(cand, count=1, acknowledged_by=None, acknowledged_at=None, suppressed_by=None)
            self._write(ctx, item, merged, Reason.FIRST, state=None, candidate_id=cand.alert_id)
            return
        open_ = state.alert
        merged = replace(
            cand,
            started_at=open_.started_at,
            updated_at=max(open_.updated_at, cand.updated_at),
            count=open_.count + 1,
            acknowledged_by=open_.acknowledged_by,
            acknowledged_at=open_.acknowledged_at,
        )
        if cand.level != open_.level:
            reason, note = Reason.LEVEL_CHANGED, f"{open_.level} -> {cand.level}"
        elif (
            state.notified
            and state.last_notified_at is not None
            and ctx.now - state.last_notified_at >= ctx.config.repeat_interval
        ):
            reason, note = Reason.REPEAT, f"last notified {ctx.now - state.last_notified_at:.0f}s ago"
        elif not state.notified and state.suppressed_by is not None:
            reason, note = Reason.FIRST, f"was {state.suppressed_by}; checking again"
        else:
            reason, note = Reason.DUPLICATE, f"open since {open_.started_at.isoformat()}, count {merged.count}"
        self._write(ctx, item, merged, reason, state=state, candidate_id=cand.alert_id, note=note)

    def _resolved(self, ctx: Any, item: Item, state: AlertState | None) -> None:
        if state is None or not state.firing:
            item.decide(Reason.DUPLICATE, "nothing open to resolve")
            return
        open_ = state.alert
        merged = replace(
            open_,
            status="resolved",
            summary=item.alert.summary,
            value=item.alert.value,
            updated_at=max(open_.updated_at, item.alert.updated_at),
            suppressed_by=None,
        )
        reason = Reason.RESOLVED if state.notified else Reason.UNNOTIFIED_RESOLVED
        self._write(ctx, item, merged, reason, state=state, candidate_id=item.alert.alert_id)

    @staticmethod
    def _write(
        ctx: Any,
        item: Item,
        merged: Alert,
        reason: Reason,
        *,
        state: AlertState | None,
        candidate_id: str,
        note: str = "",
    ) -> None:
        merged = replace(merged, alert_id=published_id(merged, reason), notification=reason.value)
        item.alert = merged
        item.decide(reason, note)
        base = state or AlertState(alert=merged, candidate_id=candidate_id)
        ctx.states[merged.dedup_key] = replace(base, alert=merged, candidate_id=candidate_id)
