"""Integrations: what each kind of receiver is sent, and how delivery is retried.

One module per integration builds its request from a
:class:`~riskmon.alerting.model.Notification` (pure functions, unit-tested);
:mod:`riskmon.alerting.receivers.http` classifies answers and spaces retries;
:mod:`riskmon.alerting.delivery` runs one consumer per receiver.
"""

from riskmon.alerting.receivers.alertmanager import alertmanager_request
from riskmon.alerting.receivers.http import Request, Response, backoff, classify
from riskmon.alerting.receivers.pagerduty import pagerduty_request
from riskmon.alerting.receivers.webhook import sign, verify, webhook_request

__all__ = [
    "Request",
    "Response",
    "alertmanager_request",
    "backoff",
    "classify",
    "pagerduty_request",
    "sign",
    "verify",
    "webhook_request",
]


def build_request(kind: str, notification, spec, secret: str | None, *, firing_ttl: float, now: float):  # type: ignore[no-untyped-def]
    """The request for one receiver ``spec`` of type ``kind``, or None when it has nothing to do with it."""
    if kind == "pagerduty":
        return pagerduty_request(notification, spec.url, routing_key=secret or "")
    if kind == "alertmanager":
        return alertmanager_request(notification, spec.url, firing_ttl=firing_ttl)
    if kind == "webhook":
        return webhook_request(notification, spec.url, secret=secret or "", now=now)
    raise ValueError(f"unknown receiver type {kind!r}")
