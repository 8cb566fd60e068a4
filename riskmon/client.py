"""A Python client for approval services: submit an application, await its decision.

Why a watcher over all partitions: decisions are keyed by application id and
the worker's producer picks the partition, so a client cannot know in advance
where its decision lands. One background consumer per client reads every
partition of ``credit.decisions`` (and ``risk.deadletter``, where an invalid
application ends) from the moment the client starts, without a consumer group,
and hands each record to whoever waits for that application id.

    with DecisionClient("127.0.0.1:9092") as client:
        decision = client.submit(application, timeout=10)
        print(decision["outcome"], [r["code"] for r in decision["reasons"]])
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import orjson
from confluent_kafka import OFFSET_END, Consumer, KafkaException, Producer, TopicPartition

from riskmon.settings import PRODUCER_DEFAULTS

__all__ = ["DecisionClient", "DecisionTimeout", "ApplicationRefused", "watermark_high"]


class DecisionTimeout(TimeoutError):
    """No decision arrived in time; the application may still be decided later."""


class ApplicationRefused(ValueError):
    """The monitor could not process the application; ``error`` says why."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(f"{error.get('type')}: {error.get('message')}")
        self.error = dict(error)


def watermark_high(consumer: Consumer, tp: TopicPartition, timeout: float = 30.0) -> int:
    """End offset of a partition, retried while a new topic elects its leader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return consumer.get_watermark_offsets(tp, timeout=10)[1]
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class DecisionClient:
    """Submit applications to ``credit.applications`` and await their decisions."""

    def __init__(
        self, bootstrap: str, *, topic_prefix: str = "", extra_config: Mapping[str, str] | None = None
    ) -> None:
        conf = {"bootstrap.servers": bootstrap, **(extra_config or {})}
        self._applications = f"{topic_prefix}credit.applications"
        self._decisions = f"{topic_prefix}credit.decisions"
        self._deadletter = f"{topic_prefix}risk.deadletter"
        self._producer = Producer({**conf, **PRODUCER_DEFAULTS, "linger.ms": 0})
        self._consumer = Consumer({**conf, "group.id": "riskmon-client-unused", "enable.auto.commit": False})
        self._waiting: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="riskmon-decision-watcher", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"could not read the partitions of {self._decisions} from {bootstrap}")

    def _watch(self) -> None:
        meta = self._consumer.list_topics(timeout=30)
        parts = [
            TopicPartition(topic, p, OFFSET_END)
            for topic in (self._decisions, self._deadletter)
            if topic in meta.topics
            for p in meta.topics[topic].partitions
        ]
        self._consumer.assign(parts)
        # Resolve OFFSET_END to real positions now, so nothing produced after
        # __init__ returns can be missed.
        for tp in parts:
            high = watermark_high(self._consumer, tp)
            self._consumer.seek(TopicPartition(tp.topic, tp.partition, high))
        self._ready.set()
        while not self._stop.is_set():
            msg = self._consumer.poll(0.1)
            value = None if msg is None or msg.error() else msg.value()
            if msg is None or value is None:
                continue
            try:
                record = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
            if msg.topic() == self._decisions:
                key = record.get("application_id")
                self._resolve(key, record, None)
            else:
                raw_key = msg.key()
                key = raw_key.decode("utf-8", "replace") if raw_key else None
                self._resolve(key, None, ApplicationRefused(record.get("error", {})))

    def _resolve(self, application_id: str | None, decision: dict | None, error: Exception | None) -> None:
        with self._lock:
            future = self._waiting.pop(application_id, None) if application_id else None
        if future is not None and not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(decision)

    def submit(self, application: Mapping[str, Any], *, timeout: float = 10.0) -> dict:
        """Send ``application`` and return its automated decision.

        Raises :class:`ApplicationRefused` when it lands in the dead-letter
        topic, and :class:`DecisionTimeout` when nothing came within ``timeout``.
        The application's key is its ``application_id``, as the contract says.
        """
        application_id = str(application["application_id"])
        future: Future = Future()
        with self._lock:
            self._waiting[application_id] = future
        started = time.monotonic()
        self._producer.produce(self._applications, key=application_id.encode(), value=orjson.dumps(dict(application)))
        if self._producer.flush(timeout) != 0:
            raise DecisionTimeout(f"the broker did not acknowledge application {application_id} in {timeout}s")
        try:
            return future.result(max(0.0, timeout - (time.monotonic() - started)))
        except FutureTimeout:
            raise DecisionTimeout(f"no decision for application {application_id} within {timeout}s") from None
        finally:
            with self._lock:
                self._waiting.pop(application_id, None)

    def close(self) -> None:
        """Stop the watcher and release the Kafka clients."""
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        self._producer.flush(5)

    def __enter__(self) -> DecisionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
