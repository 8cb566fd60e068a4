"""The harness's --pin-worker: which CPUs go to whom, and every thread of a process pinned."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bench.cpu_shares import stack_pids
from bench.pinning import pin, split

TWO_THREADS = (
    "import threading, time; threading.Thread(target=time.sleep, args=(30,), daemon=True).start(); "
    "print('up', flush=True); time.sleep(30)"
)


def test_the_worker_gets_the_last_cpu_and_everyone_else_the_rest() -> None:
    assert split([0, 1]) == ({1}, {0})
    assert split({2, 5, 7}) == ({7}, {2, 5})
    with pytest.raises(ValueError, match="at least 2 CPUs"):
        split({3})


def test_pin_restricts_every_thread_of_a_process() -> None:
    target = {min(os.sched_getaffinity(0))}
    child = subprocess.Popen([sys.executable, "-c", TWO_THREADS], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "up"
        tids = [int(t.name) for t in Path(f"/proc/{child.pid}/task").iterdir()]
        assert len(tids) >= 2
        assert pin(child.pid, target) == len(tids)
        assert all(os.sched_getaffinity(tid) == target for tid in tids)
    finally:
        child.kill()
        child.wait()
    with pytest.raises(ProcessLookupError):
        pin(child.pid, target)


def test_stack_pids_finds_the_broker_and_redis_of_one_stack_only() -> None:
    marker = f"/tmp/stack-{uuid.uuid4().hex}"
    sleep = "import time; time.sleep(30)"
    ours = [
        subprocess.Popen([sys.executable, "-c", sleep, "kafka.Kafka", f"{marker}/kafka/server.properties"]),
        subprocess.Popen([sys.executable, "-c", sleep, "redis-server", f"{marker}/redis/redis.conf"]),
    ]
    other = subprocess.Popen([sys.executable, "-c", sleep, "kafka.Kafka", f"{marker}-other/kafka/server.properties"])
    unrelated = subprocess.Popen([sys.executable, "-c", sleep, f"{marker}/notes.txt"])
    try:
        deadline = time.monotonic() + 10
        while sorted(stack_pids(marker)) != sorted(p.pid for p in ours) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(stack_pids(marker)) == sorted(p.pid for p in ours)
    finally:
        for p in (*ours, other, unrelated):
            p.kill()
            p.wait()
