"""Prometheus Alertmanager API v2: ``POST /api/v2/alerts`` with one entry per member alert.

Alertmanager does its own grouping and dedup by label set, so every member
of the group is sent with its labels (``alertname`` is the detector,
``severity`` the level, ``dedup_key`` the identity). A firing alert is sent
with ``endsAt`` one ``firing_ttl`` ahead (our repeat notifications renew it);
a resolved one with ``endsAt`` at its resolution. Alertmanager has no
acknowledgement, so acknowledge notifications are not sent to it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import orjson

from riskmon.alerting.model import Notification
from riskmon.alerting.receivers.http import Request
from riskmon.schemas import format_timestamp, parse_timestamp

__all__ = ["alertmanager_alerts", "alertmanager_request"]

_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def _label_name(name: str) -> str:
    name = _LABEL.sub("_", name)
    return name if name and not name[0].isdigit() else f"_{name}"


def alertmanager_alerts(n: Notification, *, firing_ttl: float) -> list[dict]:
    """The API v2 alert list of ``n`` (empty for an acknowledgement)."""
    if n.action == "acknowledge":
        return []
    out = []
    created = parse_timestamp(n.created_at, "created_at")
    for a in n.alerts:
        labels = {_label_name(k): str(v) for k, v in (a.get("labels") or {}).items()}
        labels.update(
            alertname=a["detector"],
            severity=a["level"],
            dedup_key=a["dedup_key"],
            subject_kind=a["subject"]["kind"],
            subject_id=a["subject"]["id"],
            group_key=n.group_key,
            source="riskmon",
        )
        annotations = {"summary": a["summary"]}
        for k in ("value", "threshold", "window", "runbook_url", "acknowledged_by"):
            if a.get(k) is not None:
                annotations[k] = str(a[k])
        resolved = a["status"] == "resolved"
        ends = parse_timestamp(a["updated_at"], "updated_at") if resolved else created + timedelta(seconds=firing_ttl)
        out.append(
            {
                "labels": labels,
                "annotations": annotations,
                "startsAt": a["started_at"],
                "endsAt": format_timestamp(ends),
            }
        )
    return out


def alertmanager_request(n: Notification, url: str, *, firing_ttl: float) -> Request | None:
    alerts = alertmanager_alerts(n, firing_ttl=firing_ttl)
    if not alerts:
        return None
    return Request(url=url.rstrip("/") + "/api/v2/alerts", body=orjson.dumps(alerts))
