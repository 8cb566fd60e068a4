"""The latency phase's CPU shares: read from /proc, so a figure can be set next to its load."""

from __future__ import annotations

import os
import time

from bench.cpu_shares import Snapshot, shares, snapshot


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
