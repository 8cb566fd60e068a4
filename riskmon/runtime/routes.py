"""The worker's table: which topic feeds which handler, with which batch window, and which timers run where.

:func:`build_routes` builds every handler once, from the settings and the
configuration, and answers a :class:`Routes`: a list of :class:`Route`
(topic -> handler) and a list of :class:`Timer`. :mod:`riskmon.runtime.app`
turns the table into Faust agents and timers and knows nothing of the
domains; the domains know nothing of Faust. Adding a path is one row here.

Each route and timer belongs to one *role*, so that one process can take
all of them (``riskmon worker``, the default) or one kind of work only
(``riskmon worker --role R``, its own consumer group ``<app id>-R``):

* ``decisions``: applications and reviews, the latency-critical path;
* ``transactions``: transactions, repayments and transaction outcomes, the
  customer watch and the labels' joins;
* ``background``: the learners (credit and fraud), the audit writer, the
  portfolio watch, the alert manager and shadow mode, with their timers.

The split changes which process runs a handler, never what it does: every
handler keeps its state in Redis and Kafka, so the guarantees are the same
whichever processes run it.

Internal single-partition topics give one worker each job that must be
unique: the learner (``risk.model.training``), the fraud learner
(``risk.fraud.training``), the portfolio watch
(``risk.portfolio.events``), the audit writer (``risk.audit.pending``) and
the alert manager (``risk.alerts.candidates``). Their timers are
*owner-only*: they run on the worker that holds that topic's partition.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from riskmon.alerting.handler import AlertManagerHandler
from riskmon.alerting.holds import HoldIssuer
from riskmon.alerting.metrics import AlertMetrics
from riskmon.alerting.sink import AlertSink
from riskmon.alerting.state_store import AlertStateStore
from riskmon.applications.handler import ApplicationHandler
from riskmon.applications.scoring import ModelScorer
from riskmon.audit.keyfiles import load_public_keys, load_signer
from riskmon.audit.writer import AuditWriter
from riskmon.config import RiskConfig
from riskmon.fraud.learner import FraudLearner
from riskmon.fraud.outcomes import OutcomeHandler
from riskmon.learning.learner import Learner
from riskmon.learning.registry import ModelRegistry
from riskmon.learning.repayments import RepaymentHandler
from riskmon.pipeline.messages import Incoming, Send
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore, key_namespace
from riskmon.portfolio.handler import PortfolioHandler
from riskmon.reviews.handler import ReviewHandler
from riskmon.runtime.lag import PipelineLag
from riskmon.runtime.log_limits import LIBRDKAFKA_LOGGER
from riskmon.runtime.topics import TopicNames, topic_names
from riskmon.settings import Settings
from riskmon.transactions.handler import TransactionHandler

__all__ = ["ALERT_WITHIN", "BATCH_MAX", "Route", "Routes", "Timer", "build_routes"]

Role = Literal["decisions", "transactions", "background"]

#: The most events one batch holds.
BATCH_MAX = 500
#: The alert manager's batch window (seconds): a second window every alert waits, after its
#: input batch's and a hop through ``risk.alerts.candidates``.
ALERT_WITHIN = 0.02

Handle = Callable[[Sequence[Incoming]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    """One agent: batches of ``topic``'s raw events to ``handle``, which never raises.

    ``within`` is the batch window in seconds; ``linger`` (latency-critical
    routes) closes a batch that long after its first event instead, see
    :class:`riskmon.runtime.patches.batching.Batcher`; ``watch_lag`` feeds the
    ingestion-lag watch (input topics only).
    """

    topic: str
    name: str
    handle: Handle
    within: float
    role: Role
    watch_lag: bool = True
    linger: float | None = None


@dataclass(frozen=True, slots=True)
class Timer:
    """A periodic job. With ``owner_topic`` it runs only on the worker holding that
    topic's partition, and ``otherwise`` (if any) runs on the others."""

    name: str
    interval: float
    run: Callable[[], Awaitable[None]]
    role: Role
    owner_topic: str | None = None
    otherwise: Callable[[], None] | None = None


@dataclass
class Routes:
    """The table and the shared parts the runtime also serves (pages, metrics, shutdown)."""

    names: TopicNames
    store: DecisionStore
    registry: ModelRegistry
    scorer: ModelScorer
    alert_handler: AlertManagerHandler
    alert_metrics: AlertMetrics
    portfolio: PortfolioHandler
    lag: PipelineLag
    audit_writer: AuditWriter | None = None
    routes: list[Route] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)

    def for_role(self, role: str) -> Routes:
        """The routes and timers one process of ``role`` runs (``all``: every one)."""
        if role == "all":
            return self
        return replace(
            self,
            routes=[r for r in self.routes if r.role == role],
            timers=[t for t in self.timers if t.role == role],
        )

    def topics(self) -> frozenset[str]:
        """The topics this table consumes."""
        return frozenset(r.topic for r in self.routes)


def build_routes(settings: Settings, config: RiskConfig, *, send: Send, metrics: WorkerMetrics) -> Routes:
    """Every handler of the worker, built once, and the table that feeds them."""
    names = topic_names(settings)
    window = settings.batch_window_ms / 1000
    linger = settings.linger_ms / 1000  # the latency-critical routes: decisions and the alert path
    audit_topic = names.audit_pending if settings.audit_enabled else None
    store = DecisionStore(
        settings.redis_url,
        ttl_seconds=settings.decision_ttl_days * 86400,
        namespace=key_namespace(settings.topic_prefix, settings.redis_url),
    )
    registry = ModelRegistry(
        store.client, namespace=store.namespace, snapshot_ttl_seconds=settings.decision_ttl_days * 86400
    )
    scorer = ModelScorer(registry, min_labels=config.models.min_labels_to_decide)
    alert_sink = AlertSink(send, names.alert_candidates)
    alert_metrics = AlertMetrics(metrics.registry)
    alert_handler = AlertManagerHandler(
        config=config.alerting,
        store=AlertStateStore(store.client, store.namespace, profile_ttl_seconds=store.ttl_seconds),
        send=send,
        alerts_topic=names.alerts,
        notifications_topic=names.notifications,
        deadletter_topic=names.deadletter,
        metrics=metrics,
        alert_metrics=alert_metrics,
        holds=HoldIssuer(
            store=store,
            send=send,
            decisions_topic=names.decisions,
            audit_topic=audit_topic,
            policy_version=config.policy_version,
            window_seconds=config.policy.customer.hold_window_hours * 3600,
            metrics=metrics,
        ),
    )
    learner = Learner(
        registry=registry,
        store=store,
        config=config.models,
        error_drift=config.detectors.error_drift(),
        alerts=alert_sink,
        config_version=config.version[:12],
        grade_bounds=config.policy.grade_bounds,  # calibration is judged per grade (riskmon.models.calibration)
    )
    applications = ApplicationHandler(
        config=config,
        store=store,
        send=send,
        decisions_topic=names.decisions,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
        scorer=scorer,
        portfolio_topic=names.portfolio,
        audit_topic=audit_topic,
        pseudonym_key=settings.audit_pseudonym_key.encode(),
    )
    reviews = ReviewHandler(
        store=store,
        send=send,
        decisions_topic=names.decisions,
        deadletter_topic=names.deadletter,
        audit_topic=audit_topic,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
    )
    audit_writer = AuditWriter(
        store=store,
        audit_topic=names.audit,
        # librdkafka's lines through logging, where the worker bounds their repeats
        kafka_config={**settings.confluent_config(), "logger": logging.getLogger(LIBRDKAFKA_LOGGER)},
        signer=load_signer(settings.audit_signing_key_file),
        trusted_keys=load_public_keys([settings.audit_public_key_file] if settings.audit_public_key_file else []),
        checkpoint_key_bytes=settings.audit_checkpoint_key.encode(),  # HMAC checkpoints written before signing
        app_id=settings.app_id,
    )
    repayments = RepaymentHandler(
        store=store,
        send=send,
        training_topic=names.training,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        bad_days_past_due=config.models.bad_days_past_due,
        metrics=metrics,
        portfolio_topic=names.portfolio,
    )
    transactions = TransactionHandler(
        config=config,
        store=store,
        send=send,
        alerts=alert_sink,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
    )
    outcomes = OutcomeHandler(
        store=store,
        send=send,
        training_topic=names.fraud_training,
        deadletter_topic=names.deadletter,
        max_message_bytes=settings.max_message_bytes,
        metrics=metrics,
    )
    fraud_learner = FraudLearner(store=store)
    portfolio = PortfolioHandler(config=config, store=store, alerts=alert_sink)
    for handler in (applications, reviews, repayments, transactions, outcomes, alert_handler):
        handler.remember_deadletters(store)  # a dead letter is sent once per input where Redis allows it
    table = Routes(
        names=names,
        store=store,
        registry=registry,
        scorer=scorer,
        alert_handler=alert_handler,
        alert_metrics=alert_metrics,
        portfolio=portfolio,
        lag=PipelineLag(config, alert_sink),
        audit_writer=audit_writer,
    )
    table.routes = [
        Route(names.applications, "decide-applications", applications.handle, window, "decisions", linger=linger),
        Route(names.reviews, "apply-reviews", reviews.handle, window, "decisions", linger=linger),
        Route(names.transactions, "watch-transactions", transactions.handle, window, "transactions", linger=linger),
        Route(names.repayments, "join-repayment-labels", repayments.handle, window, "transactions"),
        Route(names.transaction_outcomes, "join-transaction-outcomes", outcomes.handle, window, "transactions"),
        Route(names.fraud_training, "learn-fraud", fraud_learner.handle, 0.2, "background", watch_lag=False),
        Route(names.portfolio, "watch-portfolio", portfolio.handle, 0.1, "background", watch_lag=False),
        Route(names.audit_pending, "write-audit-trail", audit_writer.handle, 0.05, "background", watch_lag=False),
        Route(names.training, "learn", learner.handle, 0.2, "background", watch_lag=False),
        Route(
            names.alert_candidates,
            "manage-alerts",
            alert_handler.handle,
            ALERT_WITHIN,
            "background",
            watch_lag=False,
            linger=linger,
        ),
    ]
    table.timers = [
        # quiet-period resolutions and grouped announcements; the others forget what they held
        Timer(
            "alert-tick",
            1.0,
            alert_handler.tick,
            "background",
            owner_topic=names.alert_candidates,
            otherwise=alert_handler.forget,
        ),
        # a checkpoint of the chain head at least every 10 s while entries arrive
        Timer(
            "audit-checkpoint", 10.0, _discard(audit_writer.checkpoint), "background", owner_topic=names.audit_pending
        ),
        # a requested promotion is applied even when no labels flow, and what is due is published
        Timer(
            "publish-models",
            max(1.0, min(5.0, config.models.publish_every_seconds / 2)),
            learner.tick,
            "background",
            owner_topic=names.training,
        ),
    ]
    if settings.shadow_config_path:
        _add_shadow(table, settings, config, send=send, window=window)
    return table


def _discard(job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """``job`` as a timer runs it: its result is not wanted."""

    async def run() -> None:
        await job()

    return run


def _add_shadow(table: Routes, settings: Settings, config: RiskConfig, *, send: Send, window: float) -> None:
    """Shadow mode: its own agents on the input topics, ``risk.shadow`` as its only output."""
    import logging

    from riskmon.runtime.topics import ensure_topic
    from riskmon.shadow.handler import SHADOW_TICK_SECONDS, SHADOW_TOPIC, ShadowHandler, load_shadow_config

    assert settings.shadow_config_path is not None
    shadow_config = load_shadow_config(settings.shadow_config_path)
    topic = settings.topic(SHADOW_TOPIC)
    ensure_topic(settings, topic)

    async def send_shadow(to: str, key: bytes | None, value: bytes) -> Awaitable[object]:
        if to != topic:
            raise ValueError(f"the shadow writes to {topic} only, not {to}")
        return await send(to, key, value)

    store = table.store
    handler = ShadowHandler(
        config=shadow_config,
        scorer=ModelScorer(table.registry, min_labels=shadow_config.models.min_labels_to_decide),
        send=send_shadow,
        topic=topic,
        active_policy_version=config.policy_version,
        max_message_bytes=settings.max_message_bytes,
        degraded=lambda: store.degraded,
    )
    names = table.names
    table.routes += [
        Route(names.applications, "shadow-applications", handler.applications, window, "background", watch_lag=False),
        Route(names.transactions, "shadow-transactions", handler.transactions, window, "background", watch_lag=False),
        Route(names.repayments, "shadow-repayments", handler.repayments, window, "background", watch_lag=False),
    ]
    table.timers.append(Timer("shadow-tick", SHADOW_TICK_SECONDS, handler.tick, "background"))
    logging.getLogger(__name__).info(
        "shadow mode: %s (%s) evaluated beside %s, recorded on %s only",
        shadow_config.source,
        shadow_config.policy_version,
        config.policy_version,
        topic,
    )
