"""The alerting pipeline's vocabulary: reasons, per-alert state, items, notifications.

Why a reason and not a bool: an on-call engineer who was not paged must be
able to find out why (silenced by whom, inhibited by which critical alert,
folded into which group). Every item leaves the pipeline with exactly one
:class:`Reason`, which is logged and counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from riskmon.schemas import Alert

__all__ = ["Reason", "AlertState", "GroupState", "Item", "Notification", "ACTIONS", "notification_id"]


class Reason(str, Enum):  # noqa: UP042 - a StrEnum would change str(reason) in logs
    """Why an alert candidate was (or was not) published and notified."""

    FIRST = "first_notification"
    REPEAT = "repeat_interval_elapsed"
    LEVEL_CHANGED = "level_changed"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    DUPLICATE = "duplicate"
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    GROUPED = "grouped"
    NEW_IN_GROUP = "new_alerts_in_group"
    UNNOTIFIED_RESOLVED = "resolved_without_notification"

    def __str__(self) -> str:
        return self.value

    @property
    def publishes(self) -> bool:
        """Whether the alert's new state goes to ``risk.alerts`` (the feed)."""
        return self is not Reason.DUPLICATE

    @property
    def notifies(self) -> bool:
        """Whether receivers (pagers, webhooks) hear about it."""
        return self in (
            Reason.FIRST,
            Reason.REPEAT,
            Reason.LEVEL_CHANGED,
            Reason.RESOLVED,
            Reason.ACKNOWLEDGED,
            Reason.NEW_IN_GROUP,
        )


@dataclass(frozen=True)
class AlertState:
    """What the manager knows about one ``dedup_key``: the open (or last) alert and its notifications.

    ``alert`` is the open alert (contract fields, with its acknowledgement and
    group key); the other fields are the notification log of this key. Frozen: stages replace, never mutate,
    so a batch's changes can be dropped if its sends fail.
    """

    alert: Alert
    candidate_id: str
    notified: bool = False
    last_notified_at: float | None = None
    notified_level: str | None = None
    suppressed_by: str | None = None  # the mute last published; the alert's own field is per message

    @property
    def firing(self) -> bool:
        return self.alert.status == "firing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert.to_dict(),
            "candidate_id": self.candidate_id,
            "notified": self.notified,
            "last_notified_at": self.last_notified_at,
            "notified_level": self.notified_level,
            "suppressed_by": self.suppressed_by,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertState:
        return cls(
            alert=Alert.from_dict(d["alert"]),
            candidate_id=d["candidate_id"],
            notified=bool(d.get("notified")),
            last_notified_at=d.get("last_notified_at"),
            notified_level=d.get("notified_level"),
            suppressed_by=d.get("suppressed_by"),
        )


@dataclass(frozen=True)
class GroupState:
    """One notification group: the incident receivers see (PagerDuty's ``dedup_key``).

    ``members`` are the dedup keys firing in the group; ``pending`` those that
    joined since the group's last notification and wait for the next one.
    """

    group_key: str
    members: frozenset[str] = frozenset()
    pending: frozenset[str] = frozenset()
    open: bool = False
    last_notified_at: float | None = None
    sequence: int = 0
    receivers: frozenset[str] = frozenset()
    level: str | None = None  # the level receivers were last told, None when no incident is open

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "receivers": sorted(self.receivers),
            "group_key": self.group_key,
            "members": sorted(self.members),
            "pending": sorted(self.pending),
            "open": self.open,
            "last_notified_at": self.last_notified_at,
            "sequence": self.sequence,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroupState:
        return cls(
            group_key=d["group_key"],
            members=frozenset(d.get("members", ())),
            pending=frozenset(d.get("pending", ())),
            open=bool(d.get("open")),
            last_notified_at=d.get("last_notified_at"),
            sequence=int(d.get("sequence", 0)),
            receivers=frozenset(d.get("receivers", ())),
            level=d.get("level"),
        )


@dataclass
class Item:
    """One alert candidate on its way through the stages."""

    alert: Alert
    reason: Reason | None = None
    suppressed_by: str | None = None
    note: str = ""

    def decide(self, reason: Reason, note: str = "", suppressed_by: str | None = None) -> Item:
        self.reason = reason
        if note:
            self.note = note
        if suppressed_by is not None:
            self.suppressed_by = suppressed_by
        return self

    def with_alert(self, alert: Alert) -> Item:
        return replace(self, alert=alert)


#: What a notification asks a receiver to do with the group's incident.
ACTIONS = ("trigger", "acknowledge", "resolve")


def notification_id(group_key: str, action: str, sequence: int) -> str:
    """Deterministic, so a re-sent notification carries the same idempotency key."""
    material = f"{group_key}|{action}|{sequence}"
    return "ntf-" + hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Notification:
    """What receivers get: one group's incident, triggered, acknowledged or resolved.

    ``alerts`` are the group's member alerts (firing ones, plus the one that
    just resolved); ``receivers`` come from routing.
    """

    notification_id: str
    group_key: str
    action: str
    reason: str
    level: str
    summary: str
    created_at: str
    alerts: tuple[dict[str, Any], ...]
    receivers: tuple[str, ...] = field(default=())
    acknowledged_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "group_key": self.group_key,
            "action": self.action,
            "reason": self.reason,
            "level": self.level,
            "summary": self.summary,
            "created_at": self.created_at,
            "alerts": list(self.alerts),
            "receivers": list(self.receivers),
            "acknowledged_by": self.acknowledged_by,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Notification:
        return cls(
            notification_id=d["notification_id"],
            group_key=d["group_key"],
            action=d["action"],
            reason=d["reason"],
            level=d["level"],
            summary=d["summary"],
            created_at=d["created_at"],
            alerts=tuple(d.get("alerts", ())),
            receivers=tuple(d.get("receivers", ())),
            acknowledged_by=d.get("acknowledged_by"),
        )
