"""Redis is an accelerator, not the source of truth: when it stops, the worker keeps
deciding (approvals held for manual review) and recovers when it returns."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis
from confluent_kafka import Producer

from riskmon.stack import redis_cluster
from tests.integration.conftest import REDIS_CLUSTER, free_port
from tests.integration.test_application_path import application
from tests.integration.verifier import Expected, OutputReader, verify

pytestmark = [pytest.mark.integration, pytest.mark.redis_cluster, pytest.mark.timeout(300)]

SAFE = dict(amount=2_000, annual_income=90_000, features={"inquiries_6m": 0, "revol_util": 10})


def start_redis(port: int, directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    for _ in range(100):
        try:
            if client.ping():
                return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("redis-server did not start")


class OwnCluster:
    """A three-master Redis Cluster of this test's own (riskmon's stack tooling's node layout),
    to stop and bring back empty as the single server above is."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ports = redis_cluster.free_node_ports(redis_cluster.MASTERS)
        self.procs: list[subprocess.Popen] = []
        self.url = redis_cluster.url(self.ports)
        self.start()

    def start(self) -> OwnCluster:
        for port in self.ports:
            node = redis_cluster.node_dir(self.dir, port)
            node.mkdir(parents=True, exist_ok=True)
            (node / "nodes.conf").unlink(missing_ok=True)
            conf = node / "redis.conf"
            conf.write_text(redis_cluster.render_config(node, port))
            self.procs.append(subprocess.Popen(redis_cluster.start_command(conf), stdin=subprocess.DEVNULL))
        redis_cluster.wait_ready(self.ports, [p.pid for p in self.procs], time.monotonic() + 60, lambda: "")
        return self

    def terminate(self) -> None:
        for proc in self.procs:
            proc.terminate()

    def kill(self) -> None:
        for proc in self.procs:
            proc.kill()

    def wait(self, timeout: float) -> None:
        for proc in self.procs:
            proc.wait(timeout)
        self.procs = []


def transaction(i: int, customer: str, at: datetime) -> bytes:
    return orjson.dumps(
        {
            "transaction_id": f"tx-{customer}-{i}",
            "customer_id": customer,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "amount": 19.99,
            "type": "purchase",
        }
    )


def test_redis_down_for_a_minute_holds_approvals_and_comes_back_empty(make_worker, services, tmp_path: Path) -> None:
    """Redis stopped for 60 s while applications and transactions flow, then back empty.

    While it is down: no crash (the same process throughout), every approval
    held for review, and a customer's velocity alert raised once per level
    however many batches see the customer over the threshold (the detector
    state lives in memory too). When it returns, empty: approvals resume, and an
    application decided before the outage and sent again is decided with the
    same deterministic ``decision_id`` (Redis forgot it; consumers dedupe on the id).
    """
    port = free_port()
    cluster = OwnCluster(tmp_path) if REDIS_CLUSTER else None
    own: subprocess.Popen | OwnCluster = cluster or start_redis(port, tmp_path)
    url = cluster.url if cluster else f"redis://127.0.0.1:{port}/0"
    worker = make_worker(RISKMON_REDIS_URL=url).start()
    reader = OutputReader(services.kafka_bootstrap, worker.prefix)
    producer = Producer({"bootstrap.servers": services.kafka_bootstrap, "linger.ms": 5})
    apps, txs = worker.topic("credit.applications"), worker.topic("credit.transactions")
    expected = Expected()

    def send_application(app_id: str, i: int) -> None:
        producer.produce(apps, key=app_id.encode(), value=orjson.dumps(application(i, application_id=app_id, **SAFE)))
        producer.poll(0)
        expected.valid.add(app_id)

    try:
        send_application("up-1", 1)
        producer.flush(30)
        reader.wait_until(lambda r: "up-1" in r.decided(), timeout=60, what="the first decision")

        own.terminate()
        own.wait(10)
        now = datetime.now(UTC)
        for second in range(55):  # one application a second, and a customer's burst spread over ten seconds
            send_application(f"down-{second}", 100 + second)
            if 10 <= second < 20:
                for k in range(4):
                    n = 4 * (second - 10) + k
                    producer.produce(
                        txs, key=b"cust-burst", value=transaction(n, "cust-burst", now - timedelta(seconds=60 - n))
                    )
            producer.flush(30)
            time.sleep(1)
        time.sleep(5)
        worker.assert_alive()
        restarted_at = datetime.now(UTC)
        own = cluster.start() if cluster else start_redis(port, tmp_path)  # back, and empty
        time.sleep(6)  # the store backs off from Redis for 5 s after a failure
        send_application("up-2", 2)
        send_application("up-1", 1)  # decided before the outage; Redis no longer knows it
        producer.flush(30)
        reader.wait_until(
            lambda r: r.accounted_for(expected) and len(r.messages["credit.decisions"]) >= 58,
            timeout=120,
            what="decisions before, during and after the outage",
        )
        worker.assert_alive()  # the one process started above never exited
        assert worker.stop() == 0, worker.log_tail()
        reader.read_to_end()
    finally:
        own.kill()
        own.wait(10)
        reader.close()

    verify(reader, expected, redis_lost=True)
    by_app: dict[str, list[dict]] = {}
    for d in reader.docs("credit.decisions"):
        by_app.setdefault(d["application_id"], []).append(d)
    # Every application decided while Redis was down is held. One the worker reached only after Redis
    # came back is decided normally, so the check is on the decision time (and most are decided during it).
    during = [
        by_app[f"down-{s}"][0]
        for s in range(55)
        if datetime.fromisoformat(by_app[f"down-{s}"][0]["decided_at"]) < restarted_at
    ]
    assert len(during) >= 50, f"only {len(during)} of 55 applications were decided during the outage"
    not_held = [
        (d["application_id"], d["decided_at"], d["outcome"], [r["code"] for r in d["reasons"]])
        for d in during
        if not (d["outcome"] == "review" and d["reasons"][0]["code"] == "SYS_DEGRADED")
    ]
    assert not not_held, f"decided while Redis was down (back at {restarted_at.isoformat()}), not held: {not_held}"
    assert by_app["up-2"][0]["outcome"] == "approve"  # approvals resume
    assert [d["outcome"] for d in by_app["up-1"]] == ["approve", "approve"]
    assert len({d["decision_id"] for d in by_app["up-1"]}) == 1  # decided again, with the same id

    velocity = [
        (a["level"], a["status"])
        for a in reader.docs("risk.alerts")
        if a["dedup_key"] == "txn_velocity:customer:cust-burst"
    ]
    assert velocity == [("warning", "firing"), ("critical", "firing")], "one alert per level, not one per batch"
