"""Redis is an accelerator, not the source of truth: when it stops, the worker keeps
deciding (approvals held for manual review) and recovers when it returns."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import orjson
import pytest
import redis

from tests.integration.conftest import Services, consume, free_port, produce, values
from tests.integration.test_application_path import application

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SAFE = dict(amount=2_000, annual_income=90_000, features={"inquiries_6m": 0, "revol_util": 10})


def start_redis(port: int, directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
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


def decision_of(services: Services, worker, app_id: str, expect: int) -> dict:
    found = [d for d in values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=expect, timeout=60))
             if d["application_id"] == app_id]
    assert found, f"no decision for {app_id}"
    return found[0]


def test_redis_outage_holds_approvals_and_recovers(make_worker, services, tmp_path: Path) -> None:
    port = free_port()
    own = start_redis(port, tmp_path)
    try:
        worker = make_worker(RISKMON_REDIS_URL=f"redis://127.0.0.1:{port}/0").start()
        topic = worker.topic("credit.applications")
        produce(services.kafka_bootstrap, topic, [(b"up-1", orjson.dumps(application(1, application_id="up-1", **SAFE)))])
        assert decision_of(services, worker, "up-1", 1)["outcome"] == "approve"

        own.terminate()
        own.wait(10)
        produce(services.kafka_bootstrap, topic, [(b"down-1", orjson.dumps(application(2, application_id="down-1", **SAFE)))])
        held = decision_of(services, worker, "down-1", 2)
        assert held["outcome"] == "review" and held["reasons"][0]["code"] == "SYS_DEGRADED"
        worker.assert_alive()

        own = start_redis(port, tmp_path)  # back, and empty
        time.sleep(6)  # the store backs off from Redis for 5 s after a failure
        produce(services.kafka_bootstrap, topic, [(b"up-2", orjson.dumps(application(3, application_id="up-2", **SAFE)))])
        assert decision_of(services, worker, "up-2", 3)["outcome"] == "approve"
        worker.assert_alive()
    finally:
        own.kill()
        own.wait(10)
