"""Detectors on the real broker and Redis: graded alerts reach risk.alerts, and a
critical model alert holds approvals for manual review."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis
from confluent_kafka import Producer

from tests.config_edit import edited_default_config
from tests.integration.conftest import consume, produce, values
from tests.integration.test_application_path import application

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def transaction(i: int, *, customer: str, at: datetime, amount: float = 45.0, type: str = "purchase") -> dict:
    return {
        "transaction_id": f"tx-{customer}-{i}",
        "customer_id": customer,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "amount": amount,
        "type": type,
        "channel": "mobile",
    }


def fast_config(tmp_path: Path) -> str:
    """The defaults, with portfolio rates that may alert on a handful of decisions."""
    levels = {"warning": {"enter": 0.35, "exit": 0.30}, "critical": {"enter": 0.50, "exit": 0.45}}  # no min_duration
    lag_levels = {"warning": {"enter": 30, "exit": 10}, "critical": {"enter": 300, "exit": 120}}
    text = edited_default_config(
        {
            "detectors.portfolio.indicators.min_decisions": 10,
            "detectors.portfolio.thresholds.reject_rate.levels": levels,
            "detectors.pipeline.ingestion_lag_thresholds.levels": lag_levels,
        }
    )
    path = tmp_path / "fast.yaml"
    path.write_text(text)
    return str(path)


def test_velocity_and_portfolio_alerts_reach_the_alert_topic(make_worker, services, tmp_path) -> None:
    worker = make_worker(RISKMON_CONFIG=fast_config(tmp_path)).start()
    now = datetime.now(UTC)
    burst = [transaction(i, customer="cust-burst", at=now - timedelta(seconds=60 - 2 * i)) for i in range(25)]
    quiet = [transaction(i, customer="cust-quiet", at=now - timedelta(minutes=50 - 10 * i)) for i in range(5)]
    messages = [(t["customer_id"].encode(), orjson.dumps(t)) for t in burst + quiet]
    messages.append((b"cust-bad", b'{"transaction_id": "t", "customer_id": "cust-bad", "amount": -3}'))
    produce(services.kafka_bootstrap, worker.topic("credit.transactions"), messages)
    # every application breaks the maximum term: all rejected, so the reject rate goes critical
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [
            (f"rj-{i}".encode(), orjson.dumps(application(i, application_id=f"rj-{i}", term_months=240)))
            for i in range(12)
        ],
    )

    # repayments that waited ten minutes before reaching us: the pipeline is late
    stale = Producer({"bootstrap.servers": services.kafka_bootstrap})
    sent_ms = int((time.time() - 600) * 1000)
    stale.produce(worker.topic("credit.repayments"), key=b"x", value=b'{"not": "a repayment"}', timestamp=sent_ms)
    stale.flush(30)

    alerts = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=4, timeout=90, settle=5))
    lag = [a for a in alerts if a["detector"] == "ingestion_lag"]
    assert [(a["level"], a["subject"]) for a in lag] == [
        ("critical", {"kind": "pipeline", "id": worker.topic("credit.repayments")})
    ]
    assert lag[0]["value"] >= 600
    velocity = [a for a in alerts if a["detector"] == "txn_velocity"]
    assert [(a["level"], a["status"], a["subject"]) for a in velocity] == [
        ("warning", "firing", {"kind": "customer", "id": "cust-burst"}),
        ("critical", "firing", {"kind": "customer", "id": "cust-burst"}),
    ]
    assert velocity[0]["dedup_key"] == velocity[1]["dedup_key"] == "txn_velocity:customer:cust-burst"
    assert velocity[1]["value"] == 20 and velocity[1]["threshold"] == 20 and velocity[1]["window"] == "1h"
    assert not [a for a in alerts if a["subject"]["id"] == "cust-quiet"]
    rejects = [a for a in alerts if a["detector"] == "portfolio_reject_rate"]
    assert (
        rejects and rejects[-1]["level"] == "critical" and rejects[-1]["subject"] == {"kind": "portfolio", "id": "all"}
    )
    for a in alerts:
        assert a["labels"]["config_version"] and a["alert_id"].startswith("alt-")
    letters = values(consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=2, timeout=30))
    assert sorted(d["source_topic"] for d in letters) == sorted(
        [worker.topic("credit.transactions"), worker.topic("credit.repayments")]
    )


def test_a_critical_model_alert_holds_approvals_until_it_clears(make_worker, services) -> None:
    worker = make_worker().start()
    namespace = "riskmon:" + worker.prefix.strip(".")
    r = redis.Redis.from_url(services.redis_url)
    safe = dict(amount=2_000, annual_income=90_000, features={"inquiries_6m": 0, "revol_util": 10})
    topic = worker.topic("credit.applications")

    produce(services.kafka_bootstrap, topic, [(b"ok-1", orjson.dumps(application(1, application_id="ok-1", **safe)))])
    first = values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=1, timeout=60))
    assert first[0]["outcome"] == "approve"

    r.set(f"{namespace}:model:alert", "score PSI 0.31 is critical")
    time.sleep(3)  # scorers look at the registry every 2 s
    produce(services.kafka_bootstrap, topic, [(b"ok-2", orjson.dumps(application(2, application_id="ok-2", **safe)))])
    held = [
        d
        for d in values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=2, timeout=60))
        if d["application_id"] == "ok-2"
    ]
    assert held[0]["outcome"] == "review" and held[0]["reasons"][0]["code"] == "SYS_DEGRADED"
    assert "PSI" in held[0]["reasons"][0]["description"]

    r.delete(f"{namespace}:model:alert")
    time.sleep(3)
    produce(services.kafka_bootstrap, topic, [(b"ok-3", orjson.dumps(application(3, application_id="ok-3", **safe)))])
    cleared = [
        d
        for d in values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=3, timeout=60))
        if d["application_id"] == "ok-3"
    ]
    assert cleared[0]["outcome"] == "approve"
