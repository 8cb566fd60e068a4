"""Topic names of the contract, and creating them before a worker subscribes.

Why create topics ourselves: a Faust worker that subscribes before a source
topic exists never sees it until its metadata refreshes (minutes), so messages
produced meanwhile wait unprocessed. ``riskmon worker`` therefore creates every
topic it reads or writes, with the configured partitions, before it starts.
The dead-letter topic accepts messages up to 8 MiB so that a record carrying
an oversized original (base64 grows it by a third) still fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from riskmon.settings import Settings

__all__ = ["DEADLETTER_MAX_BYTES", "TopicNames", "ensure_topic", "ensure_topics", "topic_names"]

DEADLETTER_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The real (possibly prefixed) name of each contract topic."""

    applications: str
    transactions: str
    repayments: str
    reviews: str
    decisions: str
    alerts: str
    deadletter: str
    audit: str
    training: str  # internal: labelled examples for the learner (one partition)
    portfolio: str  # internal: decision and repayment summaries for the portfolio watch (one partition)
    audit_pending: str  # internal: audit records waiting for the one audit writer (one partition)
    alert_candidates: (
        str  # internal: detector candidates and operators' acks/silences for the one alert manager (one partition)
    )
    notifications: str  # what receivers (pagers, webhooks) are sent, keyed by group; one consumer group per receiver
    transaction_outcomes: str  # confirmed outcomes of transactions (fraud, chargeback, genuine), key customer_id
    fraud_training: (
        str  # internal: outcomes joined with their transactions' snapshots, for the fraud learner (one partition)
    )

    def all(self) -> tuple[str, ...]:
        return (
            self.applications,
            self.transactions,
            self.repayments,
            self.reviews,
            self.decisions,
            self.alerts,
            self.deadletter,
            self.audit,
            self.training,
            self.portfolio,
            self.audit_pending,
            self.alert_candidates,
            self.notifications,
            self.transaction_outcomes,
            self.fraud_training,
        )


def topic_names(settings: Settings) -> TopicNames:
    """Contract topic names with the configured prefix.

    >>> topic_names(Settings(topic_prefix="t1.")).deadletter
    't1.risk.deadletter'
    """
    t = settings.topic
    return TopicNames(
        applications=t("credit.applications"),
        transactions=t("credit.transactions"),
        repayments=t("credit.repayments"),
        reviews=t("credit.reviews"),
        decisions=t("credit.decisions"),
        alerts=t("risk.alerts"),
        deadletter=t("risk.deadletter"),
        audit=t("risk.audit"),
        training=t("risk.model.training"),
        portfolio=t("risk.portfolio.events"),
        audit_pending=t("risk.audit.pending"),
        alert_candidates=t("risk.alerts.candidates"),
        notifications=t("risk.notifications"),
        transaction_outcomes=t("credit.transaction_outcomes"),
        fraud_training=t("risk.fraud.training"),
    )


def ensure_topics(settings: Settings, *, timeout: float = 30.0) -> list[str]:
    """Create the contract topics that do not exist yet; return those created."""
    names = topic_names(settings)
    admin = AdminClient(settings.confluent_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = []
    for name in names.all():
        if name in existing:
            continue
        config = {"max.message.bytes": str(DEADLETTER_MAX_BYTES)} if name == names.deadletter else {}
        if name in (names.audit, names.audit_pending):
            config["retention.ms"] = "-1"  # the audit trail is never deleted by retention
            config["cleanup.policy"] = "delete"  # and never compacted
        # The audit trail is one hash chain, so one partition keeps its total
        # order; the training topic has one partition so that one worker learns.
        single = (
            names.audit,
            names.training,
            names.fraud_training,
            names.portfolio,
            names.audit_pending,
            names.alert_candidates,
        )
        partitions = 1 if name in single else settings.partitions
        wanted.append(NewTopic(name, num_partitions=partitions, replication_factor=settings.replication, config=config))
    created = []
    for name, future in admin.create_topics(wanted, request_timeout=timeout).items() if wanted else []:
        try:
            future.result(timeout=timeout)
            created.append(name)
        except Exception as exc:  # another worker may have created it meanwhile
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created


def ensure_topic(settings: Settings, name: str, *, timeout: float = 30.0) -> bool:
    """Create one topic outside the contract's list (the shadow's) if it is missing; True if created."""
    admin = AdminClient(settings.confluent_config())
    if name in admin.list_topics(timeout=timeout).topics:
        return False
    topic = NewTopic(name, num_partitions=settings.partitions, replication_factor=settings.replication)
    for future in admin.create_topics([topic]).values():
        try:
            future.result(timeout=timeout)
        except Exception as exc:  # another worker may have created it meanwhile
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
            return False
    return True
