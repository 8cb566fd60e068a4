"""Confirmed transaction outcomes flow back, join the features their transaction was scored
with, teach the fraud learner, and the transaction path then raises txn_fraud alerts
(real Kafka, real Redis, one worker)."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
import pytest
import redis

from riskmon.schemas.outputs import DeadLetter
from tests.integration.conftest import consume, produce, values

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def is_fraud(i: int) -> bool:
    return i % 10 == 0  # the signal: a first use from another country, at many times the usual amount


def transaction(i: int) -> dict:
    customer = f"fc-{i % 47:03d}"  # frauds fall on every customer, among its genuine transactions
    fraud = is_fraud(i)
    minute = i // 47  # each customer's transactions are a minute apart in event time
    return {
        "transaction_id": f"ft-{i:05d}",
        "customer_id": customer,
        "occurred_at": f"2026-11-29T{10 + minute // 60:02d}:{minute % 60:02d}:{i % 47:02d}Z",
        "amount": 1_900.0 + i % 7 if fraud else 20.0 + i % 13,
        "type": "purchase",
        "channel": "web" if fraud else "pos",
        "country": "RO" if fraud else "GB",
        "merchant_category": "5411",
    }


def outcome(i: int, *, event: int = 0) -> dict:
    return {
        "outcome_id": f"fo-{i:05d}-{event}",
        "transaction_id": f"ft-{i:05d}",
        "customer_id": f"fc-{i % 47:03d}",
        "occurred_at": "2026-12-06T10:00:00Z",
        "outcome": "chargeback" if is_fraud(i) else "genuine",
    }


def wait_for_model(r: redis.Redis, namespace: str, labels: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = r.get(f"{namespace}:fraud:model")
        if raw and orjson.loads(raw)["status"]["labels"] >= labels:
            return orjson.loads(raw)
        time.sleep(0.5)
    raise AssertionError(f"no fraud model with {labels} labels was published")


def test_outcomes_teach_the_fraud_model_and_it_raises_txn_fraud_alerts(make_worker, services) -> None:
    worker = make_worker(RISKMON_FRAUD_REFRESH_SECONDS="1").start()
    namespace = "riskmon:" + worker.prefix.strip(".")
    r = redis.Redis.from_url(services.redis_url)
    n = 1_000

    # 1. transactions: each one's feature snapshot is kept, under its transaction id, expiring
    txs = [transaction(i) for i in range(n)]
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.transactions"),
        [(t["customer_id"].encode(), orjson.dumps(t)) for t in txs],
    )
    deadline = time.monotonic() + 90
    keys = [f"{namespace}:fraud:snapshot:ft-{i:05d}" for i in range(n)]
    while time.monotonic() < deadline and r.exists(*keys) < n:  # partitions are watched in their own order
        time.sleep(0.5)
    snap = orjson.loads(r.get(f"{namespace}:fraud:snapshot:ft-00330"))  # customer 1's first fraud, its 8th transaction
    assert snap["x"]["new_country"] == 1.0 and snap["x"]["country=RO"] == 1.0 and snap["s"] is None
    assert snap["x"]["amount_vs_typical"] > 0.9 and "first_txn" not in snap["x"]  # zeros are not kept
    assert 0 < r.ttl(f"{namespace}:fraud:snapshot:ft-00330") <= 60 * 86400

    # 2. their outcomes, days later: each twice (a replay), one for a transaction never seen, one not JSON
    bad = b'{"outcome_id": "fo-bad", "transaction_id": "ft-00001", "outcome": "stolen"}'
    events = [(o["customer_id"].encode(), orjson.dumps(o)) for o in (outcome(i) for i in range(n))]
    events += [(o["customer_id"].encode(), orjson.dumps(o)) for o in (outcome(i, event=1) for i in range(n))]
    events.append((b"fc-999", orjson.dumps({**outcome(99_999), "transaction_id": "ft-never"})))
    events.append((b"fc-001", bad))
    produce(services.kafka_bootstrap, worker.topic("credit.transaction_outcomes"), events)
    model = wait_for_model(r, namespace, n)
    time.sleep(3)  # any (wrong) second learning of the replayed outcomes would happen now
    model = orjson.loads(r.get(f"{namespace}:fraud:model"))
    assert model["status"]["labels"] == n and model["status"]["frauds"] == n // 10, "each outcome learned once"
    assert model["champion"]["n_learned"] == n
    # the operator sees them: roles, labels learned, prequential AUC (the challenger judged by the learner)
    shown = subprocess.run(
        [sys.executable, "-m", "riskmon", "model", "status", "--redis-url", services.redis_url]
        + ["--topic-prefix", worker.prefix],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    fraud = orjson.loads(shown.stdout)["fraud"]
    assert fraud["roles"]["champion"]["labels"] == n and fraud["evaluation"]["frauds"] == n // 10
    assert all(0.5 < fraud["evaluation"]["auc"][role] <= 1.0 for role in ("champion", "challenger"))
    dead = values(consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=1, timeout=30, settle=1))
    letters = [DeadLetter.from_dict(d) for d in dead]
    assert [d.raw for d in letters if d.source_topic.endswith("credit.transaction_outcomes")] == [bad]

    # 3. new transactions are scored by the published model; its budgets are cut on the last 2,000
    #    transactions at each read of the model (every second here), then the fraud-like ones raise txn_fraud
    for part in (range(n, 3 * n), range(3 * n, 4 * n)):
        later = [transaction(i) for i in part]
        produce(
            services.kafka_bootstrap,
            worker.topic("credit.transactions"),
            [(t["customer_id"].encode(), orjson.dumps(t)) for t in later],
        )
        keys = [f"{namespace}:fraud:snapshot:ft-{i:05d}" for i in part]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and r.exists(*keys) < len(keys):
            time.sleep(0.5)
        time.sleep(2)
    deadline = time.monotonic() + 120
    fraud_alerts: list[dict] = []
    while time.monotonic() < deadline and len(fraud_alerts) < 10:
        feed = values(
            consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=10_000, timeout=5, settle=0)
        )
        fraud_alerts = [a for a in feed if a["detector"] == "txn_fraud"]
    assert len(fraud_alerts) >= 10, worker.log_tail()
    flagged = [int(a["labels"]["transaction_id"][3:]) for a in fraud_alerts]
    assert sum(is_fraud(i) for i in flagged) / len(flagged) >= 0.9  # precise: the model learned the signal
    assert all(a["labels"]["factors"] for a in fraud_alerts)
    assert all("1900" not in a["summary"] and "1,900" not in a["summary"] for a in fraud_alerts)  # no amounts
    snap = orjson.loads(r.get(f"{namespace}:fraud:snapshot:ft-{n + 10:05d}"))
    assert snap["s"] > 0.5  # the champion's score at arrival, kept for the prequential judgement of its label
