"""The worker's outputs through librdkafka: one C call per message, one hand-back per poll.

Why: Faust's ``Topic.send`` builds a ``FutureMessage``, a ``PendingMessage``
and an aiokafka batch entry in Python for every message, and resolves one
future per message on the event loop: about 17% of the worker's thread on the
application path (py-spy, docs/performance.md). Here ``produce`` is one call
into librdkafka, which batches, retries and sends from its own threads; a
small poll thread collects the delivery reports and hands them back to the
loop once per poll, not once per message.

What callers rely on is unchanged: ``await send(topic, key, value)`` queues
the message and returns a future that completes when the broker has it
(``acks=all``), or fails with the broker's error. Handlers await their
batch's futures before returning, so an input's offset is committed only
after its outputs are durable.

Settings fixed here, and why:

* ``enable.idempotence``: the broker drops librdkafka's own retries, and
  order per partition holds across them (the audit chain relies on order).
* ``partitioner=murmur2_random``: the same key lands on the same partition
  as with the Java client and aiokafka (Faust), so a decision keyed by its
  application keeps its partition across an upgrade.
* ``linger.ms`` small: a handler queues its whole batch before it waits, so
  librdkafka batches without lingering; a long linger would only add latency.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from riskmon.settings import PRODUCER_DEFAULTS

__all__ = ["OutputProducer", "DeliveryError"]

log = logging.getLogger(__name__)

#: Seconds the poll thread waits for delivery reports per poll.
POLL_SECONDS = 0.05

#: librdkafka's linger: a handler queues its whole batch before it waits, so batches form without lingering.
LINGER_MS = 1

#: Seconds ``send`` waits before retrying when librdkafka's local queue is full.
QUEUE_FULL_BACKOFF = 0.01


class DeliveryError(KafkaException):
    """The broker did not take a message (after librdkafka's own retries)."""


class OutputProducer:
    """An asyncio front to one librdkafka producer, for the worker's outputs.

    Start it inside the running loop (``start``), or let the first ``send``
    do it; ``close`` flushes what is queued and stops the poll thread.
    """

    def __init__(
        self,
        kafka_config: Mapping[str, str | int | float | bool],
        *,
        max_message_bytes: int,
        client_id: str = "riskmon-worker",
    ) -> None:
        self._config: dict[str, Any] = {
            **kafka_config,
            "client.id": client_id,
            **PRODUCER_DEFAULTS,
            "linger.ms": LINGER_MS,
            "message.max.bytes": max_message_bytes,
            "error_cb": _log_client_error,
            # librdkafka's own lines (a failed connect on every retry) through Python's logging,
            # where riskmon.runtime.log_limits bounds them, instead of straight to stderr
            "logger": logging.getLogger(f"{__name__}.librdkafka"),
        }
        self._producer: Producer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reports: list[
            tuple[asyncio.Future, KafkaError | None]
        ] = []  # the poll thread's, until close() has joined it

    def start(self) -> None:
        """Create the producer and its poll thread, bound to the running loop."""
        if self._producer is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._producer = Producer(self._config)
        self._thread = threading.Thread(target=self._poll_forever, name="riskmon-output-poll", daemon=True)
        self._thread.start()

    async def send(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future:
        """Queue one message; the returned future completes when the broker acknowledged it.

        Raises at once what librdkafka refuses at once (a message larger than
        ``max_message_bytes``); anything the broker refuses fails the future.
        """
        if self._producer is None:
            self.start()
        if self._stopping.is_set():
            raise RuntimeError("the output producer is closed (the worker is shutting down)")
        assert self._producer is not None and self._loop is not None
        future = self._loop.create_future()
        report = partial(self._report, future)
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=report)
                return future
            except BufferError:  # librdkafka's queue is full: let the poll thread drain it
                await asyncio.sleep(QUEUE_FULL_BACKOFF)

    def pending(self) -> int:
        """Messages queued or in flight, not yet reported."""
        return len(self._producer) if self._producer is not None else 0

    def close(self, timeout: float = 10.0) -> int:
        """Flush for up to ``timeout`` seconds, stop polling; returns messages still undelivered."""
        if self._producer is None or self._stopping.is_set():
            return 0
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=POLL_SECONDS * 10)
        left = self._producer.flush(timeout)  # delivery callbacks now run here, in the caller's thread
        reports, self._reports = self._reports, []
        _settle(reports)
        if left:
            log.error("%d output messages were not acknowledged before shutdown; their inputs stay uncommitted", left)
        return int(left)

    # -- the poll thread ------------------------------------------------------

    def _report(self, future: asyncio.Future, error: KafkaError | None, message: Any) -> None:
        """librdkafka's delivery callback: runs in the poll thread, inside ``poll``."""
        self._reports.append((future, error))

    def _poll_forever(self) -> None:
        producer, loop = self._producer, self._loop
        assert producer is not None and loop is not None
        while not self._stopping.is_set():
            producer.poll(POLL_SECONDS)
            if self._reports:
                reports, self._reports = self._reports, []
                try:
                    loop.call_soon_threadsafe(_settle, reports)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return


def _settle(reports: list[tuple[asyncio.Future, KafkaError | None]]) -> None:
    """On the loop: complete every reported future (skipping any already cancelled)."""
    for future, error in reports:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(DeliveryError(error))


def _log_client_error(error: KafkaError) -> None:
    """librdkafka's client-level errors (a broker down, all brokers down): it retries by itself."""
    if error.fatal():
        log.critical("output producer failed fatally: %s", error)
    else:
        log.warning("output producer: %s", error)
