"""The worker's librdkafka output producer on the real broker.

What handlers rely on: a send's future completes only once the broker holds
the message; keys land on the partition the Java client and aiokafka (Faust)
would choose, so decisions keep their partitions; what librdkafka refuses at
once raises at once (the batch handler then dead-letters); and after close
nothing is silently queued.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.runtime.output_producer import OutputProducer
from tests.integration.conftest import consume

pytestmark = pytest.mark.integration

PARTITIONS = 3


@pytest.fixture
def topic(services) -> str:
    name = f"t{uuid.uuid4().hex[:8]}.outputs"
    admin = AdminClient({"bootstrap.servers": services.kafka_bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])[name].result(30)
    return name


def test_acknowledged_sends_are_on_the_broker_on_the_java_clients_partitions(services, topic) -> None:
    keys = [f"APP-{i:05d}".encode() for i in range(300)]

    async def scenario() -> list:
        producer = OutputProducer({"bootstrap.servers": services.kafka_bootstrap}, max_message_bytes=1_000_000)
        try:
            futures = [await producer.send(topic, key, b"v-" + key) for key in keys]
            results = await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
            assert producer.pending() == 0  # every report was handed back: nothing still in flight
            return results
        finally:
            assert producer.close() == 0

    assert asyncio.run(scenario()) == [None] * len(keys)
    messages = consume(services.kafka_bootstrap, topic, expect=len(keys), settle=1.0)
    assert sorted(m.key() for m in messages) == sorted(keys)  # each exactly once
    java = DefaultPartitioner()
    all_partitions = list(range(PARTITIONS))
    for m in messages:
        assert m.value() == b"v-" + m.key()
        assert m.partition() == java(m.key(), all_partitions, all_partitions), m.key()


def test_a_message_over_the_limit_raises_at_once_and_a_closed_producer_refuses(services, topic) -> None:
    async def scenario() -> None:
        producer = OutputProducer({"bootstrap.servers": services.kafka_bootstrap}, max_message_bytes=10_000)
        ok = await producer.send(topic, b"small", b"x" * 100)
        with pytest.raises(KafkaException):
            await producer.send(topic, b"large", b"x" * 20_000)
        await asyncio.wait_for(ok, timeout=30)
        assert producer.close() == 0
        with pytest.raises(RuntimeError, match="closed"):
            await producer.send(topic, b"late", b"x")

    asyncio.run(scenario())
    assert [m.key() for m in consume(services.kafka_bootstrap, topic, expect=1, settle=1.0)] == [b"small"]
