"""Prometheus metrics of alerting: why each candidate was or was not notified, and deliveries.

Labels are bounded: reasons, receiver names from the configuration, results,
levels. Never a subject id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from riskmon.alerting.model import Reason

__all__ = ["AlertMetrics", "DELIVERY_RESULTS"]

#: delivered, retried (one failed attempt that will be retried), rejected (4xx,
#: dead-lettered), gave_up (retried past ``give_up_after``, dead-lettered),
#: skipped (already delivered, or nothing to send to this receiver type).
DELIVERY_RESULTS = ("delivered", "retried", "rejected", "gave_up", "skipped")


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "riskmon_alert_notifications_total",
            "Alert candidates by the alert manager's decision: "
            "first_notification, duplicate, silenced, inhibited, grouped...",
            ["reason"],
            registry=registry,
        )
        self.sent = Counter(
            "riskmon_alert_group_notifications_total",
            "Notifications of alert groups (incidents) produced for receivers, "
            "by action and whether any route matched.",
            ["action", "routed"],
            registry=registry,
        )
        self.deliveries = Counter(
            "riskmon_alert_deliveries_total",
            "Delivery attempts' outcomes per receiver.",
            ["receiver", "result"],
            registry=registry,
        )
        self.open_alerts = Gauge(
            "riskmon_alerts_open",
            "Alerts firing now, by level (on the worker running the alert manager).",
            ["level"],
            registry=registry,
        )
        self.backlog = Gauge(
            "riskmon_alert_delivery_backlog",
            "Notifications waiting for a receiver (its consumer group's lag on risk.notifications).",
            ["receiver"],
            registry=registry,
        )
        self._reason = {r: self.notifications.labels(reason=r.value) for r in Reason}

    def decided(self, reason: Reason) -> None:
        self._reason[reason].inc()
