"""Prometheus metrics of the worker, with label children bound once.

Labels carry only bounded, non-personal values: topic names, outcomes, error
types. Children are pre-bound (``.labels()`` is a dict lookup plus a lock that
costs a few microseconds per call) so the hot path only increments.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from riskmon.schemas import OUTCOMES, RULES

__all__ = ["WorkerMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class WorkerMetrics:
    """The counters and histograms one worker exports on ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.consumed = Counter(
            "riskmon_messages_consumed_total", "Messages consumed, by topic.", ["topic"], registry=self.registry
        )
        self.decisions = Counter(
            "riskmon_decisions_total", "Automated decisions published, by outcome.", ["outcome"], registry=self.registry
        )
        self.duplicates = Counter(
            "riskmon_duplicate_applications_total",
            "Applications already decided (redelivered or sent again) that were not decided twice.",
            registry=self.registry,
        )
        self.deadletters = Counter(
            "riskmon_deadletters_total",
            "Messages sent to the dead-letter topic, by source topic and error type.",
            ["source_topic", "error_type"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "riskmon_degraded_decisions_total",
            "Decisions made while shared state (Redis) was unavailable.",
            registry=self.registry,
        )
        self.labels = Counter(
            "riskmon_labels_total",
            "Final repayment outcomes by what became of them: joined, duplicate, unmatched, not_final.",
            ["result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "riskmon_decision_latency_seconds",
            "Time from consuming an application to publishing its decision.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.late_events = Counter(
            "riskmon_late_events_total",
            "Events older than their window's allowed lateness, left out of the windows.",
            registry=self.registry,
        )
        self.alerts = Counter(
            "riskmon_alerts_total",
            "Alert state changes published to risk.alerts, by detector, level and status.",
            ["detector", "level", "status"],
            registry=self.registry,
        )
        self.model_auc = Gauge(
            "riskmon_model_roc_auc", "Prequential ROC AUC of each model on labelled decisions.", ["model"], registry=self.registry
        )
        self.model_ks = Gauge(
            "riskmon_model_ks", "Prequential Kolmogorov-Smirnov statistic of each model.", ["model"], registry=self.registry
        )
        self.model_log_loss = Gauge(
            "riskmon_model_log_loss", "Prequential log loss of each model.", ["model"], registry=self.registry
        )
        self.model_labels = Gauge(
            "riskmon_model_labels", "Labels the published model of each role has learned.", ["role"], registry=self.registry
        )
        self._outcome = {o: self.decisions.labels(outcome=o) for o in OUTCOMES}
        self._dl: dict[tuple[str, str], Counter] = {}
        self._consumed: dict[str, Counter] = {}
        self._known_errors = set(RULES) | {"processing_error"}

    def model_evaluation(self, evaluation: dict) -> None:
        """Export the learner's latest published evaluation."""
        comparison = evaluation.get("comparison", {})
        rows = [(comparison.get(role, {}).get("version", role).rsplit("-n", 1)[0], comparison.get(role, {})) for role in ("champion", "challenger")]
        rows.append(("scorecard", evaluation.get("scorecard", {})))
        for name, summary in rows:
            for gauge, key in ((self.model_auc, "auc"), (self.model_ks, "ks"), (self.model_log_loss, "log_loss")):
                value = summary.get(key)
                if value is not None:
                    gauge.labels(model=name).set(value)

    def alerted(self, detector: str, level: str, status: str) -> None:
        self.alerts.labels(detector=detector, level=level, status=status).inc()

    def consumed_on(self, topic: str, n: int = 1) -> None:
        child = self._consumed.get(topic)
        if child is None:
            child = self._consumed[topic] = self.consumed.labels(topic=topic)
        child.inc(n)

    def decided(self, outcome: str) -> None:
        self._outcome[outcome].inc()

    def deadlettered(self, source_topic: str, error_type: str) -> None:
        error_type = error_type if error_type in self._known_errors else "other"
        key = (source_topic, error_type)
        child = self._dl.get(key)
        if child is None:
            child = self._dl[key] = self.deadletters.labels(source_topic=source_topic, error_type=error_type)
        child.inc()
