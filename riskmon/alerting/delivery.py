"""Delivery: one consumer per receiver reads ``risk.notifications`` and sends, at least once.

Why a consumer group per receiver, in its own thread: a pager that is down
must not block the stream, nor the other receivers. Each receiver's
consumer commits a notification's offset only after it was delivered, or
rejected for good (any 4xx but 408/429) and dead-lettered with the response,
or retried past ``delivery.give_up_after`` and dead-lettered. Meanwhile it
retries with capped exponential backoff and jitter, and the backlog waits in
Kafka, not in memory. Requests carry idempotency keys (PagerDuty's
``dedup_key``, the webhook's ``Idempotency-Key``) and a Redis mark skips a
notification already delivered, so a restart re-sends at most the one in
flight.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from riskmon.alerting.config import AlertingConfig, ReceiverSpec
from riskmon.alerting.metrics import AlertMetrics
from riskmon.alerting.model import Notification
from riskmon.alerting.receivers import build_request
from riskmon.alerting.receivers.http import Request, Response, backoff, classify, post
from riskmon.schemas import DeadLetter, dumps
from riskmon.settings import PRODUCER_DEFAULTS

__all__ = ["ReceiverWorker", "start_receivers"]

log = logging.getLogger(__name__)

Poster = Callable[[Request, float], Response]


class ReceiverWorker(threading.Thread):
    """Delivers one receiver's notifications (see module doc). ``stop()`` ends it within a second."""

    def __init__(
        self,
        spec: ReceiverSpec,
        config: AlertingConfig,
        *,
        kafka_config: Mapping[str, str | int | float | bool],
        group_id: str,
        notifications_topic: str,
        deadletter_topic: str,
        metrics: AlertMetrics,
        redis_url: str | None = None,
        namespace: str = "riskmon",
        env: Mapping[str, str] | None = None,
        poster: Poster = post,
        sleep: Callable[[float], bool] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name=f"riskmon-notify-{spec.name}", daemon=True)
        self.spec = spec
        self._config = config
        self._kafka = dict(kafka_config)
        self._group_id = group_id
        self._topic = notifications_topic
        self._deadletter_topic = deadletter_topic
        self._metrics = metrics
        self._poster = poster
        self._stopping = threading.Event()
        self._sleep = sleep or (lambda s: self._stopping.wait(s))
        self._rng = rng or random.Random()
        self._clock = clock  # monotonic seconds: the give-up deadline and the backlog export's period
        env = os.environ if env is None else env
        secret_name = spec.routing_key_env or spec.secret_env
        self._secret = env.get(secret_name, "") if secret_name else ""
        if secret_name and not self._secret:
            log.warning("receiver %s: environment variable %s is empty", spec.name, secret_name)
        self._redis = None
        if redis_url:
            from riskmon.redis_clients import sync_client

            self._redis = sync_client(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._mark_prefix = f"{namespace}:alerts:delivered:{spec.name}:"
        self.delivered = 0
        self._producer: Producer | None = None  # created by run(), in the delivery thread

    def stop(self) -> None:
        self._stopping.set()

    # -- the loop --------------------------------------------------------------

    def run(self) -> None:
        consumer = Consumer(
            {
                **self._kafka,
                "group.id": self._group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
            }
        )
        self._producer = producer = Producer({**self._kafka, **PRODUCER_DEFAULTS})
        consumer.subscribe([self._topic])
        last_backlog = 0.0
        try:
            while not self._stopping.is_set():
                msg = consumer.poll(0.5)
                if self._clock() - last_backlog > 10:
                    self._export_backlog(consumer)
                    last_backlog = self._clock()
                if msg is None:
                    continue
                error = msg.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        log.warning("receiver %s: consumer error %s", self.spec.name, error)
                    continue
                if self._handle(msg):
                    consumer.commit(message=msg, asynchronous=False)
        except Exception:
            log.exception("receiver %s stopped on an unexpected error", self.spec.name)
        finally:
            producer.flush(10)
            consumer.close()

    def _export_backlog(self, consumer: Consumer) -> None:
        try:
            lag = 0
            for tp in consumer.assignment():
                low, high = consumer.get_watermark_offsets(tp, timeout=1.0, cached=False)
                committed = consumer.committed([TopicPartition(tp.topic, tp.partition)], timeout=1.0)[0].offset
                lag += high - (committed if committed >= 0 else low)
            self._metrics.backlog.labels(receiver=self.spec.name).set(lag)
        except Exception:  # metrics only
            pass

    def _handle(self, msg: Any) -> bool:
        """Deliver one message; True when its offset may be committed (False only when stopping)."""
        raw = msg.value() or b""
        try:
            n = Notification.from_dict(orjson.loads(raw))
        except Exception as exc:
            self._dead_letter(
                msg.topic(),
                msg.partition(),
                msg.offset(),
                msg.key(),
                raw,
                "invalid_notification",
                f"{type(exc).__name__}: {exc}",
            )
            return True
        if self.spec.name not in n.receivers:
            return True
        if self._already_delivered(n.notification_id):
            self._metrics.deliveries.labels(receiver=self.spec.name, result="skipped").inc()
            return True
        firing_ttl = self._config.repeat_interval + self._config.group_interval
        request = build_request(self.spec.type, n, self.spec, self._secret, firing_ttl=firing_ttl, now=time.time())
        if request is None:  # e.g. an acknowledgement for Alertmanager, which has none
            self._metrics.deliveries.labels(receiver=self.spec.name, result="skipped").inc()
            return True
        verdict = self.deliver(request, n)
        if verdict is None:
            return False
        if verdict == "delivered":
            self._mark_delivered(n.notification_id)
        return True

    def deliver(self, request: Request, n: Notification) -> str | None:
        """Send with retries; the final verdict, or None when stopped before it was settled."""
        spec, delivery = self.spec, self._config.delivery
        started, attempt = self._clock(), 0
        while True:
            response = self._poster(request, spec.timeout)
            verdict = classify(response)
            if verdict == "delivered":
                self._metrics.deliveries.labels(receiver=spec.name, result="delivered").inc()
                self.delivered += 1
                log.info(
                    "receiver %s: %s %s delivered (HTTP %s, attempt %d)",
                    spec.name,
                    n.action,
                    n.group_key,
                    response.status,
                    attempt + 1,
                )
                return verdict
            what = f"HTTP {response.status}" if response.status is not None else response.error
            if verdict == "reject":
                self._metrics.deliveries.labels(receiver=spec.name, result="rejected").inc()
                log.error(
                    "receiver %s refused %s %s: %s %s", spec.name, n.action, n.group_key, what, response.body[:200]
                )
                self._dead_letter_request(
                    request, n, "delivery_rejected", f"receiver {spec.name}: {what}: {response.body[:500]}"
                )
                return verdict
            if self._clock() - started >= delivery.give_up_after:
                self._metrics.deliveries.labels(receiver=spec.name, result="gave_up").inc()
                log.error(
                    "receiver %s: gave up on %s %s after %d attempts (%s)",
                    spec.name,
                    n.action,
                    n.group_key,
                    attempt + 1,
                    what,
                )
                self._dead_letter_request(
                    request, n, "delivery_gave_up", f"receiver {spec.name}: {what} after {attempt + 1} attempts"
                )
                return "gave_up"
            self._metrics.deliveries.labels(receiver=spec.name, result="retried").inc()
            delay = backoff(
                attempt,
                initial=delivery.initial_backoff,
                cap=delivery.max_backoff,
                retry_after=response.retry_after,
                rng=self._rng,
            )
            log.warning(
                "receiver %s: %s %s failed (%s); retry %d in %.1fs",
                spec.name,
                n.action,
                n.group_key,
                what,
                attempt + 1,
                delay,
            )
            attempt += 1
            if self._sleep(delay):
                return None

    # -- idempotency marks and dead letters ------------------------------------

    def _already_delivered(self, notification_id: str) -> bool:
        if self._redis is None:
            return False
        try:
            return bool(self._redis.exists(self._mark_prefix + notification_id))
        except Exception:
            return False  # Redis down: send again; the receiver dedupes by key

    def _mark_delivered(self, notification_id: str) -> None:
        if self._redis is None:
            return
        with contextlib.suppress(Exception):
            self._redis.set(self._mark_prefix + notification_id, b"1", ex=7 * 86400)

    def _dead_letter_request(self, request: Request, n: Notification, kind: str, message: str) -> None:
        self._dead_letter(self._topic, None, None, n.group_key.encode(), request.body, kind, message)

    def _dead_letter(
        self,
        source: str,
        partition: int | None,
        offset: int | None,
        key: bytes | None,
        raw: bytes | None,
        kind: str,
        message: str,
    ) -> None:
        """Send a dead letter on the loop's producer and wait for it: its offset is committed next."""
        record = DeadLetter(
            source_topic=source,
            partition=partition,
            offset=offset,
            key=key,
            received_at=datetime.now(UTC),
            error={"type": kind, "message": message[:1000], "field": None},
            raw=raw,
        )
        producer = self._producer
        assert producer is not None, "dead letters are sent from run(), which makes the producer"
        producer.produce(self._deadletter_topic, key=key, value=dumps(record.to_dict()))
        producer.flush(10)


def start_receivers(
    config: AlertingConfig,
    *,
    kafka_config: Mapping[str, str | int | float | bool],
    app_id: str,
    notifications_topic: str,
    deadletter_topic: str,
    metrics: AlertMetrics,
    redis_url: str | None,
    namespace: str,
) -> list[ReceiverWorker]:
    """One started :class:`ReceiverWorker` per configured receiver (consumer group ``<app_id>-notify-<name>``)."""
    workers = []
    for spec in config.receivers.values():
        worker = ReceiverWorker(
            spec,
            config,
            kafka_config=kafka_config,
            group_id=f"{app_id}-notify-{spec.name}",
            notifications_topic=notifications_topic,
            deadletter_topic=deadletter_topic,
            metrics=metrics,
            redis_url=redis_url,
            namespace=namespace,
        )
        worker.start()
        workers.append(worker)
    return workers
