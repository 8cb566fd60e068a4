"""The README's commands as a newcomer types them: stack up (twice), demo, stack down."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


def riskmon(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "riskmon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_stack_up_twice_then_demo_then_down(tmp_path: Path) -> None:
    directory = str(tmp_path / "stack")
    try:
        first = riskmon("stack", "up", "--dir", directory)
        assert first.returncode == 0, first.stderr
        lines = first.stdout.splitlines()
        assert lines[0].startswith("KAFKA_BOOTSTRAP=127.0.0.1:") and lines[1].startswith("REDIS_URL=redis://127.0.0.1:")

        again = riskmon("stack", "up", "--dir", directory)
        assert again.returncode == 0 and again.stdout == first.stdout  # nothing changed
        assert "already running" in again.stderr

        demo = riskmon("demo", "--dir", directory, "--limit", "300", "--rate", "400")
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert "decisions 300/300" in demo.stdout
        assert "dead letters 5 (of 5 malformed sent)" in demo.stdout
        assert "left running" in demo.stdout  # the demo did not stop a stack it did not start
        # the injected incidents of the synthetic transaction stream raise graded alerts
        assert "ALERT CRITICAL firing   txn_velocity" in demo.stdout
        assert "ALERT WARNING  firing   cash_24h" in demo.stdout

        state = json.loads((Path(directory) / "stack.json").read_text())
        pids = [state["kafka"]["pid"], state["redis"]["pid"]]
        assert all(_alive(p) for p in pids)
    finally:
        down = riskmon("stack", "down", "--dir", directory)
    assert down.returncode == 0, down.stderr
    assert down.stdout.count("stopped") == 2
    assert not any(_alive(p) for p in pids), "a process of ours outlived `stack down`"
    assert riskmon("stack", "status", "--dir", directory).returncode == 3


def test_demo_starts_and_stops_its_own_stack(tmp_path: Path) -> None:
    directory = tmp_path / "own"
    demo = riskmon("demo", "--dir", str(directory), "--limit", "100", "--rate", "400", "--source", "credit_data")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "decisions 100/100" in demo.stdout
    # the last step: one scanned form read by OCR and decided by the same worker
    assert "== a scanned paper form becomes a decision" in demo.stdout
    assert "scanned-form.jpg: application scan-cd-" in demo.stdout
    assert re.search(r"scan-cd-\S+\s+automated\s+(approve|review|reject)", demo.stdout), demo.stdout[-2000:]
    state = json.loads((directory / "stack.json").read_text())
    for service in ("kafka", "redis"):
        pid = state[service].get("pid")
        assert pid is None or not _alive(pid)
