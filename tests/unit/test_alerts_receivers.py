"""Receivers' requests and the delivery retry policy (no network: the HTTP poster is injected)."""

from __future__ import annotations

import random

import orjson
import pytest
from prometheus_client import CollectorRegistry

from riskmon.alerting.config import parse_alerting
from riskmon.alerting.delivery import ReceiverWorker
from riskmon.alerting.metrics import AlertMetrics
from riskmon.alerting.model import Notification
from riskmon.alerting.receivers import alertmanager_request, build_request, pagerduty_request, verify, webhook_request
from riskmon.alerting.receivers.http import Response, backoff, classify
from riskmon.detectors import build_alert

T0 = 1_795_963_106.0


def notification(action="trigger", status="firing"):
    a = build_alert(
        detector="cash_24h",
        subject={"kind": "customer", "id": "c-1"},
        level="critical",
        status=status,
        summary="cash 24h on customer c-1",
        started_at=T0,
        updated_at=T0 + 60,
        config_version="cfg",
        value=6000.0,
        threshold=5000.0,
        window="1d",
    )
    return Notification(
        notification_id="ntf-1",
        group_key="cash_24h:customer:c-1",
        action=action,
        reason="first_notification",
        level="critical",
        summary=a.summary,
        created_at="2026-11-29T14:39:26Z",
        alerts=(a.to_dict(),),
        receivers=("pd",),
    )


def test_pagerduty_trigger_carries_the_dedup_key_and_severity():
    event = orjson.loads(pagerduty_request(notification(), "http://pd/v2/enqueue", routing_key="RK").body)
    assert (event["event_action"], event["dedup_key"], event["routing_key"]) == (
        "trigger",
        "cash_24h:customer:c-1",
        "RK",
    )
    assert event["payload"]["severity"] == "critical" and event["payload"]["source"] == "riskmon"
    assert event["payload"]["custom_details"]["alerts"][0]["value"] == 6000.0


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_pagerduty_ack_and_resolve_are_bare(action):
    event = orjson.loads(pagerduty_request(notification(action), "http://pd", routing_key="RK").body)
    assert event == {"routing_key": "RK", "event_action": action, "dedup_key": "cash_24h:customer:c-1"}


def test_alertmanager_alerts_have_labels_and_end_times():
    firing = orjson.loads(alertmanager_request(notification(), "http://am:9093/", firing_ttl=3600).body)
    assert firing[0]["labels"]["alertname"] == "cash_24h" and firing[0]["labels"]["severity"] == "critical"
    assert firing[0]["endsAt"] == "2026-11-29T15:39:26.000Z"
    resolved = orjson.loads(
        alertmanager_request(notification("resolve", "resolved"), "http://am", firing_ttl=3600).body
    )
    assert resolved[0]["endsAt"] == "2026-11-29T14:39:26.000Z"  # the resolution (updated_at)
    assert alertmanager_request(notification("acknowledge"), "http://am", firing_ttl=60) is None


def test_webhook_is_signed_and_idempotent():
    req = webhook_request(notification(), "http://hook", secret="s3cret", now=T0)
    assert req.headers["Idempotency-Key"] == "ntf-1"
    assert verify(
        "s3cret", req.headers["X-Riskmon-Timestamp"], req.body, req.headers["X-Riskmon-Signature"], now=T0 + 10
    )
    assert not verify(
        "s3cret", req.headers["X-Riskmon-Timestamp"], req.body + b" ", req.headers["X-Riskmon-Signature"], now=T0
    )
    assert not verify(
        "s3cret", req.headers["X-Riskmon-Timestamp"], req.body, req.headers["X-Riskmon-Signature"], now=T0 + 3600
    )


CLASSIFY = [
    (200, "delivered"),
    (202, "delivered"),
    (408, "retry"),
    (429, "retry"),
    (500, "retry"),
    (503, "retry"),
    (400, "reject"),
    (401, "reject"),
    (404, "reject"),
    (None, "retry"),
]


@pytest.mark.parametrize("status, verdict", CLASSIFY)
def test_classify(status, verdict):
    assert classify(Response(status, error=None if status else "timeout")) == verdict


def test_backoff_grows_to_the_cap_and_honours_retry_after():
    rng = random.Random(7)
    delays = [backoff(i, initial=0.5, cap=8, rng=rng) for i in range(10)]
    assert all(0.25 <= d <= 8 for d in delays) and max(delays[6:]) > 4
    assert backoff(0, initial=0.5, cap=8, retry_after=5, rng=rng) >= 5
    assert backoff(0, initial=0.5, cap=8, retry_after=3600, rng=rng) == 8


def _worker(script, **delivery):
    config = parse_alerting(
        {
            "receivers": {"pd": {"type": "pagerduty", "url": "http://pd/v2/enqueue"}},
            "delivery": {"initial_backoff": "0.1s", "max_backoff": "1s", **delivery},
        }
    )
    answers, slept, dead, now = list(script), [], [], [0.0]  # now: the worker's monotonic clock, moved by hand

    def poster(request, timeout):
        now[0] += timeout  # each attempt takes the receiver's whole timeout
        return answers.pop(0)

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
        return False

    worker = ReceiverWorker(
        config.receivers["pd"],
        config,
        kafka_config={},
        group_id="g",
        notifications_topic="n",
        deadletter_topic="dl",
        metrics=AlertMetrics(CollectorRegistry()),
        env={},
        poster=poster,
        sleep=sleep,
        rng=random.Random(1),
        clock=lambda: now[0],
    )
    worker._dead_letter_request = lambda request, n, kind, message: dead.append((kind, message))  # type: ignore[method-assign]
    return worker, slept, dead


DELIVERY_CASES = [
    # (answers in order, final verdict, retries slept, dead letter kind)
    ([Response(202)], "delivered", 0, None),
    (
        [Response(429, retry_after=0.5), Response(500), Response(None, error="timeout"), Response(202)],
        "delivered",
        3,
        None,
    ),
    ([Response(400, body="bad routing key")], "reject", 0, "delivery_rejected"),
    ([Response(503), Response(404)], "reject", 1, "delivery_rejected"),
]


@pytest.mark.parametrize("answers, verdict, retries, dead_kind", DELIVERY_CASES)
def test_delivery_retries_only_what_can_succeed(answers, verdict, retries, dead_kind):
    worker, slept, dead = _worker(answers)
    n = notification()
    request = build_request("pagerduty", n, worker.spec, "", firing_ttl=60, now=T0)
    assert worker.deliver(request, n) == verdict
    assert len(slept) == retries
    assert [k for k, _ in dead] == ([dead_kind] if dead_kind else [])
    if dead_kind:
        assert "HTTP 4" in dead[0][1]


def test_delivery_gives_up_after_the_configured_time_and_dead_letters():
    # 5 s per attempt (the receiver's timeout): past 12 s at the end of the third
    worker, slept, dead = _worker([Response(500)] * 3, give_up_after="12s")
    n = notification()
    assert worker.deliver(build_request("pagerduty", n, worker.spec, "", firing_ttl=60, now=T0), n) == "gave_up"
    assert [k for k, _ in dead] == ["delivery_gave_up"]
