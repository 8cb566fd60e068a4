"""The worker's Kafka consumer waits ``RISKMON_FETCH_MAX_WAIT_MS`` per fetch, not Faust's 1,500 ms.

A behaviour test on the real broker, with the aiokafka consumer the worker's
Faust app really builds (``create_app`` -> its transport -> its consumer
thread). The situation that made Faust's latency 1.3 s at 1,000 events/s,
set up on purpose: partition 0 holds a record the consumer has fetched but not
yet handed over, so aiokafka's next fetch to the broker asks for partition 1
only, which has no data, and the broker holds that fetch for the fetch wait.
The record then produced to partition 0 cannot be fetched before that fetch
returns. With 1,500 ms it arrives about a second later (the control case,
which shows the test can see the problem); with the worker's setting, within
a fraction of that.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka import TopicPartition
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.config import load_config
from riskmon.settings import Settings
from riskmon.stream.app import create_app

pytestmark = pytest.mark.integration


def _topic(bootstrap: str) -> str:
    name = f"t{uuid.uuid4().hex[:8]}.fetch-wait"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])[name].result(30)
    return name


def _produce(bootstrap: str, topic: str, partition: int, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    producer.produce(topic, value=value, partition=partition)
    assert producer.flush(10) == 0


async def _held_back_seconds(settings: Settings, topic: str) -> float:
    """How long a record produced to a just-drained partition takes to reach the worker's consumer."""
    app = create_app(settings, load_config(None))
    consumer = app.consumer._thread._create_worker_consumer(app.transport)  # exactly as the worker builds it
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    await consumer.start()
    try:
        consumer.assign([p0, p1])
        await consumer.seek_to_end(p0, p1)
        _produce(settings.kafka_bootstrap, topic, 0, b"first")
        await asyncio.sleep(0.2)  # fetched and buffered; meanwhile a fetch for partition 1 alone waits on the broker
        assert (await asyncio.wait_for(consumer.getone(p0), 5)).value == b"first"
        began = time.monotonic()
        _produce(settings.kafka_bootstrap, topic, 0, b"second")
        assert (await asyncio.wait_for(consumer.getone(p0), 10)).value == b"second"
        return time.monotonic() - began
    finally:
        await consumer.stop()
        app.riskmon_gc_pauses.uninstall()


def test_a_drained_partition_waits_no_longer_than_the_configured_fetch_wait(services) -> None:
    settings = Settings(kafka_bootstrap=services.kafka_bootstrap, redis_url=services.redis_url, web_port=0)
    assert settings.fetch_max_wait_ms == 100
    faust_default = asyncio.run(
        _held_back_seconds(settings.with_overrides(fetch_max_wait_ms=1500), _topic(services.kafka_bootstrap))
    )
    ours = asyncio.run(_held_back_seconds(settings, _topic(services.kafka_bootstrap)))
    assert faust_default > 0.6, f"the control did not reproduce Faust's wait ({faust_default:.3f} s)"
    assert ours < 0.4, f"held back {ours:.3f} s with a 100 ms fetch wait (Faust's 1500 ms: {faust_default:.3f} s)"
