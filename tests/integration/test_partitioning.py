"""Every way into the system puts a key on the partition the worker expects.

The HTTP API (Faust, aiokafka) and the worker's outputs use the Java client's
murmur2 partitioner. The Python client and ``riskmon replay`` use librdkafka,
whose default is CRC32: with it, the same application id would land on one
partition when submitted over HTTP and on another when replayed, and per-key
order across the two paths would be lost. These tests fail with the default.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from riskmon.cli.ops.replay import ReplayOptions, run_replay
from riskmon.client import DecisionClient, DecisionTimeout
from riskmon.runtime.topics import ensure_topics
from riskmon.settings import Settings
from tests.integration.conftest import consume

PARTITIONS = 6


def _contract_topics(bootstrap: str) -> Settings:
    """Settings for a fresh prefix whose contract topics exist, with PARTITIONS partitions each."""
    settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"part-{uuid.uuid4().hex[:8]}.", partitions=PARTITIONS)
    ensure_topics(settings)
    return settings


def _assert_java_partitions(messages: list, keys: list[bytes]) -> None:
    assert sorted(m.key() for m in messages) == sorted(keys)
    java = DefaultPartitioner()
    every = list(range(PARTITIONS))
    assert len({m.partition() for m in messages}) > 1  # the keys really were spread
    for m in messages:
        assert m.partition() == java(m.key(), every, every), m.key()


def test_the_python_client_submits_on_the_java_clients_partition(services) -> None:
    settings = _contract_topics(services.kafka_bootstrap)
    keys = [f"APP-C-{i:03d}" for i in range(24)]
    with DecisionClient(services.kafka_bootstrap, topic_prefix=settings.topic_prefix) as client:
        for key in keys:
            with pytest.raises(DecisionTimeout):  # no worker: the application is sent, never decided
                client.submit({"application_id": key}, timeout=0.05)
    messages = consume(services.kafka_bootstrap, settings.topic("credit.applications"), expect=len(keys), settle=0.5)
    _assert_java_partitions(messages, [k.encode() for k in keys])


def test_replay_sends_keys_to_the_java_clients_partition(services, tmp_path: Path) -> None:
    settings = _contract_topics(services.kafka_bootstrap)
    topic = settings.topic("credit.applications")
    keys = [f"APP-R-{i:03d}" for i in range(60)]
    path = tmp_path / "applications.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"application_id": k, "amount": 1000}) + b"\n" for k in keys))
    result = run_replay(settings, ReplayOptions(path=path, topic=topic, key_field="application_id"))
    assert result.ok and result.sent == len(keys)
    messages = consume(services.kafka_bootstrap, topic, expect=len(keys), settle=0.5)
    _assert_java_partitions(messages, [k.encode() for k in keys])
