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

The second test checks the fetch minimum (``RISKMON_FETCH_MIN_BYTES``): under a
steady trickle of records, the worker's consumer makes one fetch per fetch
wait, not one per record, counted on the real client's requests.
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
from riskmon.runtime.app import create_app
from riskmon.settings import Settings

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
    assert (settings.fetch_max_wait_ms, settings.fetch_min_bytes) == (10, 65536)
    faust_default = asyncio.run(
        _held_back_seconds(settings.with_overrides(fetch_max_wait_ms=1500), _topic(services.kafka_bootstrap))
    )
    ours = asyncio.run(_held_back_seconds(settings, _topic(services.kafka_bootstrap)))
    assert faust_default > 0.6, f"the control did not reproduce Faust's wait ({faust_default:.3f} s)"
    assert ours < 0.4, f"held back {ours:.3f} s with a 10 ms fetch wait (Faust's 1500 ms: {faust_default:.3f} s)"


def _count_fetches(consumer) -> list[int]:  # type: ignore[no-untyped-def]
    """A running count of the fetch requests ``consumer``'s own client sends to the broker."""
    count = [0]
    send = consumer._client.send

    async def counting_send(node_id, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if type(request).__name__.startswith("FetchRequest"):
            count[0] += 1
        return await send(node_id, request, *args, **kwargs)

    consumer._client.send = counting_send
    return count


async def _fetches_for_a_trickle(settings: Settings, topic: str, records: int = 300, gap: float = 0.002) -> int:
    """Fetch requests the worker's consumer makes while ``records`` arrive one every ``gap`` seconds."""
    app = create_app(settings, load_config(None))
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    tp = TopicPartition(topic, 0)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        fetches = _count_fetches(consumer)

        def trickle() -> None:
            producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 0})
            for _i in range(records):
                producer.produce(topic, value=b"x" * 200, partition=0)
                producer.poll(0)
                time.sleep(gap)
            assert producer.flush(10) == 0

        producing = asyncio.get_running_loop().run_in_executor(None, trickle)
        received = 0
        deadline = time.monotonic() + 30
        while received < records and time.monotonic() < deadline:
            received += len((await consumer.getmany(tp, timeout_ms=1000)).get(tp, []))
        await producing
        assert received == records, f"received {received} of {records} records"
        return fetches[0]
    finally:
        await consumer.stop()
        app.riskmon_gc_pauses.uninstall()


def test_under_a_trickle_of_records_fetches_come_once_per_wait_not_once_per_record(services) -> None:
    settings = Settings(kafka_bootstrap=services.kafka_bootstrap, redis_url=services.redis_url, web_port=0)
    per_record = asyncio.run(  # aiokafka's default minimum: the broker answers with the first record
        _fetches_for_a_trickle(settings.with_overrides(fetch_min_bytes=1), _topic(services.kafka_bootstrap))
    )
    ours = asyncio.run(_fetches_for_a_trickle(settings, _topic(services.kafka_bootstrap)))
    assert per_record > 100, f"the control made only {per_record} fetches for 300 records: it shows nothing"
    assert ours * 2 <= per_record, f"{ours} fetches with the 64 KiB minimum, {per_record} with none"
