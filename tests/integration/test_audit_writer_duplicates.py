"""The audit writer on the real broker and Redis: a decision sent twice upstream is chained once.

Two holes a kill -9 run found (one decision audited twice in 1,425): the
same record twice in one batch (both passed the Redis check made before the
batch), and a writer killed after the broker acknowledged its entries but
before it marked them in Redis (the re-sent record found no mark).
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import orjson
import pytest
import redis
from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.audit.log import read_audit_log
from riskmon.audit.signing import CheckpointSigner
from riskmon.audit.writer import AuditWriter
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore

pytestmark = pytest.mark.integration

PENDING = "risk.audit.pending"


def record(decision_id: str) -> dict:
    return {"kind": "decision", "decision_id": decision_id, "application_id": decision_id.removeprefix("dec-")}


def pending(offset: int, *records: dict) -> Incoming:
    return Incoming(PENDING, 0, offset, None, orjson.dumps({"records": list(records)}), 0.0)


@pytest.fixture
def audit_topic(services) -> str:
    name = f"t{uuid.uuid4().hex[:8]}.risk.audit"
    admin = AdminClient({"bootstrap.servers": services.kafka_bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)
    return name


def run_writer(services, topic: str, namespace: str, batches: list[list[Incoming]]) -> None:
    """A fresh writer (it resumes from the log, as after a restart) handles ``batches``."""

    async def scenario() -> None:
        kafka = {"bootstrap.servers": services.kafka_bootstrap}
        store = DecisionStore(services.redis_url, ttl_seconds=600, namespace=namespace)
        writer = AuditWriter(
            store=store,
            audit_topic=topic,
            kafka_config=kafka,
            signer=CheckpointSigner.development(),
            app_id=namespace.replace(":", "-"),
        )
        try:
            for batch in batches:
                await writer.handle(batch)
        finally:
            writer.close()
            await store.close()

    asyncio.run(scenario())


def chained(services, topic: str) -> list[str]:
    return [e["record"]["decision_id"] for e in read_audit_log({"bootstrap.servers": services.kafka_bootstrap}, topic)]


def test_the_same_record_twice_in_one_batch_is_chained_once(services, audit_topic) -> None:
    namespace = f"riskmon:t{uuid.uuid4().hex[:8]}"
    run_writer(
        services, audit_topic, namespace, [[pending(0, record("dec-a"), record("dec-b")), pending(1, record("dec-a"))]]
    )
    assert chained(services, audit_topic) == ["dec-a", "dec-b"]


def test_a_writer_killed_before_it_marked_leaves_no_second_entry_for_a_resent_record(services, audit_topic) -> None:
    namespace = f"riskmon:t{uuid.uuid4().hex[:8]}"
    run_writer(
        services,
        audit_topic,
        namespace,
        [[pending(0, record("dec-a"))], [pending(1, record("dec-b"), record("dec-c"))]],
    )
    plain = redis.Redis.from_url(services.redis_url)
    marks = plain.keys(f"{namespace}:audited:*")
    assert len(marks) == 3
    plain.delete(*marks)  # as if the writer had died after the broker's ack, before its marks

    # the worker that decided dec-c was killed before it recorded the delivery: it sends the record again
    run_writer(services, audit_topic, namespace, [[pending(2, record("dec-c"), record("dec-d"))]])
    assert chained(services, audit_topic) == ["dec-a", "dec-b", "dec-c", "dec-d"]


def test_the_timers_checkpoint_waits_until_the_batch_is_acknowledged(services, audit_topic) -> None:
    # A checkpoint that covers entries the broker never got makes the next resume
    # refuse the whole log ("truncated tail"): the writer would stop appending.
    namespace = f"riskmon:t{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple:
        kafka = {"bootstrap.servers": services.kafka_bootstrap}
        store = DecisionStore(services.redis_url, ttl_seconds=600, namespace=namespace)
        release = threading.Event()
        writer = AuditWriter(
            store=store,
            audit_topic=audit_topic,
            kafka_config=kafka,
            signer=CheckpointSigner.development(),
            app_id=namespace.replace(":", "-"),
            checkpoint_every=1_000,
        )
        commit = writer._appender.append

        def slow_commit(entries: list) -> None:
            release.wait(30)  # the broker's acknowledgement is late
            commit(entries)

        writer._appender.append = slow_commit  # type: ignore[method-assign]
        try:
            handling = asyncio.ensure_future(writer.handle([pending(0, record("dec-a"), record("dec-b"))]))
            await asyncio.sleep(3)  # resumed, chained in memory, waiting for the commit
            during = await writer.checkpoint()
            release.set()
            await handling
            after = await writer.checkpoint()
            return during, after
        finally:
            writer.close()
            await store.close()

    during, after = asyncio.run(scenario())
    assert during is None
    assert after is not None and after["size"] == 2
