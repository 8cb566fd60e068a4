"""Roles over processes: one worker per role gives the same results as one worker for all,
and a decision worker killed with -9 hands its partitions on within seconds, losing nothing.

Each role is its own consumer group (``<app id>-<role>``), so these tests look
at three groups reading one set of topics, as docker-compose.yml runs them.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from tests.integration.test_customer_profile import (
    approve_then_alert,
    codes,
    decisions_of,
    holds,
    reader_for,  # noqa: F401 - the fixture
    safe_application,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


def assigned_topics(bootstrap: str, group: str) -> set[str]:
    """The topics ``group``'s members hold, Faust's own (its assignor's leader topic) left out."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
    held = {tp.topic for m in desc.members for tp in (m.assignment.topic_partitions if m.assignment else [])}
    return {topic for topic in held if "__assignor" not in topic}


def test_three_role_workers_decide_alert_hold_and_audit_as_one_does(make_worker, services, reader_for) -> None:  # noqa: F811
    decisions = make_worker(RISKMON_ROLE="decisions").start()
    transactions = make_worker(RISKMON_ROLE="transactions", RISKMON_WEB_PORT="0").start()
    background = make_worker(RISKMON_ROLE="background", RISKMON_WEB_PORT="0").start()
    t = decisions.topic
    # each group holds its own role's topics and nothing else
    assert assigned_topics(services.kafka_bootstrap, decisions.group_id) == {
        t("credit.applications"),
        t("credit.reviews"),
    }
    assert assigned_topics(services.kafka_bootstrap, transactions.group_id) == {
        t("credit.transactions"),
        t("credit.repayments"),
        t("credit.transaction_outcomes"),
    }
    assert assigned_topics(services.kafka_bootstrap, background.group_id) == {
        t("risk.portfolio.events"),
        t("risk.audit.pending"),
        t("risk.model.training"),
        t("risk.fraud.training"),
        t("risk.alerts.candidates"),
    }
    # the linked response crosses all three: an approval (decisions), a cash-out (transactions),
    # its critical alert and the hold it issues (background), each audited (background)
    reader = reader_for(decisions)
    approval = approve_then_alert(decisions, reader, "cust-roles", "ro-1")
    reader.wait_until(lambda r: bool(holds(r, "ro-1")), timeout=90, what="the hold")
    (hold,) = holds(reader, "ro-1")
    assert (hold["outcome"], hold["supersedes"], codes(hold)) == ("review", approval["decision_id"], ["CUSTOMER_ALERT"])
    assert any(a["detector"] == "cash_24h" and a["level"] == "critical" for a in reader.docs("risk.alerts"))
    reader.wait_until(
        lambda r: (
            {e["record"].get("decision_id") for e in r.docs("risk.audit")}
            >= {approval["decision_id"], hold["decision_id"]}
        ),
        timeout=90,
        what="the approval and the hold in the audit trail",
    )
    # the customer's open alert now sends a new application to review, decided on the decision worker
    from tests.integration.conftest import produce

    produce(
        services.kafka_bootstrap,
        t("credit.applications"),
        [(b"ro-2", orjson.dumps(safe_application("ro-2", "cust-roles")))],
    )
    reader.wait_until(lambda r: bool(decisions_of(r, "ro-2")), timeout=60, what="the second decision")
    second = decisions_of(reader, "ro-2")[0]
    assert second["outcome"] == "review" and "CUSTOMER_ALERT" in codes(second)


class PartitionFeeder(threading.Thread):
    """Applications at a steady rate; remembers which input partition each one went to."""

    def __init__(self, bootstrap: str, topic: str, n: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.topic, self.n, self.rate = topic, n, rate
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
        self.partition_of: dict[str, int] = {}
        self.failed = 0

    def run(self) -> None:
        started = time.monotonic()
        for i in range(self.n):
            app_id = f"fo-{i:05d}"

            def delivered(err: Any, msg: Any, app_id: str = app_id) -> None:
                if err is None:
                    self.partition_of[app_id] = msg.partition()
                else:
                    self.failed += 1

            self.producer.produce(
                self.topic,
                key=app_id.encode(),
                value=orjson.dumps(safe_application(app_id, f"cust-fo-{i % 97}")),
                on_delivery=delivered,
            )
            self.producer.poll(0)
            time.sleep(max(0.0, started + (i + 1) / self.rate - time.monotonic()))
        self.producer.flush(60)


def decided_at(bootstrap: str, topic: str, expect: set[str], timeout: float) -> dict[str, float]:
    """When (broker time, seconds) each expected application's first decision was written."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"fo-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not expect <= seen.keys():
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            app_id = orjson.loads(msg.value())["application_id"]
            seen.setdefault(app_id, msg.timestamp()[1] / 1000)
    finally:
        consumer.close()
    return seen


def test_a_killed_decision_worker_hands_its_partitions_on_within_seconds_and_loses_nothing(
    make_worker, services
) -> None:
    env = {"RISKMON_ROLE": "decisions", "RISKMON_PARTITIONS": "4", "RISKMON_WEB_PORT": "0"}
    first = make_worker(**env).start()
    second = make_worker(**env).start()
    feeder = PartitionFeeder(services.kafka_bootstrap, first.topic("credit.applications"), 1200, rate=40)
    feeder.start()
    time.sleep(10)
    killed_at = time.time()
    second.stop(signal.SIGKILL)
    feeder.join(120)
    assert not feeder.is_alive() and feeder.failed == 0
    sent = set(feeder.partition_of)
    seen = decided_at(services.kafka_bootstrap, first.topic("credit.decisions"), sent, timeout=120)
    assert sent <= seen.keys(), f"{len(sent - seen.keys())} applications never decided"
    # per input partition: how long after the kill its applications were decided again
    resumed: dict[int, float] = {}
    for app_id, at in seen.items():
        partition = feeder.partition_of.get(app_id)
        if partition is not None and at > killed_at:
            resumed[partition] = min(resumed.get(partition, at), at)
    gaps = {p: round(at - killed_at, 2) for p, at in sorted(resumed.items())}
    assert len(gaps) == 4, gaps
    print(f"failover: seconds from kill -9 to the first decision again, by input partition: {gaps}")
    # Faust's own session timeout (60 s) would stall the killed worker's partitions for a minute
    assert max(gaps.values()) < 30, gaps


def test_roles_split_a_killed_background_and_a_killed_decision_worker_lose_nothing(
    make_worker,
    services,
    reader_for,  # noqa: F811
) -> None:
    """kill -9 of the background worker (audit writer, learner, alert manager), then of the
    decision worker, each replaced, while applications flow: every application decided once,
    every bad input dead-lettered, every decision audited once, as with one worker."""
    from tests.integration.test_faults import Feeder, audit_caught_up
    from tests.integration.verifier import verify

    role = lambda name: make_worker(RISKMON_ROLE=name, RISKMON_WEB_PORT="0")  # noqa: E731
    decisions = make_worker(RISKMON_ROLE="decisions").start()
    role("transactions").start()
    background = role("background").start()
    feeder = Feeder(services.kafka_bootstrap, decisions.topic("credit.applications"), 800, rate=40, tag="rk")
    feeder.start()
    time.sleep(5)
    background.stop(signal.SIGKILL)  # mid-stream: audit batches and portfolio summaries in flight
    background = role("background").start()
    time.sleep(3)
    decisions.stop(signal.SIGKILL)
    decisions = role("decisions").start()
    feeder.join(120)
    assert not feeder.is_alive() and feeder.failed == 0
    expected = feeder.expected()
    assert len(expected.valid) == 760 and len(expected.bad) == 40

    reader = reader_for(decisions)
    reader.wait_until(
        lambda r: r.accounted_for(expected) and audit_caught_up(r),
        timeout=180,
        what="every input decided or dead-lettered, and audited",
    )
    for worker in (decisions, background):
        worker.assert_alive()
        assert worker.stop() == 0, worker.log_tail()
    reader.read_to_end()
    report = verify(reader, expected, audit=True, max_deadletter_repeats=5)
    print(f"roles, kill -9 of background then decisions: {report}")
