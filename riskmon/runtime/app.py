"""The Faust application: ``create_app(settings, config)`` and nothing else global.

Why a factory: configuration is read when a worker starts, never at import
time, and tests build apps with their own settings (topic prefix, ports).

Faust choices, each from a lesson in DESIGN.md:

* Topics are consumed as raw bytes (``value_serializer="raw"``): Faust drops
  messages it cannot decode, so decoding happens in our code, where bad input
  reaches the dead-letter topic.
* Every agent runs with ``concurrency=1``: with more, Faust can commit past
  an in-flight message (faust-streaming #606).
* Internal single-partition topics give one worker each role that must be
  unique: the learner (``risk.model.training``), the portfolio watch
  (``risk.portfolio.events``), the audit writer (``risk.audit.pending``) and
  the alert manager (``risk.alerts.candidates``).
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
  first partition assignment so full collections stop traversing it
  (:mod:`riskmon.runtime.tuning.gc`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from riskmon.alerting.delivery import start_receivers
from riskmon.alerting.metrics import AlertMetrics
from riskmon.alerting.state_store import AlertStateStore
from riskmon.config import RiskConfig
from riskmon.settings import Settings
from riskmon.applications.handler import ApplicationHandler
from riskmon.runtime.patches.batching import take_batches
from riskmon.pipeline.store import DecisionStore, key_namespace
from riskmon.runtime.patches.fetch_wait import side_consumer_fetch, use_fetch_wait
from riskmon.pipeline.messages import Incoming
from riskmon.runtime.tuning.gc import GcPauseRecorder, freeze_startup_heap
from riskmon.runtime.web.decisions import WATCHER_FETCH_WAIT_MS, DecisionWatcher, register_http_api
from riskmon.runtime.web.alerts import register_alerts_api
from riskmon.runtime.web.console import FEED_FETCH_WAIT_MS, register_console
from riskmon.alerting.sink import AlertSink
from riskmon.alerting.handler import AlertManagerHandler
from riskmon.audit.writer import AuditWriter
from riskmon.reviews.handler import ReviewHandler
from riskmon.learning.learner import Learner
from riskmon.runtime.lag import PipelineLag
from riskmon.portfolio.handler import PortfolioHandler
from riskmon.transactions.handler import TransactionHandler
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.runtime.output_producer import OutputProducer
from riskmon.learning.registry import ModelRegistry
from riskmon.learning.repayments import RepaymentHandler
from riskmon.runtime.sampling import sample_consumer_lag
from riskmon.applications.scoring import ModelScorer
from riskmon.runtime.topics import DEADLETTER_MAX_BYTES, topic_names

__all__ = ["create_app", "BATCH_MAX"]

log = logging.getLogger(__name__)

BATCH_MAX = 500
# The input batch window is ``RISKMON_BATCH_WINDOW_MS`` (20 ms by default): a
# batch is taken every window, and under a backlog as soon as the previous one
# is handled (riskmon.runtime.patches.batching; docs/benchmarks.md, ninth pass).
#: The alert manager's batch window: a second window every alert waits, after
#: its input batch's and a hop through ``risk.alert.candidates`` (50 ms before
#: the eighth pass).
ALERT_WITHIN = 0.02
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
    """Build the worker's Faust app with its agents and web pages."""
    names = topic_names(settings)
    app = faust.App(
        settings.app_id,
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

    @app.on_partitions_assigned.connect
    async def _freeze_startup_heap(app: faust.App, *args: Any, **kwargs: Any) -> None:
        """Once, at the first assignment: everything is imported and connected, no state yet."""
        if not heap_frozen:
            heap_frozen.append(freeze_startup_heap())

    @app.on_before_shutdown.connect
    async def _stop_timing_gc(app: faust.App, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        gc_pauses.uninstall()

    store = DecisionStore(
        settings.redis_url,
        ttl_seconds=settings.decision_ttl_days * 86400,
        namespace=key_namespace(settings.topic_prefix),
    )
    registry = ModelRegistry(
        store.client, namespace=store.namespace, snapshot_ttl_seconds=settings.decision_ttl_days * 86400
    )
    scorer = ModelScorer(registry, min_labels=config.models.min_labels_to_decide)

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw")

    applications = raw_topic(names.applications)
    repayments = raw_topic(names.repayments)
    transactions = raw_topic(names.transactions)
    portfolio = raw_topic(names.portfolio)
    reviews = raw_topic(names.reviews)
    audit_pending = raw_topic(names.audit_pending)
    training = raw_topic(names.training)
    applications_out = raw_topic(names.applications)

    # every handler's outputs go through librdkafka (riskmon.runtime.output_producer says why);
    # Faust's own producer still serves the HTTP API and the alert commands
    output_producer = OutputProducer(
        settings.confluent_config(), max_message_bytes=DEADLETTER_MAX_BYTES + 64 * 1024, client_id=settings.app_id
    )
    send = output_producer.send

    @app.on_before_shutdown.connect
    async def _close_output_producer(app: faust.App, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        output_producer.close()

    alert_sink = AlertSink(send, names.alert_candidates)
    alert_metrics = AlertMetrics(metrics.registry)
    alert_handler = AlertManagerHandler(
        config=config.alerting,
        store=AlertStateStore(store.client, store.namespace),
        send=send,
        alerts_topic=names.alerts,
        notifications_topic=names.notifications,
        deadletter_topic=names.deadletter,
        metrics=metrics,
        alert_metrics=alert_metrics,
    )
    learner = Learner(
        registry=registry,
        store=store,
        config=config.models,
        error_drift=config.detectors.error_drift(),
        alerts=alert_sink,
        config_version=config.version[:12],
    )
    handler = ApplicationHandler(
        config=config,
        store=store,
        send=send,
        decisions_topic=names.decisions,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
        scorer=scorer,
        portfolio_topic=names.portfolio,
        audit_topic=names.audit_pending if settings.audit_enabled else None,
        pseudonym_key=settings.audit_pseudonym_key.encode(),
    )
    review_handler = ReviewHandler(
        store=store,
        send=send,
        decisions_topic=names.decisions,
        deadletter_topic=names.deadletter,
        audit_topic=names.audit_pending if settings.audit_enabled else None,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
    )
    audit_writer = AuditWriter(
        store=store,
        send=send,
        audit_topic=names.audit,
        kafka_config=settings.confluent_config(),
        checkpoint_key_bytes=settings.audit_checkpoint_key.encode(),
    )
    repayment_handler = RepaymentHandler(
        store=store,
        send=send,
        training_topic=names.training,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        bad_days_past_due=config.models.bad_days_past_due,
        metrics=metrics,
        portfolio_topic=names.portfolio,
    )
    transaction_handler = TransactionHandler(
        config=config,
        store=store,
        send=send,
        alerts=alert_sink,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
    )
    portfolio_handler = PortfolioHandler(config=config, store=store, alerts=alert_sink)
    alert_candidates = raw_topic(names.alert_candidates)

    lag = PipelineLag(config, alert_sink)

    def batch_agent(
        topic: faust.TopicT, name: str, handle: Any, *, within: float = settings.batch_window_ms / 1000,
        watch_lag: bool = True
    ) -> None:
        """One agent: batches of raw events to ``handle`` (which never raises),
        with ``concurrency=1`` so that no offset is committed past an event in
        flight; input topics also feed the ingestion-lag watch."""

        async def run(stream: faust.Stream) -> None:
            async for events in take_batches(stream, BATCH_MAX, within):
                batch = _incoming(events, app.loop.time())
                await handle(batch)
                if watch_lag:
                    await lag.observe(batch)

        app.agent(topic, name=name, concurrency=1)(run)

    batch_agent(applications, "decide-applications", handler.handle)
    batch_agent(repayments, "join-repayment-labels", repayment_handler.handle)
    batch_agent(transactions, "watch-transactions", transaction_handler.handle)
    batch_agent(reviews, "apply-reviews", review_handler.handle)
    batch_agent(portfolio, "watch-portfolio", portfolio_handler.handle, within=0.1, watch_lag=False)
    batch_agent(audit_pending, "write-audit-trail", audit_writer.handle, within=0.05, watch_lag=False)
    batch_agent(training, "learn", learner.handle, within=0.2, watch_lag=False)
    batch_agent(alert_candidates, "manage-alerts", alert_handler.handle, within=ALERT_WITHIN, watch_lag=False)

    @app.timer(interval=1.0)
    async def alert_tick() -> None:
        """On the worker holding the candidates partition: quiet-period resolutions, grouped announcements."""
        try:
            if any(tp.topic == names.alert_candidates for tp in app.consumer.assignment()):
                await alert_handler.tick()
            else:
                alert_handler.forget()
        except Exception:
            log.exception("alert manager tick failed; will retry")

    receivers: list[Any] = []
    if settings.notify_enabled and config.alerting.receivers:

        @app.task
        async def _start_receivers() -> None:
            receivers.extend(
                start_receivers(
                    config.alerting,
                    kafka_config=settings.confluent_config(),
                    app_id=settings.app_id,
                    notifications_topic=names.notifications,
                    deadletter_topic=names.deadletter,
                    metrics=alert_metrics,
                    redis_url=settings.redis_url,
                    namespace=store.namespace,
                )
            )
            log.info("delivering notifications to %s", ", ".join(r.spec.name for r in receivers))

        @app.on_before_shutdown.connect
        async def _stop_receivers(app: faust.App, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
            for r in receivers:
                r.stop()
            for r in receivers:
                r.join(timeout=5)

    @app.timer(interval=10.0)
    async def audit_checkpoint() -> None:
        """A checkpoint of the chain head at least every 10 s while entries arrive."""
        try:
            if any(tp.topic == names.audit_pending for tp in app.consumer.assignment()):
                await audit_writer.checkpoint()
        except Exception:
            log.exception("audit checkpoint failed; will retry")

    @app.timer(interval=max(1.0, min(5.0, config.models.publish_every_seconds / 2)))
    async def publish_models() -> None:
        """On the worker that holds the training partition (the learner): apply a
        requested promotion even when no labels flow, and publish what is due."""
        try:
            if any(tp.topic == names.training for tp in app.consumer.assignment()):
                await learner.tick()
        except Exception:
            log.exception("learner housekeeping failed; will retry")

    @app.timer(interval=10.0)
    async def export_model_metrics() -> None:
        try:
            evaluation = await registry.evaluation()
        except Exception:
            return
        if evaluation:
            metrics.model_evaluation(evaluation)
        for role, pointer in scorer.pointers.items():
            metrics.model_labels_learned.labels(role=role).set(pointer.n_learned)

    metrics.watch_redis(lambda: store.degraded)

    consumed_topics = frozenset(names.all())

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
        metrics.set_portfolio(*(portfolio_handler.snapshot() if watching else ({}, None, None)))

    if settings.web_port > 0:
        watcher = DecisionWatcher(settings.kafka_bootstrap, names.decisions, **_aiokafka_security(settings),
                                  **side_consumer_fetch(settings.fetch_min_bytes, WATCHER_FETCH_WAIT_MS))
        register_http_api(
            app, applications_topic=applications_out, watcher=watcher, store=store, max_bytes=settings.max_message_bytes
        )
        register_alerts_api(app, commands_topic=alert_candidates, client=store.client, namespace=store.namespace)
        register_console(app, settings=settings, config=config, client=store.client, namespace=store.namespace,
                         registry=metrics.registry, consumer_kwargs={
                             **_aiokafka_security(settings),
                             **side_consumer_fetch(settings.fetch_min_bytes, FEED_FETCH_WAIT_MS)})

        @app.task
        async def _start_watcher() -> None:
            await watcher.start()

        @app.on_before_shutdown.connect
        async def _stop_watcher(app: faust.App, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
            await watcher.stop()

    # -- shadow mode (issue #7): a second configuration on the same inputs, written to risk.shadow only;
    # everything else about it lives in riskmon.shadow.handler
    if settings.shadow_config_path:
        from riskmon.shadow.handler import register_shadow

        register_shadow(app, settings=settings, config=config, registry=registry, store=store)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        degraded = store.degraded
        return web.json({"status": "degraded" if degraded else "ok", "degraded": degraded, "policy_version": config.policy_version})

    @app.on_before_shutdown.connect
    async def _close_store(app: faust.App, **kwargs: Any) -> None:  # pragma: no cover - shutdown path
        await store.close()

    app.riskmon_metrics = metrics  # type: ignore[attr-defined]
    app.riskmon_gc_pauses = gc_pauses  # type: ignore[attr-defined]  # a process-wide callback: in-process tests remove it
    app.riskmon_alerts = alert_handler  # type: ignore[attr-defined]
    return app


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
