"""`riskmon replay` and `riskmon tail` as an operator runs them, on the real broker.

Each test replays a file onto its own prefixed topics, then tails them with
``--limit`` so that the command stops by itself, and checks what it printed.
The applications test goes through a real worker: replayed applications are
decided and the decisions tailed.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import orjson
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.cli.ops.render import render_alert, render_decision
from riskmon.runtime.topics import ensure_topics
from riskmon.schemas.examples import example
from riskmon.settings import Settings
from tests.integration.conftest import consume

pytestmark = pytest.mark.integration

LEVELS_AND_DETECTORS = [
    ("info", "txn_anomaly"),
    ("warning", "cash_24h"),
    ("critical", "txn_velocity"),
    ("warning", "txn_velocity"),
    ("critical", "exposure"),
]


def riskmon(services, prefix: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the ``riskmon`` command line in a subprocess, as an operator would."""
    env = {**os.environ, "RISKMON_KAFKA_BOOTSTRAP": services.kafka_bootstrap, "RISKMON_TOPIC_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "riskmon", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def prefix(services) -> str:
    """A fresh prefix whose contract topics exist (as a worker would have created them)."""
    name = f"ops{uuid.uuid4().hex[:8]}."
    ensure_topics(Settings(kafka_bootstrap=services.kafka_bootstrap, topic_prefix=name, partitions=2))
    return name


def alerts() -> list[dict]:
    out = []
    for i, (level, detector) in enumerate(LEVELS_AND_DETECTORS):
        alert = example("alert")
        alert.update(
            alert_id=f"alr-{i}",
            dedup_key=f"{detector}:customer:c{i}",
            level=level,
            detector=detector,
            subject={"kind": "customer", "id": f"c{i}"},
            summary=f"{detector} on c{i}",
        )
        out.append(alert)
    return out


def test_replayed_alerts_are_tailed_with_filters(services, prefix: str, tmp_path: Path) -> None:
    recorded = alerts()
    lines = [orjson.dumps(a) for a in recorded]
    lines.insert(2, b'{"level": "critical", ')  # line 3: broken JSON
    lines.append(b'{"hello": "world"}')  # line 7: no field tells its type
    (tmp_path / "alerts.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    replay = riskmon(services, prefix, "replay", str(tmp_path / "alerts.jsonl"))
    assert replay.returncode == 1, replay.stderr  # bad lines are not silently skipped
    assert "replay: line 3: not valid JSON" in replay.stderr
    assert "replay: line 7: cannot tell the event type from its fields; pass --topic" in replay.stderr
    assert f"replay: 5 of 7 lines delivered to {prefix}risk.alerts; 2 bad lines, 0 not delivered" in replay.stderr

    # keyed as the contract says (by dedup_key), sent as recorded
    messages = consume(services.kafka_bootstrap, f"{prefix}risk.alerts", expect=5, timeout=30, settle=0.5)
    assert sorted((m.key(), m.value()) for m in messages) == sorted(
        (a["dedup_key"].encode(), orjson.dumps(a)) for a in recorded
    )

    critical = riskmon(services, prefix, "tail", "alerts", "--from-beginning", "--limit", "2", "--level", "critical")
    assert critical.returncode == 0, critical.stderr
    assert sorted(critical.stdout.splitlines()) == sorted(render_alert(a) for a in recorded if a["level"] == "critical")
    assert "\x1b" not in critical.stdout  # not a terminal: no colour

    velocity = riskmon(
        services,
        prefix,
        "tail",
        "alerts",
        "--from-beginning",
        "--limit",
        "2",
        "--detector",
        "txn_velocity",
        "--level",
        "warning",
    )
    assert velocity.returncode == 0, velocity.stderr
    shown = velocity.stdout.splitlines()
    assert sorted(shown) == sorted(render_alert(a) for a in recorded if a["detector"] == "txn_velocity")
    assert all(" txn_velocity " in line for line in shown)

    as_json = riskmon(services, prefix, "tail", "alerts", "--from-beginning", "--limit", "5", "--json")
    assert sorted(orjson.loads(line)["alert_id"] for line in as_json.stdout.splitlines()) == [
        f"alr-{i}" for i in range(5)
    ]


def test_tail_from_the_end_shows_only_what_arrives_after_it_started(services, prefix: str, tmp_path: Path) -> None:
    old, new = example("decision"), {**example("decision"), "application_id": "app-new", "outcome": "reject"}
    (tmp_path / "old.jsonl").write_bytes(orjson.dumps(old) + b"\n")
    (tmp_path / "new.jsonl").write_bytes(orjson.dumps(new) + b"\n")
    assert riskmon(services, prefix, "replay", str(tmp_path / "old.jsonl")).returncode == 0

    env = {**os.environ, "RISKMON_KAFKA_BOOTSTRAP": services.kafka_bootstrap, "RISKMON_TOPIC_PREFIX": prefix}
    tail = subprocess.Popen(
        [sys.executable, "-m", "riskmon", "tail", "decisions", "--limit", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(120, tail.kill)  # the test stops by itself, whatever tail does
    watchdog.start()
    try:
        ready = tail.stderr.readline()
        assert ready.startswith(f"# tailing {prefix}credit.decisions from the end"), ready
        assert riskmon(services, prefix, "replay", str(tmp_path / "new.jsonl")).returncode == 0
        out, err = tail.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    assert tail.returncode == 0, err
    assert out.splitlines() == [render_decision(new)]


def test_replayed_csv_applications_are_decided_and_the_decisions_tailed(make_worker, services, tmp_path: Path) -> None:
    worker = make_worker().start()
    n = 20
    path = tmp_path / "applications.csv"
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "application_id",
                "customer_id",
                "submitted_at",
                "amount",
                "term_months",
                "annual_income",
                "currency",
                "features.debt_to_income",
                "features.inquiries_6m",
                "applicant.name",
            ]
        )
        for i in range(n):
            out.writerow(
                [
                    f"app-{i:03d}",
                    f"cust-{i % 7}",
                    f"2026-11-29T14:{i:02d}:00Z",
                    2000 + 500 * i,
                    36,
                    30000 + 2500 * i,
                    "USD",
                    5 + i,
                    i % 4,
                    "Jane Example",
                ]
            )
            if i == 9:
                out.writerow(["app-broken", "cust-x"])  # line 12: a short row, never sent
        # delivered, then dead-lettered by the worker: the amount is not a number
        out.writerow(["app-nan", "cust-1", "2026-11-29T15:00:00Z", "lots", 36, 30000, "USD", 5, 1, "Jane Example"])
    replay = riskmon(services, worker.prefix, "replay", str(path), "--speed", "600")  # a minute apart: 0.1 s apart
    assert replay.returncode == 1, replay.stderr
    assert "replay: line 12: 2 cells, the header has 10" in replay.stderr
    assert (
        f"replay: {n + 1} of {n + 2} lines delivered to {worker.prefix}credit.applications; 1 bad lines"
        in replay.stderr
    )

    tail = riskmon(services, worker.prefix, "tail", "decisions", "--from-beginning", "--limit", str(n))
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert sorted(line.split()[4] for line in lines) == [f"app-{i:03d}" for i in range(n)]  # every one, once
    assert all(line.split()[1] in ("approve", "review", "reject") and " automated " in line for line in lines)
    assert "Jane" not in tail.stdout

    dead = riskmon(services, worker.prefix, "tail", "deadletters", "--from-beginning", "--limit", "1")
    assert dead.returncode == 0, dead.stderr
    (line,) = dead.stdout.splitlines()
    assert f" {worker.prefix}credit.applications[" in line and " key=app-nan " in line and " amount: " in line
    assert "Jane" not in line  # the original bytes, with the applicant, stay out of the readable line


def test_a_message_the_broker_refuses_is_counted_and_fails_the_replay(services, prefix: str, tmp_path: Path) -> None:
    small = f"{prefix}small"
    admin = AdminClient({"bootstrap.servers": services.kafka_bootstrap})
    # A limit above the producer's batch size (1 MB), as on real topics, so the big
    # message travels alone and its neighbours are not refused with its batch.
    admin.create_topics([NewTopic(small, 1, 1, config={"max.message.bytes": "1100000"})])[small].result(30)
    ok, big = example("application"), example("application")
    big["features"]["notes"] = "x" * 1_500_000  # over the topic's limit: the broker refuses it
    (tmp_path / "mixed.jsonl").write_bytes(orjson.dumps(ok) + b"\n" + orjson.dumps(big) + b"\n")

    replay = riskmon(services, prefix, "replay", str(tmp_path / "mixed.jsonl"), "--topic", small)
    assert replay.returncode == 1
    assert f"replay: line 2: not delivered to {small}: Broker: Message size too large" in replay.stderr
    assert f"replay: 1 of 2 lines delivered to {small}; 0 bad lines, 1 not delivered" in replay.stderr


def test_a_missing_topic_is_a_one_line_error(services, tmp_path: Path) -> None:
    (tmp_path / "one.jsonl").write_bytes(orjson.dumps(example("decision")) + b"\n")
    for argv in (["replay", str(tmp_path / "one.jsonl")], ["tail", "alerts"]):
        result = riskmon(services, "nowhere-prefix.", *argv)
        assert result.returncode == 2
        assert result.stderr.strip().endswith("a worker creates the contract topics when it starts)")
        assert "topic nowhere-prefix." in result.stderr and len(result.stderr.strip().splitlines()) == 1
