"""PagerDuty Events API v2: trigger, acknowledge and resolve, keyed by the group's ``dedup_key``.

PagerDuty keeps one open incident per ``dedup_key``: a trigger repeated for
an open key is appended to it, which is what makes re-sent notifications
(a retry, a replay after Redis was wiped) harmless. Only identifiers and
summaries leave: no personal data is in a notification to begin with.
"""

from __future__ import annotations

import orjson

from riskmon.alerting.model import Notification
from riskmon.alerting.receivers.http import Request

__all__ = ["pagerduty_request", "pagerduty_event"]

_SEVERITY = {"info": "info", "warning": "warning", "critical": "critical"}
_DETAIL_FIELDS = (
    "dedup_key",
    "level",
    "status",
    "detector",
    "summary",
    "count",
    "started_at",
    "updated_at",
    "value",
    "threshold",
    "window",
    "acknowledged_by",
    "suppressed_by",
)


def pagerduty_event(n: Notification, routing_key: str) -> dict:
    """The Events API v2 body of ``n``.

    >>> n = Notification(notification_id="ntf-1", group_key="grp-x", action="resolve", reason="resolved",
    ...                  level="critical", summary="s", created_at="2026-11-29T14:38:26Z", alerts=())
    >>> pagerduty_event(n, "R0UT1NG")
    {'routing_key': 'R0UT1NG', 'event_action': 'resolve', 'dedup_key': 'grp-x'}
    """
    event: dict = {"routing_key": routing_key, "event_action": n.action, "dedup_key": n.group_key}
    if n.action != "trigger":
        return event
    head = n.alerts[0] if n.alerts else {}
    subject = head.get("subject") or {}
    event["payload"] = {
        "summary": n.summary[:1024],
        "source": "riskmon",
        "severity": _SEVERITY[n.level],
        "timestamp": n.created_at,
        "component": head.get("detector", "riskmon"),
        "group": subject.get("kind", "riskmon"),
        "class": head.get("detector", "alert"),
        "custom_details": {
            "reason": n.reason,
            "notification_id": n.notification_id,
            "alerts": [{k: a.get(k) for k in _DETAIL_FIELDS if a.get(k) is not None} for a in n.alerts],
        },
    }
    links = [{"href": a["runbook_url"], "text": "runbook"} for a in n.alerts if a.get("runbook_url")]
    if links:
        event["links"] = links[:1]
    return event


def pagerduty_request(n: Notification, url: str, *, routing_key: str) -> Request:
    return Request(url=url, body=orjson.dumps(pagerduty_event(n, routing_key)))
