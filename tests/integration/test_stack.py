"""The local stack against the real servers: a real Kafka broker and a real redis-server.

One ordered scenario in one test, on a stack directory of its own, so a single
Kafka start (~3 s once the jars are cached) covers the whole life cycle; the
``finally`` stops everything even when an assertion fails.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.stack import StackInfo, down, status, up
from riskmon.stack.ports import is_listening
from riskmon.stack.process import is_alive, stop

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _roundtrip_kafka(bootstrap: str, topic: str) -> bytes:
    """Create ``topic``, produce one record and read it back through a consumer group."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    payload = f"hello {topic}".encode()
    producer.produce(topic, key=b"k", value=payload)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                return msg.value()
        raise AssertionError(f"no record came back from {topic}")
    finally:
        consumer.close()


def _serves(info: StackInfo) -> bool:
    metadata = AdminClient({"bootstrap.servers": info.kafka_bootstrap}).list_topics(timeout=10)
    return 1 in metadata.brokers and redis.Redis.from_url(info.redis_url).ping()


def _ports(stack_dir) -> list[int]:
    """Kafka, Kafka controller and Redis ports recorded in the state file."""
    state = json.loads((stack_dir / "stack.json").read_text())
    return [state["kafka"]["port"], state["kafka"]["controller_port"], state["redis"]["port"]]


def test_stack_life_cycle(tmp_path):
    stack_dir = tmp_path / "stack"
    lines: list[str] = []
    try:
        # 1. `up` starts both and waits until they really serve.
        first = up(stack_dir, progress=lines.append)
        assert first.started
        assert any(line.startswith("Kafka ready in") for line in lines), lines
        topic = f"stack-test-{uuid.uuid4().hex[:8]}"
        assert _roundtrip_kafka(first.kafka_bootstrap, topic) == f"hello {topic}".encode()
        client = redis.Redis.from_url(first.redis_url)
        client.set("stack-test", "ok")
        assert client.get("stack-test") == b"ok"
        ports = _ports(stack_dir)

        # 2. `up` again changes nothing.
        again = up(stack_dir)
        assert again == StackInfo(
            first.dir, first.kafka_bootstrap, first.redis_url, first.kafka_pid, first.redis_pid, started=False
        )
        assert status(stack_dir) == again
        assert _serves(again)

        # 3. With only Redis gone, `up` starts Redis alone, on the same port.
        stop([(first.redis_pid, str(stack_dir / "redis" / "redis.conf"))], timeout=10)
        assert status(stack_dir) is None
        healed = up(stack_dir)
        assert healed.started and healed.kafka_pid == first.kafka_pid
        assert healed.redis_pid != first.redis_pid and healed.redis_url == first.redis_url

        # 4. `down` stops both, and nothing of ours stays alive or listening.
        stopped = down(stack_dir)
        assert len(stopped) == 2 and stopped[0].startswith("Kafka (pid") and stopped[1].startswith("Redis (pid")
        assert not is_alive(healed.kafka_pid) and not is_alive(healed.redis_pid)
        assert not any(is_listening(port) for port in ports)
        assert status(stack_dir) is None

        # 5. `down` again has nothing to do.
        assert down(stack_dir) == []

        # 6. A later `up` comes back on the same ports with the data kept.
        back = up(stack_dir)
        assert back.started and _ports(stack_dir) == ports
        topics = AdminClient({"bootstrap.servers": back.kafka_bootstrap}).list_topics(timeout=10).topics
        assert topic in topics
        assert len(down(stack_dir)) == 2
    finally:
        down(stack_dir)
