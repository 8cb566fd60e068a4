"""Operators' commands to the alert manager: acknowledge, silence, expire a silence.

Commands travel on the alert manager's own input topic (``risk.alerts.candidates``),
so they are ordered with the alerts they act on, survive a manager restart,
and work whichever worker runs the manager. The command line, the console
and the pager webhook all build them here.

>>> doc = ack_command("txn_velocity:customer:c-1", by="ops-anna", comment="calling the customer", at=1795963106.0)
>>> doc["control"], doc["by"]
('ack', 'ops-anna')
>>> silence_command("detector=txn_anomaly", duration="2h", author="ops-anna", comment="merchant outage",
...                 now=1795963106.0)["silence"]["ends_at"] - 1795963106.0
7200.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from riskmon.alerting.config import AlertingConfigError, parse_duration
from riskmon.alerting.silences import Silence, parse_matcher

__all__ = ["ack_command", "silence_command", "expire_command", "pager_acknowledgement", "CommandError"]

_ACTOR = re.compile(r"[A-Za-z0-9._:@-]{1,128}")


class CommandError(ValueError):
    """A command a user can fix (the message says how)."""


def _actor(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ACTOR.fullmatch(value):
        raise CommandError(f"{what} must be a user name of 1 to 128 characters from [A-Za-z0-9._:@-]")
    return value


def _comment(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CommandError("a reason (comment) is required")
    return value.strip()[:500]


def ack_command(key: str, *, by: str, comment: str = "", at: float) -> dict[str, Any]:
    """Acknowledge an alert (its dedup key) or an incident (its group key)."""
    if not isinstance(key, str) or not key or len(key) > 300:
        raise CommandError("name the alert by its dedup_key (or the incident by its group key)")
    return {"control": "ack", "dedup_key": key, "by": _actor(by, "--by"), "comment": str(comment)[:500], "at": at}


def silence_command(
    matcher: str, *, duration: str | float, author: str, comment: str, now: float, starts_at: float | None = None
) -> dict[str, Any]:
    """Mute alerts matching ``matcher`` (``field=value,...``) for ``duration`` from now."""
    try:
        parsed = parse_matcher(matcher)
        seconds = parse_duration(duration, "duration")
    except (ValueError, AlertingConfigError) as exc:
        raise CommandError(str(exc)) from None
    if seconds <= 0:
        raise CommandError("duration must be above zero")
    start = now if starts_at is None else starts_at
    silence = Silence.create(
        matcher=parsed,
        starts_at=start,
        ends_at=start + seconds,
        author=_actor(author, "author"),
        comment=_comment(comment),
        created_at=now,
    )
    return {"control": "silence", "silence": silence.to_dict()}


def expire_command(silence_id: str, *, by: str, at: float) -> dict[str, Any]:
    if not isinstance(silence_id, str) or not silence_id.startswith("sil-"):
        raise CommandError("name the silence by its id (sil-...), see `riskmon silence list`")
    return {"control": "expire_silence", "silence_id": silence_id, "by": _actor(by, "--by"), "at": at}


def pager_acknowledgement(body: Mapping[str, Any], *, at: float) -> dict[str, Any] | None:
    """An ack command from a pager's webhook, or None when the event is not an acknowledgement.

    Accepts ``{"dedup_key": ..., "by": ...}`` and PagerDuty-style webhooks
    (``{"event": {"event_type": "incident.acknowledged", "agent": {"summary": ...},
    "data": {"dedup_key" or "incident_key": ...}}}``): the key is the group key
    we sent as PagerDuty's ``dedup_key``.

    >>> pager_acknowledgement({"event": {"event_type": "incident.acknowledged", "agent": {"summary": "Ben"},
    ...                        "data": {"incident_key": "grp-cash_24h-1ccdea08"}}}, at=0.0)["dedup_key"]
    'grp-cash_24h-1ccdea08'
    """
    event = body.get("event")
    if isinstance(event, Mapping):
        if event.get("event_type") != "incident.acknowledged":
            return None
        data = event.get("data") or {}
        key = data.get("dedup_key") or data.get("incident_key")
        agent = (event.get("agent") or {}).get("summary") or "pager"
        by = "pager:" + re.sub(r"[^A-Za-z0-9._@-]", "_", str(agent))[:100]
        return ack_command(str(key or ""), by=by, comment="acknowledged on the pager", at=at)
    return ack_command(
        str(body.get("dedup_key") or ""), by=str(body.get("by") or "pager"), comment="acknowledged on the pager", at=at
    )
