"""Reading the audit trail back from Kafka, and where its checkpoints live.

``risk.audit`` has one partition and no retention limit: the whole chain, in
order. Checkpoints of the chain head (size, Merkle root, head, Ed25519 signature) are kept
apart from the log, in Redis (``<ns>:audit:checkpoints``, a list) so that
whoever can rewrite the topic cannot also rewrite what it was checked
against; export them to write-once storage for long-term custody.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import redis
from confluent_kafka import Consumer, TopicPartition

from riskmon.client import watermark_high

__all__ = ["read_audit_log", "checkpoint_key", "read_checkpoints"]


def read_audit_log(
    config: dict[str, str | int | float | bool], topic: str, *, timeout: float = 60.0, topic_wait: float = 30.0
) -> list[dict[str, Any]]:
    """Every committed entry of the (single-partition) audit topic, from the first, in order.

    ``read_committed``: a batch of a writer that was fenced or failed is aborted, and never read.
    ``topic_wait``: how long a topic that does not answer (being created, or missing) is waited for
    before :class:`confluent_kafka.KafkaException`; ``timeout``: how long the read may take.
    """
    consumer = Consumer(
        {
            **config,
            "group.id": f"riskmon-audit-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    try:
        tp = TopicPartition(topic, 0)
        end = watermark_high(consumer, tp, timeout=topic_wait)
        if end == 0:
            return []
        consumer.assign([TopicPartition(topic, 0, 0)])
        entries: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        position = 0
        while position < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read up to offset {position} of {end} in {topic} before timing out")
            for msg in consumer.consume(1000, timeout=0.5):
                value, offset = msg.value(), msg.offset()
                if msg.error() or value is None or offset is None:
                    continue
                entries.append(orjson.loads(value))
                position = max(position, offset + 1)
            # the consumer's position, not the last entry's offset: the writer's transaction
            # markers take offsets too, and the log's last offset is usually one of them
            position = max(position, consumer.position([TopicPartition(topic, 0)])[0].offset)
        return entries
    finally:
        consumer.close()


def checkpoint_key(namespace: str) -> str:
    return f"{namespace}:audit:checkpoints"


def read_checkpoints(client: redis.Redis, namespace: str) -> list[dict[str, Any]]:
    """All checkpoints kept for this environment, oldest first."""
    return [orjson.loads(x) for x in client.lrange(checkpoint_key(namespace), 0, -1)]
