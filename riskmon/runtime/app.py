"""The Faust application: ``create_app(settings, config)`` and nothing else global.

Why a factory: configuration is read when a worker starts, never at import
time, and tests build apps with their own settings (topic prefix, ports).

Faust choices, each from a lesson of faust-streaming's issue tracker (docs/architecture.md):

* Topics are consumed as raw bytes (``value_serializer="raw"``): Faust drops
  messages it cannot decode, so decoding happens in our code, where bad input
  reaches the dead-letter topic.
* Every agent runs with ``concurrency=1``: with more, Faust can commit past
  an in-flight message (faust-streaming #606).
* Which topic feeds which handler, and the single-partition topics that give
  one worker each unique role, are the table of :mod:`riskmon.runtime.routes`.
* Receivers (pagers, webhooks) are fed by their own consumer threads
  (:mod:`riskmon.alerting.delivery`), so a receiver that is down never blocks
  an agent.
* Events are taken in small batches (at most 500, one every
  ``RISKMON_BATCH_WINDOW_MS``, 20 ms by default, filling while the previous
  one is handled: :mod:`riskmon.runtime.patches.batching`, not Faust's ``take_events``):
  Python CPU is the bottleneck, so Redis and the broker are paid once per batch.
* Handlers' outputs are produced through librdkafka, not Faust's per-message
  ``Topic.send`` (:mod:`riskmon.runtime.output_producer`); a handler still
  awaits its batch's acknowledgements before its inputs can be committed.
* The consumer hands each fetched message to the agents inline, not through
  four tasks as Faust does (:mod:`riskmon.runtime.patches.handover`).
* The consumer waits at most ``RISKMON_FETCH_MAX_WAIT_MS`` per fetch instead
  of Faust's hard-coded 1,500 ms, and for ``RISKMON_FETCH_MIN_BYTES`` within
  it, so live load costs one fetch round per wait, not one per few records
  (:mod:`riskmon.runtime.patches.fetch_wait`). The console feed and the decision watcher
  fetch the same way.
* Garbage-collector pauses are timed, and the start-up heap is frozen at the
  first partition assignment so full collections stop traversing it; young
  collections wait for 50,000 new objects, not 700, so a batch's short-lived
  objects are not traversed (:mod:`riskmon.runtime.tuning.gc`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from riskmon.alerting.delivery import start_receivers
from riskmon.auth.principal import AuthFailure
from riskmon.config import RiskConfig
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.runtime.lag import PipelineLag
from riskmon.runtime.output_producer import OutputProducer
from riskmon.runtime.patches.batching import take_batches
from riskmon.runtime.patches.fetch_wait import side_consumer_fetch, use_fetch_wait
from riskmon.runtime.routes import BATCH_MAX, Route, Routes, Timer, build_routes
from riskmon.runtime.sampling import sample_consumer_lag
from riskmon.runtime.topics import DEADLETTER_MAX_BYTES
from riskmon.runtime.tuning.gc import GcPauseRecorder, freeze_startup_heap, raise_young_threshold
from riskmon.runtime.web.alerts import register_alerts_api
from riskmon.runtime.web.audit import register_audit_api
from riskmon.runtime.web.console import FEED_FETCH_WAIT_MS, register_console
from riskmon.runtime.web.decisions import WATCHER_FETCH_WAIT_MS, DecisionWatcher, register_http_api
from riskmon.runtime.web.guard import Guard
from riskmon.runtime.web.intake import register_intake_api
from riskmon.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger(__name__)

SAMPLE_INTERVAL = 5.0  # seconds between samples of the state gauges (lag, portfolio rates)


def _broker_credentials(settings: Settings) -> Any:
    if settings.security_protocol == "PLAINTEXT":
        return None
    import ssl

    context = ssl.create_default_context(cafile=settings.ssl_cafile) if "SSL" in settings.security_protocol else None
    if settings.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    return context


def _aiokafka_security(settings: Settings) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured security protocol."""
    if settings.security_protocol == "PLAINTEXT":
        return {}
    import ssl

    kwargs: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if "SSL" in settings.security_protocol:
        kwargs["ssl_context"] = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.security_protocol.startswith("SASL"):
        kwargs.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
    return kwargs


def create_app(settings: Settings, config: RiskConfig) -> faust.App:
    """Build the worker's Faust app: the table of :mod:`riskmon.runtime.routes` as agents and timers, and its pages."""
    app = faust.App(
        settings.group_id,
        broker=f"kafka://{settings.kafka_bootstrap.replace(',', ';kafka://')}",
        broker_credentials=_broker_credentials(settings),
        store="memory://",
        # nothing is stored there with in-memory tables, but Faust makes the directory: not in the caller's cwd
        datadir=str(Path(tempfile.gettempdir()) / "riskmon-faust-{conf.id}"),  # Faust makes one level only
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        consumer_auto_offset_reset="earliest",
        # a worker killed with -9 loses its partitions to the others after this long (docs/operations.md)
        broker_session_timeout=settings.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.session_timeout_ms / 3000,
        producer_max_request_size=DEADLETTER_MAX_BYTES + 64 * 1024,
        producer_acks=-1,
        producer_max_batch_size=256 * 1024,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,  # Faust rejects 0 even when the web server is off
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_in_thread=False,
    )
    use_fetch_wait(app, settings.fetch_max_wait_ms, settings.fetch_min_bytes)
    metrics = WorkerMetrics()
    gc_pauses = GcPauseRecorder(metrics.gc_pause).install()
    heap_frozen: list[int] = []

    @_connect(app.on_partitions_assigned)
    async def _freeze_startup_heap(*args: Any, **kwargs: Any) -> None:
        """Once, at the first assignment: everything is imported and connected, no state yet."""
        if not heap_frozen:
            heap_frozen.append(freeze_startup_heap())
            raise_young_threshold()  # batches' short-lived objects are not traversed (riskmon.runtime.tuning.gc)

    @_connect(app.on_before_shutdown)
    async def _stop_timing_gc(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        gc_pauses.uninstall()

    # every handler's outputs go through librdkafka (riskmon.runtime.output_producer says why);
    # Faust's own producer still serves the HTTP API and the alert commands
    output_producer = OutputProducer(
        settings.confluent_config(), max_message_bytes=DEADLETTER_MAX_BYTES + 64 * 1024, client_id=settings.group_id
    )

    @_connect(app.on_before_shutdown)
    async def _close_output_producer(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        output_producer.close()

    everything = build_routes(settings, config, send=output_producer.send, metrics=metrics)
    table = everything.for_role(settings.role)
    names, store, lag = table.names, table.store, table.lag
    guard = Guard(settings, client=store.client, namespace=store.namespace)
    if table.audit_writer is not None and names.audit_pending in table.topics():
        table.audit_writer.owns = _owner_check(app, names.audit_pending)
        writer = table.audit_writer

        @_connect(app.on_before_shutdown)
        async def _close_audit_writer(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
            writer.close()

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw")

    for route in table.routes:
        _add_agent(app, raw_topic(route.topic), route, lag)
    for timer in table.timers:
        _add_timer(app, timer)

    receivers: list[Any] = []
    if settings.notify_enabled and config.alerting.receivers and settings.role in ("all", "background"):

        @app.task
        async def _start_receivers() -> None:
            receivers.extend(
                start_receivers(
                    config.alerting,
                    kafka_config=settings.confluent_config(),
                    app_id=settings.app_id,
                    notifications_topic=names.notifications,
                    deadletter_topic=names.deadletter,
                    metrics=table.alert_metrics,
                    redis_url=settings.redis_url,
                    namespace=store.namespace,
                )
            )
            log.info("delivering notifications to %s", ", ".join(r.spec.name for r in receivers))

        @_connect(app.on_before_shutdown)
        async def _stop_receivers(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
            for r in receivers:
                r.stop()
            for r in receivers:
                r.join(timeout=5)

    @app.timer(interval=10.0)
    async def export_model_metrics() -> None:
        try:
            evaluation = await table.registry.evaluation()
        except Exception:
            return
        if evaluation:
            metrics.model_evaluation(evaluation)
        for role, pointer in table.scorer.pointers.items():
            metrics.model_labels_learned.labels(role=role).set(pointer.n_learned)

    metrics.watch_redis(lambda: store.degraded)

    consumed_topics = table.topics()

    @app.timer(interval=SAMPLE_INTERVAL)
    async def sample_state_gauges() -> None:
        """Consumer lag and the portfolio's rates, sampled here rather than per message."""
        try:
            assignment = app.consumer.assignment()
            sample = await sample_consumer_lag(app, consumed_topics)
            metrics.set_consumer_lag(sample.lag, sample.end)
        except Exception as exc:  # the consumer is not started yet, or a rebalance is under way
            log.debug("consumer lag not sampled: %s", exc)
            return
        watching = any(tp.topic == names.portfolio for tp in assignment)
        metrics.set_portfolio(*(table.portfolio.snapshot() if watching else ({}, None, None)))

    if settings.web_port > 0:
        _add_web(app, settings, config, table, metrics, guard)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        if guard.metrics_auth:
            try:
                await guard.check(request, "metrics.scrape")
            except AuthFailure as exc:
                return guard.refuse(exc)
        return web.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        degraded = store.degraded
        return web.json(
            {"status": "degraded" if degraded else "ok", "degraded": degraded, "policy_version": config.policy_version}
        )

    @_connect(app.on_before_shutdown)
    async def _close_store(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        await store.close()

    app.riskmon_metrics = metrics  # type: ignore[attr-defined]
    app.riskmon_gc_pauses = gc_pauses  # type: ignore[attr-defined]  # a process-wide callback: in-process tests remove it
    app.riskmon_alerts = table.alert_handler  # type: ignore[attr-defined]
    return app


def _connect(signal: Any) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
    """``@signal.connect`` for an async receiver; Faust's type of a receiver rejects every async function."""

    def register(receiver: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        signal.connect(receiver)
        return receiver

    return register


def _add_agent(app: faust.App, topic: faust.TopicT, route: Route, lag: PipelineLag) -> None:
    """One agent: batches of raw events to the route's handler (which never raises), with
    ``concurrency=1`` so that no offset is committed past an event in flight; input
    topics also feed the ingestion-lag watch."""

    async def run(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, BATCH_MAX, route.within, route.linger):
            batch = _incoming(events, app.loop.time())
            await route.handle(batch)
            if route.watch_lag:
                await lag.observe(batch)

    app.agent(topic, name=route.name, concurrency=1)(run)


def _add_timer(app: faust.App, timer: Timer) -> None:
    """A timer of the table; an owner-only one runs where its topic's partition is assigned."""

    async def run() -> None:
        try:
            if timer.owner_topic is None or any(tp.topic == timer.owner_topic for tp in app.consumer.assignment()):
                await timer.run()
            elif timer.otherwise is not None:
                timer.otherwise()
        except Exception:
            log.exception("%s failed; will retry", timer.name)

    run.__name__ = run.__qualname__ = timer.name.replace("-", "_")  # Faust names a timer after its function
    app.timer(interval=timer.interval)(run)


def _owner_check(app: faust.App, topic: str) -> Callable[[], bool]:
    """Whether this worker holds ``topic``'s partition now (True while that cannot be told: never give up a batch)."""

    def owns() -> bool:
        try:
            return any(tp.topic == topic for tp in app.consumer.assignment())
        except Exception:
            return True

    return owns


def _add_web(
    app: faust.App, settings: Settings, config: RiskConfig, table: Routes, metrics: WorkerMetrics, guard: Guard
) -> None:
    """The decision API, the alerts API and the console, and the decision watcher they share."""
    store = table.store
    watcher = DecisionWatcher(
        settings.kafka_bootstrap,
        table.names.decisions,
        **_aiokafka_security(settings),
        **side_consumer_fetch(settings.fetch_min_bytes, WATCHER_FETCH_WAIT_MS),
    )
    commands = app.topic(
        table.names.alert_candidates, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw"
    )
    applications = app.topic(
        table.names.applications, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw"
    )
    audit = (
        app.topic(
            table.names.audit_pending, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw"
        )
        if settings.audit_enabled
        else None
    )
    register_http_api(
        app,
        applications_topic=applications,
        watcher=watcher,
        store=store,
        max_bytes=settings.max_message_bytes,
        guard=guard,
    )
    register_alerts_api(
        app, commands_topic=commands, audit_topic=audit, client=store.client, namespace=store.namespace, guard=guard
    )
    register_audit_api(app, settings=settings, client=store.client, namespace=store.namespace, guard=guard)
    deadletters = app.topic(
        table.names.deadletter, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw"
    )
    register_intake_api(app, applications_topic=applications, deadletter_topic=deadletters, guard=guard)
    register_console(
        app,
        guard=guard,
        settings=settings,
        config=config,
        client=store.client,
        namespace=store.namespace,
        registry=metrics.registry,
        consumer_kwargs={
            **_aiokafka_security(settings),
            **side_consumer_fetch(settings.fetch_min_bytes, FEED_FETCH_WAIT_MS),
        },
    )

    @app.task
    async def _start_watcher() -> None:
        await watcher.start()

    @_connect(app.on_before_shutdown)
    async def _stop_watcher(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        await watcher.stop()


def _incoming(events: Any, now: float) -> list[Incoming]:
    """Our view of a batch of Faust events: the raw bytes and where they came from."""
    return [
        Incoming(
            topic=e.message.topic,
            partition=e.message.partition,
            offset=e.message.offset,
            key=e.message.key,
            value=e.message.value,
            received_monotonic=_received(e.message, now),
            timestamp=e.message.timestamp,
        )
        for e in events
    ]


def _received(message: Any, fallback: float) -> float:
    """When the consumer received ``message`` (Faust's monitor stamps ``time_in``)."""
    time_in = getattr(message, "time_in", None)
    return time_in if isinstance(time_in, float) and time_in <= fallback else fallback
