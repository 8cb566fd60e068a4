"""The audit trail on the real broker and Redis: decisions and reviews chain into a
trail that verifies; tampering with an export is found and located; a worker
killed mid-stream leaves a trail with no gap and no fork."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import consume, produce, values
from tests.integration.test_application_path import application

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


def riskmon(worker, services, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--bootstrap",
        services.kafka_bootstrap,
        "--redis-url",
        services.redis_url,
        "--topic-prefix",
        worker.prefix,
    ]
    return subprocess.run([sys.executable, "-m", "riskmon", *args, *flags], capture_output=True, text=True, timeout=120)


def wait_for_trail(worker, services, size: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    result: dict = {}
    while time.monotonic() < deadline:
        run = riskmon(worker, services, "audit", "verify")
        result = orjson.loads(run.stdout) if run.stdout.strip().startswith("{") else {"stderr": run.stderr}
        if result.get("checked", 0) >= size:
            return result
        time.sleep(1)
    raise AssertionError(f"the trail never reached {size} entries: {result}")


def review(app_id: str, outcome: str, reviewer: str = "analyst-7") -> bytes:
    return orjson.dumps(
        {
            "application_id": app_id,
            "reviewer": reviewer,
            "outcome": outcome,
            "reason": "income verified with payslips",
            "reviewed_at": "2026-11-29T16:00:00Z",
        }
    )


def test_decisions_and_reviews_chain_into_a_trail_that_verifies(make_worker, services, tmp_path: Path) -> None:
    worker = make_worker().start()
    n = 60
    # every tenth applicant has three recent delinquencies: a review by rule (POL_RECENT_DELINQUENCIES)
    docs = [application(i) for i in range(n)]
    for doc in docs[3::10]:
        doc["features"]["delinquencies_2y"] = 3
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(doc["application_id"].encode(), orjson.dumps(doc)) for doc in docs],
    )
    decisions = {
        d["application_id"]: d
        for d in values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n, timeout=90))
    }
    to_review = next(a for a, d in decisions.items() if d["outcome"] == "review")
    approved = next(a for a, d in decisions.items() if d["outcome"] == "approve")

    produce(
        services.kafka_bootstrap,
        worker.topic("credit.reviews"),
        [
            (to_review.encode(), review(to_review, "approve")),
            (b"app-unknown", review("app-unknown", "approve")),  # never decided
            (approved.encode(), review(approved, "reject")),  # decided automatically already
            (to_review.encode(), review(to_review, "reject", reviewer="analyst-9")),  # a second, different verdict
        ],
    )
    letters = values(consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=3, timeout=60))
    assert sorted(d["error"]["type"] for d in letters) == ["already_final", "already_final", "unknown_application"]
    manual = [
        d
        for d in values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n + 1, timeout=60))
        if d["stage"] == "manual"
    ]
    assert [(d["application_id"], d["outcome"], d["reasons"][0]["code"]) for d in manual] == [
        (to_review, "approve", "MANUAL_APPROVE")
    ]

    time.sleep(11)  # the writer checkpoints the head at least every 10 s
    result = wait_for_trail(worker, services, n + 1)
    assert result["ok"] and result["checked"] == n + 1 and result["checkpoints_checked"] >= 1, result

    shown = orjson.loads(riskmon(worker, services, "audit", "show", to_review).stdout)
    kinds = [e["entry"]["record"]["kind"] for e in shown["entries"]]
    assert kinds == ["decision", "review"] and all(e["proof_valid"] for e in shown["entries"])
    review_entry = shown["entries"][1]["entry"]["record"]
    assert review_entry["reviewer"] == "analyst-7" and review_entry["verdict"] == "approve"
    decision_entry = shown["entries"][0]["entry"]["record"]
    assert decision_entry["applicant_ref"].startswith("anon-") and decision_entry["features_hash"]
    trail_text = riskmon(worker, services, "audit", "export", "--out", str(tmp_path / "trail.jsonl")).stdout
    assert f"wrote {n + 1} entries" in trail_text
    exported = (tmp_path / "trail.jsonl").read_bytes()
    assert b"Jane" not in exported and b"123-45-6789" not in exported  # personal data never in the trail
    header, *lines = exported.splitlines()  # the header carries the checkpoints: the export verifies on its own
    assert orjson.loads(header)["format"] == "riskmon-audit-export" and orjson.loads(header)["checkpoints"]
    offline = riskmon(worker, services, "audit", "verify", "--file", str(tmp_path / "trail.jsonl"))
    assert offline.returncode == 0 and orjson.loads(offline.stdout)["checkpoints_checked"] >= 1, offline.stdout

    # tampering with an export is found and located
    cases = {
        "edited": (
            lambda ls: [
                ls[i].replace(b'"outcome":"reject"', b'"outcome":"approve"') if i == 10 else ls[i]
                for i in range(len(ls))
            ],
            10,
        ),
        "deleted": (lambda ls: ls[:20] + ls[21:], 20),
        "swapped": (lambda ls: ls[:30] + [ls[31], ls[30]] + ls[32:], 30),
        "inserted": (lambda ls: ls[:16] + [ls[15]] + ls[16:], 15),  # a replayed copy of entry 15
        "truncated": (lambda ls: ls[:-5], None),
    }
    for case, (tamper, first_bad) in cases.items():
        changed = tamper(list(lines))
        if case == "edited" and changed == lines:  # entry 10 was not a reject: edit its score instead
            entry = orjson.loads(lines[10])
            entry["record"]["score"] = 0.0001
            changed = lines[:10] + [orjson.dumps(entry)] + lines[11:]
        path = tmp_path / f"{case}.jsonl"
        path.write_bytes(b"\n".join([header, *changed]) + b"\n")
        run = riskmon(worker, services, "audit", "verify", "--file", str(path))
        verdict = orjson.loads(run.stdout)
        assert run.returncode == 1 and not verdict["ok"], (case, verdict)
        if first_bad is not None:
            assert verdict["first_bad_seq"] == first_bad, (case, verdict)
        else:
            assert "truncated" in verdict["problem"], (case, verdict)


def test_a_worker_killed_mid_stream_leaves_a_trail_with_no_gap(make_worker, services) -> None:
    first = make_worker().start()
    n = 400
    produce(
        services.kafka_bootstrap,
        first.topic("credit.applications"),
        [(f"app-{i:05d}".encode(), orjson.dumps(application(i))) for i in range(n)],
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill -9 once some, not all, decisions are out
        seen = consume(services.kafka_bootstrap, first.topic("credit.decisions"), expect=50, timeout=5, settle=0)
        if len(seen) >= 50:
            break
    first.stop(signal.SIGKILL)
    second = make_worker().start()
    decided = values(
        consume(services.kafka_bootstrap, second.topic("credit.decisions"), expect=n, timeout=120, settle=3)
    )
    assert {d["application_id"] for d in decided} == {f"app-{i:05d}" for i in range(n)}
    by_id: dict[str, set[bytes]] = {}
    for d in decided:  # a decision sent twice across the crash is byte-identical
        by_id.setdefault(d["application_id"], set()).add(orjson.dumps(d, option=orjson.OPT_SORT_KEYS))
    assert all(len(v) == 1 for v in by_id.values())

    result = wait_for_trail(second, services, n, timeout=120)
    assert result["ok"], result
    export = Path(second.log_path.parent / "after-crash.jsonl")
    riskmon(second, services, "audit", "export", "--out", str(export))
    entries = [orjson.loads(line) for line in export.read_bytes().splitlines()[1:]]  # after the header
    audited = [e["record"]["application_id"] for e in entries if e["record"]["kind"] == "decision"]
    assert sorted(audited) == sorted(f"app-{i:05d}" for i in range(n)), "every decision audited exactly once"
    assert [e["seq"] for e in entries] == list(range(len(entries)))
