"""``riskmon backtest record``: the input topics, as they are now, into a file the backtest reads.

It reads the four contract input topics from their first retained offset up
to their end at the moment it starts (a snapshot: later messages are left
out), with a consumer that joins no group and commits nothing, so the
workers' positions are untouched. Records are written in the order the
brokers stamped them (each partition's own order is kept; across partitions
and topics, by broker timestamp).

Each message whose bytes are a JSON object that replay's rule assigns to the
topic it came from is written as it is: its original bytes, one line, the
format ``riskmon replay`` sends back. Any other message (not JSON, not an
object, fields that do not tell its topic) is wrapped as ``{"topic", "key",
"value", "timestamp"}``, its value as raw text (base64 when not UTF-8), so
the backtest counts it as the dead letter it was; replay reports such lines
instead of sending them. Topic names are written without the deployment's
prefix. The whole snapshot is held in memory to be merged: record a bounded
retention, not years of history.
"""

from __future__ import annotations

import base64
import heapq
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition

from riskmon.backtest.recorded import TOPICS, infer_topic
from riskmon.schemas import DEFAULT_MAX_MESSAGE_BYTES
from riskmon.settings import Settings

__all__ = ["RecordError", "line_for", "record", "wrap"]


class RecordError(RuntimeError):
    """The topics could not be recorded; the message says why."""


def line_for(topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int | None) -> bytes:
    """The recorded line of a consumed message, without its newline (see module doc).

    >>> line_for("credit.reviews", b"a-1", b'{"application_id": "a-1", "reviewer": "r"}', 5)
    b'{"application_id": "a-1", "reviewer": "r"}'
    >>> line_for("credit.reviews", b"a-1", b'{"application_id": "a-1"}', 5)  # replay would send it to applications
    b'{"topic":"credit.reviews","key":"a-1","value":{"application_id":"a-1"},"timestamp":5}'
    """
    raw = (value or b"").strip()
    if b"\n" not in raw and b"\r" not in raw and len(raw) <= DEFAULT_MAX_MESSAGE_BYTES:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        if isinstance(doc, dict) and "topic" not in doc and infer_topic(doc) == topic and raw == value:
            return raw
    return orjson.dumps(wrap(topic, key, value, timestamp_ms))


def wrap(topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int | None) -> dict[str, Any]:
    """A message as a wrapped record (see module doc).

    >>> wrap("credit.reviews", b"a-1", b'{"application_id": "a-1"}', 5)
    {'topic': 'credit.reviews', 'key': 'a-1', 'value': {'application_id': 'a-1'}, 'timestamp': 5}
    >>> wrap("credit.reviews", None, b"\\xff", None)["value_encoding"]
    'base64'
    """
    doc: dict[str, Any] = {"topic": topic, "key": _text(key), "value": None, "timestamp": timestamp_ms}
    raw = value or b""
    parsed: Any = None
    if len(raw) <= DEFAULT_MAX_MESSAGE_BYTES:  # larger: keep the exact bytes, so the size rule sees them
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
    if isinstance(parsed, dict):
        doc["value"] = parsed
        return doc
    try:
        doc["value"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        doc["value"] = base64.b64encode(raw).decode("ascii")
        doc["value_encoding"] = "base64"
    return doc


def _text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _read(consumer: Consumer, settings: Settings, deadline: float) -> dict[tuple[str, int], list[Any]]:
    """Every message of the input topics up to their current end, per partition in offset order."""
    meta = consumer.list_topics(timeout=max(1.0, deadline - time.monotonic()))
    ends: dict[tuple[str, int], int] = {}
    starts = []
    for topic in TOPICS:
        name = settings.topic(topic)
        if name not in meta.topics:
            continue
        for p in meta.topics[name].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
            if high > low:
                ends[(name, p)] = high
                starts.append(TopicPartition(name, p, low))
    got: dict[tuple[str, int], list[Any]] = {tp: [] for tp in ends}
    if not starts:
        return got
    consumer.assign(starts)
    pending = set(ends)
    while pending:
        if time.monotonic() > deadline:
            raise RecordError(f"timed out: {len(pending)} partitions not read to their end; raise --timeout")
        msg = consumer.poll(0.5)
        if msg is None:  # a gap at the end (a transaction marker, a compacted record) is never delivered
            positions = consumer.position([TopicPartition(t, p) for t, p in pending])
            pending -= {(tp.topic, tp.partition) for tp in positions if tp.offset >= ends[(tp.topic, tp.partition)]}
            continue
        if msg.error():
            raise RecordError(f"cannot read {msg.topic()}: {msg.error()}")
        tp = (msg.topic(), msg.partition())
        if tp not in pending:
            continue
        got[tp].append(msg)
        offset = msg.offset()
        if offset is not None and offset >= ends[tp] - 1:
            pending.discard(tp)
    return got


def _merged(parts: dict[tuple[str, int], list[Any]]) -> Iterator[Any]:
    """One stream in broker-timestamp order; each partition's own order is kept (``heapq.merge`` is stable)."""
    return heapq.merge(*parts.values(), key=lambda m: m.timestamp()[1])


def record(settings: Settings, out: str | Path, *, timeout: float = 60.0) -> dict[str, int]:
    """Write the input topics' current contents to ``out``; returns the events written per topic."""
    conf = {
        **settings.confluent_config(),
        "group.id": f"riskmon-recorder-{uuid.uuid4().hex[:12]}",  # assigned, never subscribed: no group joins
        "enable.auto.commit": False,
        "fetch.message.max.bytes": 10_000_000,
    }
    consumer = Consumer(conf)
    deadline = time.monotonic() + timeout
    try:
        try:
            parts = _read(consumer, settings, deadline)
        except KafkaException as exc:
            raise RecordError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from None
    finally:
        consumer.close()
    counts = {topic: 0 for topic in TOPICS}
    prefix = len(settings.topic_prefix)
    with open(out, "wb") as handle:
        for m in _merged(parts):
            topic = m.topic()[prefix:]
            counts[topic] += 1
            handle.write(line_for(topic, m.key(), m.value(), m.timestamp()[1]) + b"\n")
    return counts
