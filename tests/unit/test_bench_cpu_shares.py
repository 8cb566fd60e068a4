"""The latency phase's CPU shares: read from /proc, so a figure can be set next to its load."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from bench.cpu_shares import Snapshot, broker_pids, shares, snapshot


def test_shares_are_percent_of_one_core_and_of_the_machine() -> None:
    a = Snapshot({"worker": 100, "broker": 0}, (100, 0, 50, 800, 0, 0, 0, 50), 2)
    b = Snapshot({"worker": 250, "broker": 50}, (200, 0, 100, 900, 0, 0, 0, 100), 2)
    got = shares(a, b, 2.0, hz=100)
    assert got == {"cpu_worker_pct": 75.0, "cpu_broker_pct": 25.0, "machine_busy_pct": 66.7, "machine_steal_pct": 16.7}


def test_a_busy_process_is_seen_busy() -> None:
    roles = {"harness": [os.getpid()]}
    before, start = snapshot(roles), time.monotonic()
    while time.monotonic() - start < 0.5:  # half a second of one core
        pass
    got = shares(before, snapshot(roles), time.monotonic() - start)
    assert 20 <= got["cpu_harness_pct"] <= 110 and 0 < got["machine_busy_pct"] <= 100


def test_broker_pids_counts_only_the_broker_of_its_own_stack() -> None:
    marker = f"/tmp/stack-{uuid.uuid4().hex}"
    sleep = "import time; time.sleep(30)"
    ours = subprocess.Popen([sys.executable, "-c", sleep, "kafka.Kafka", f"{marker}/kafka/server.properties"])
    other = subprocess.Popen([sys.executable, "-c", sleep, "kafka.Kafka", f"{marker}2/kafka/server.properties"])
    try:
        deadline = time.monotonic() + 10
        while broker_pids(marker) != [ours.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert broker_pids(marker) == [ours.pid]
        assert {ours.pid, other.pid} <= set(broker_pids())  # no marker: every broker
    finally:
        for p in (ours, other):
            p.kill()
            p.wait()
