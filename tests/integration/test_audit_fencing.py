"""Two audit writers overlapping on the real broker: the newer one fences the older.

A rebalance can leave the worker that lost ``risk.audit.pending`` finishing a
batch while the worker that got it resumes the chain. Both share the
transactional id, so once the new writer has started (``InitProducerId``),
the old writer's next commit fails: nothing it computed against the head it
knew reaches the log, the chain never forks, and the batch it gave up is
chained by the new writer, exactly once.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.audit import verify
from riskmon.audit.log import read_audit_log, read_checkpoints
from riskmon.audit.signing import CheckpointSigner
from riskmon.audit.writer import AuditWriter
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore

pytestmark = pytest.mark.integration

PENDING = "risk.audit.pending"


def pending(offset: int, *ids: str) -> Incoming:
    records = [{"kind": "decision", "decision_id": i, "application_id": i.removeprefix("dec-")} for i in ids]
    return Incoming(PENDING, 0, offset, None, orjson.dumps({"records": records}), 0.0)


def test_the_old_writer_cannot_append_once_the_new_one_started(services) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}.risk.audit"
    admin = AdminClient({"bootstrap.servers": services.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    namespace = f"riskmon:t{uuid.uuid4().hex[:8]}"
    kafka = {"bootstrap.servers": services.kafka_bootstrap}
    signer = CheckpointSigner.generate()
    old_owns = [True]

    async def scenario() -> tuple[AuditWriter, AuditWriter]:
        stores = [DecisionStore(services.redis_url, ttl_seconds=600, namespace=namespace) for _ in range(2)]
        old, new = (
            AuditWriter(
                store=store,
                audit_topic=topic,
                kafka_config=kafka,
                signer=signer,
                app_id=f"fence-{namespace[-8:]}",  # the same transactional id, as on two workers of one deployment
                checkpoint_every=1,
                owns=owns,
            )
            for store, owns in zip(stores, (lambda: old_owns[0], lambda: True), strict=True)
        )
        try:
            await old.handle([pending(0, "dec-a", "dec-b")])  # the old writer holds the partition and appends
            old_owns[0] = False  # a rebalance moves the partition ...
            await new.handle([pending(0, "dec-a", "dec-b")])  # ... the new writer resumes (fencing the old) ...
            await old.handle([pending(1, "dec-c")])  # ... while the old one is still finishing a batch
            assert old.fenced == 1, "the old writer's commit must fail once the new one started"
            await new.handle([pending(1, "dec-c"), pending(2, "dec-d")])  # the new writer reads that batch again
            return old, new
        finally:
            for writer in (old, new):
                writer.close()
            for store in stores:
                await store.close()

    asyncio.run(scenario())

    entries = read_audit_log(kafka, topic)
    assert [e["record"]["decision_id"] for e in entries] == ["dec-a", "dec-b", "dec-c", "dec-d"]
    assert [e["seq"] for e in entries] == [0, 1, 2, 3], "one chain, no fork"
    import redis

    checkpoints = read_checkpoints(redis.Redis.from_url(services.redis_url), namespace)
    result = verify(entries, checkpoints=checkpoints, public_keys={signer.key_id: signer.public_key})
    assert result.ok and result.checkpoints_checked >= 2, result
    assert all(cp["alg"] == "ed25519" and cp["key_id"] == signer.key_id for cp in checkpoints)
