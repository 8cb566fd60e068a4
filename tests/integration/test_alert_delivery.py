"""Alert delivery on the real broker and Redis, to a real Alertmanager and scripted pagers.

The alert manager reads candidates from its input topic (where the detectors
put them; ``test_detectors_path`` covers that hop) and must: deliver every
notification despite a pager answering 429, 500 and timing out; keep one open
incident per dedup key, also after Redis is wiped and the worker restarts;
carry an acknowledgement from the command line to the pager; deliver the
resolution; and dead-letter what a receiver refuses for good.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import redis
import yaml

from riskmon.config import default_config_text
from riskmon.detectors import build_alert
from tests.integration.conftest import consume, produce, values
from tests.integration.receivers import AlertmanagerProcess, PagerDutyStandIn, WebhookStandIn

pytestmark = pytest.mark.integration

T0 = time.time() - 600
CUSTOMERS = ["c-1", "c-2", "c-3"]


def candidate(
    customer: str,
    at: float,
    *,
    status: str = "firing",
    level: str = "critical",
    detector: str = "txn_velocity",
    started: float = T0,
) -> tuple[bytes, bytes]:
    a = build_alert(
        detector=detector,
        subject={"kind": "customer", "id": customer},
        level=level,
        status=status,
        summary=f"{detector} on customer {customer}",
        started_at=started,
        updated_at=at,
        config_version="test",
        value=25.0,
        threshold=20.0,
        window="1h",
    )
    return a.dedup_key.encode(), orjson.dumps(a.to_dict())


def wait_for(what: str, predicate, timeout: float = 60.0, worker=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker is not None:
            worker.assert_alive()
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f"; worker log:\n{worker.log_tail()}" if worker else ""))


def write_config(path: Path, pd: PagerDutyStandIn, am: AlertmanagerProcess, hook: WebhookStandIn) -> Path:
    doc = yaml.safe_load(default_config_text())
    doc["alerting"] = {
        "group_by": ["dedup_key"],
        "group_interval": "1s",
        "repeat_interval": "1h",
        "delivery": {"initial_backoff": "0.1s", "max_backoff": "0.5s", "give_up_after": "1h"},
        "receivers": {
            "pd": {"type": "pagerduty", "url": pd.url, "routing_key_env": "TEST_PD_ROUTING_KEY", "timeout": "1s"},
            "am": {"type": "alertmanager", "url": am.url},
            "hook": {"type": "webhook", "url": hook.url, "secret_env": "TEST_HOOK_SECRET"},
            "misconfigured": {"type": "webhook", "url": hook.url, "secret_env": "TEST_WRONG_SECRET"},
        },
        "routes": [
            {"match": {"detector": ["probe"]}, "receivers": ["misconfigured"]},
            {"match": {"level": ["critical"]}, "receivers": ["pd"], "continue": True},
            {"match": {"level": ["warning", "critical"]}, "receivers": ["am", "hook"]},
        ],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_every_notification_delivered_once_per_incident_through_faults(make_worker, services, tmp_path) -> None:
    with (
        PagerDutyStandIn(script=[429, 500, "timeout"]) as pd,
        WebhookStandIn("s3cret") as hook,
        AlertmanagerProcess(tmp_path) as am,
    ):
        config = write_config(tmp_path / "riskmon.yaml", pd, am, hook)
        env = {
            "RISKMON_CONFIG": str(config),
            "TEST_PD_ROUTING_KEY": "R0UT1NGKEY",
            "TEST_HOOK_SECRET": "s3cret",
            "TEST_WRONG_SECRET": "not-the-secret",
        }
        worker = make_worker(**env).start()
        candidates_topic = worker.topic("risk.alerts.candidates")

        # A noisy incident: three customers critical, each repeated five times, plus one refused probe.
        batch = [candidate(c, T0) for c in CUSTOMERS]
        batch += [candidate(c, T0 + i) for i in range(1, 6) for c in CUSTOMERS]
        batch += [candidate("c-9", T0, detector="probe", level="warning")]
        produce(services.kafka_bootstrap, candidates_topic, batch)

        wait_for("three triggers accepted by the pager", lambda: len(pd.accepted) >= 3, worker=worker)
        assert [a for a, _ in pd.attempts[:3]] == [429, 500, "timeout"], "the scripted failures were retried"
        assert pd.open_incidents() == {f"txn_velocity:customer:{c}": 1 for c in CUSTOMERS}
        assert {e["routing_key"] for e in pd.accepted} == {"R0UT1NGKEY"}
        wait_for(
            "Alertmanager to hold the three alerts",
            lambda: (
                {a["labels"]["dedup_key"] for a in am.alerts()} >= {f"txn_velocity:customer:{c}" for c in CUSTOMERS}
            ),
        )
        wait_for("the webhook to get three signed triggers", lambda: len(hook.received) >= 3)

        # Acknowledged from the command line: recorded on the alert, and the pager is told.
        cli_env = {
            **os.environ,
            "RISKMON_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
            "RISKMON_REDIS_URL": services.redis_url,
            "RISKMON_TOPIC_PREFIX": worker.prefix,
        }
        made = subprocess.run(  # acting from the command line needs an operator's token
            [sys.executable, "-m", "riskmon", "token", "create", "--name", "oncall-ben", "--role", "operator"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        cli_env["RISKMON_TOKEN"] = made.stdout.strip()
        ack = subprocess.run(
            [
                sys.executable,
                "-m",
                "riskmon",
                "ack",
                "txn_velocity:customer:c-1",
                "--by",
                "oncall-ben",
                "--comment",
                "calling the customer",
            ],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ack.returncode == 0, ack.stderr
        wait_for(
            "the pager to get the acknowledgement",
            lambda: any(e["event_action"] == "acknowledge" for e in pd.accepted),
            worker=worker,
        )
        listing = subprocess.run(
            [sys.executable, "-m", "riskmon", "alerts", "list", "--json"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        listed = {a["dedup_key"]: a for a in orjson.loads(listing.stdout)}
        assert listed["txn_velocity:customer:c-1"]["acknowledged_by"] == "oncall-ben"
        assert listed["txn_velocity:customer:c-2"]["count"] == 6  # repeats counted on the one open alert

        # Redis wiped and the worker restarted: the same incidents fire again, and no second incident opens.
        worker.stop()
        client = redis.Redis.from_url(services.redis_url)
        namespace = "riskmon:" + worker.prefix.strip(".:")
        for key in client.scan_iter(match=f"{namespace}:*"):
            client.delete(key)
        worker = make_worker(**env).start()
        triggers_before = sum(1 for e in pd.accepted if e["event_action"] == "trigger")
        produce(services.kafka_bootstrap, candidates_topic, [candidate(c, T0 + 100) for c in CUSTOMERS])
        wait_for(
            "the re-sent triggers",
            lambda: sum(1 for e in pd.accepted if e["event_action"] == "trigger") >= triggers_before + 3,
            worker=worker,
        )
        assert pd.open_incidents() == {f"txn_velocity:customer:{c}": 1 for c in CUSTOMERS}, "no duplicate open incident"

        # The detectors clear: every incident resolved at the pager, in Alertmanager and at the webhook.
        produce(
            services.kafka_bootstrap, candidates_topic, [candidate(c, T0 + 200, status="resolved") for c in CUSTOMERS]
        )
        wait_for("every incident resolved", lambda: sum(pd.open_incidents().values()) == 0, worker=worker)
        wait_for(
            "Alertmanager to see the resolutions",
            lambda: (
                not {a["labels"]["dedup_key"] for a in am.alerts()} & {f"txn_velocity:customer:{c}" for c in CUSTOMERS}
            ),
        )
        wait_for("resolutions at the webhook", lambda: sum(1 for n in hook.received if n["action"] == "resolve") >= 3)

        assert hook.refused >= 1, "the misconfigured webhook was refused"
        dead = values(
            consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=1, timeout=30, settle=1)
        )
        rejected = [d for d in dead if d["error"]["type"] == "delivery_rejected"]
        assert len(rejected) == 1 and "HTTP 401" in rejected[0]["error"]["message"]
        assert orjson.loads(rejected[0]["raw"])["alerts"][0]["detector"] == "probe"

        feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=10, timeout=30, settle=2))
        c2 = [(a["status"], a["notification"]) for a in feed if a["dedup_key"] == "txn_velocity:customer:c-2"]
        # first firing, then (after the wipe) firing again, then resolved: the five repeats were not re-published
        assert c2 == [("firing", "first_notification"), ("firing", "first_notification"), ("resolved", "resolved")]
        for a in feed:
            assert "applicant" not in a and set(a["labels"]) <= {"config_version", "graded_from"}
        worker.assert_alive()


def _http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        url,
        data=orjson.dumps(body) if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def test_silence_and_pager_acknowledgement_over_http(make_worker, services) -> None:
    worker = make_worker().start()
    base = f"http://127.0.0.1:{worker.web_port}"
    status, refused = _http(
        "POST", f"{base}/v1/silences", {"matcher": "name=x", "duration": "1h", "author": "ops-anna", "comment": "x"}
    )
    assert status == 400 and "matcher field 'name'" in refused["error"]["message"]
    status, made = _http(
        "POST",
        f"{base}/v1/silences",
        {"matcher": "detector=cash_24h", "duration": "1h", "author": "ops-anna", "comment": "known ATM fault"},
    )
    assert status == 202
    silence_id = made["accepted"]["silence"]["id"]
    wait_for(
        "the silence to be active",
        lambda: any(
            s["id"] == silence_id and s["active"] for s in _http("GET", f"{base}/v1/silences")[1].get("silences", [])
        ),
        worker=worker,
    )

    topic = worker.topic("risk.alerts.candidates")
    produce(
        services.kafka_bootstrap,
        topic,
        [
            candidate("c-5", T0, detector="cash_24h", level="warning"),
            candidate("c-6", T0, detector="txn_velocity", level="critical"),
        ],
    )
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=2, timeout=60, settle=1))
    by_detector = {a["detector"]: a for a in feed}
    assert by_detector["cash_24h"]["suppressed_by"] == f"silence:{silence_id}"
    assert by_detector["txn_velocity"]["notification"] == "first_notification"

    # The pager acknowledges the incident (PagerDuty's dedup_key is our group key).
    group = by_detector["txn_velocity"]["group_key"]
    status, _ = _http(
        "POST",
        f"{base}/v1/pager/acknowledge",
        {
            "event": {
                "event_type": "incident.acknowledged",
                "agent": {"summary": "Ben Ortiz"},
                "data": {"incident_key": group},
            }
        },
    )
    assert status == 202
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=3, timeout=60, settle=1))
    assert [a["acknowledged_by"] for a in feed if a.get("acknowledged_by")] == ["pager:Ben_Ortiz"]
    wait_for(
        "the acknowledgement in GET /v1/alerts",
        lambda: any(
            a.get("acknowledged_by") == "pager:Ben_Ortiz"
            for a in _http("GET", f"{base}/v1/alerts")[1].get("alerts", [])
        ),
    )

    status, _ = _http("DELETE", f"{base}/v1/silences/{silence_id}?by=ops-anna")
    assert status == 202
    wait_for(
        "the silence to expire",
        lambda: any(
            s["id"] == silence_id and not s["active"] for s in _http("GET", f"{base}/v1/silences")[1]["silences"]
        ),
        worker=worker,
    )
