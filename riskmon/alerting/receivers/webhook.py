"""A generic webhook: the notification as JSON, signed with HMAC-SHA256.

Headers: ``X-Riskmon-Timestamp`` (Unix seconds), ``X-Riskmon-Signature``
(``v1=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the shared
secret; the timestamp inside the signature stops replays of old bodies) and
``Idempotency-Key`` (the notification id: a receiver that sees it twice
processes it once). :func:`verify` is what a receiver runs.

>>> req = webhook_request_body(b'{"a":1}', secret="s3cret", now=1795963106)
>>> verify("s3cret", req["X-Riskmon-Timestamp"], b'{"a":1}', req["X-Riskmon-Signature"], now=1795963110)
True
>>> verify("wrong", req["X-Riskmon-Timestamp"], b'{"a":1}', req["X-Riskmon-Signature"], now=1795963110)
False
"""

from __future__ import annotations

import hashlib
import hmac

import orjson

from riskmon.alerting.model import Notification
from riskmon.alerting.receivers.http import Request

__all__ = ["sign", "verify", "webhook_request", "webhook_request_body"]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300.0) -> bool:
    """True when ``signature`` is ours for ``body`` and the timestamp is within ``tolerance`` of ``now``."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def webhook_request_body(body: bytes, *, secret: str, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {"X-Riskmon-Timestamp": timestamp, "X-Riskmon-Signature": sign(secret, timestamp, body)}


def webhook_request(n: Notification, url: str, *, secret: str, now: float) -> Request:
    body = orjson.dumps(n.to_dict())
    headers = {**webhook_request_body(body, secret=secret, now=now), "Idempotency-Key": n.notification_id}
    return Request(url=url, body=body, headers=headers)
