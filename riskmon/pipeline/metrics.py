"""Prometheus metrics of the worker, with label children bound once.

Names follow Prometheus conventions: the ``riskmon_`` prefix, ``_total`` on
counters, base units in the name (``_seconds``, ``_messages``, ``_ratio``).
Labels carry only bounded, non-personal values: topic names, outcomes, error
types, detector names, alert levels; never an identifier or anything from
``applicant``. Children are pre-bound (``.labels()`` is a dict lookup plus a
lock that costs a few microseconds per call) so the hot path only increments.
Gauges that describe a state (consumer lag, portfolio rates, PSI) are set by
a timer (:mod:`riskmon.runtime.sampling`), never per message.

``exported_names(registry)`` lists every series name the worker can export (histograms
with their ``_bucket``/``_sum``/``_count`` series): the dashboard and rules
tests check their PromQL against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from riskmon.detectors.portfolio import INDICATORS
from riskmon.schemas import OUTCOMES, RULES

__all__ = ["WorkerMetrics", "PORTFOLIO_RATIOS", "DEGRADED_REASONS", "LABEL_RESULTS", "exported_names"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# From the producer's timestamp to the broker's ack of the decision: includes
# time spent waiting in the topic, so the buckets reach minutes (a backlog).
_END_TO_END_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# A generation-0 collection takes tens of microseconds; a full one over a large heap, hundreds of ms.
_GC_PAUSE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

#: Portfolio indicators exported as ``riskmon_portfolio_ratio{indicator}`` (every rate, not the mean latency).
PORTFOLIO_RATIOS = tuple(name for name in INDICATORS if name.endswith("_rate"))
#: Why a decision was made in degraded mode: shared state (Redis) unreachable, or a critical model alert.
DEGRADED_REASONS = ("redis_unavailable", "model_alert")
#: What became of a final repayment outcome (``riskmon_repayment_labels_total{result}``).
LABEL_RESULTS = ("joined", "duplicate", "unmatched", "not_final")


class WorkerMetrics:
    """The counters, histograms and gauges one worker exports on ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        # -- flow: what came in, what went out ------------------------------------
        self.consumed = Counter(
            "riskmon_messages_consumed_total", "Messages consumed, by topic.", ["topic"], registry=r
        )
        self.decisions = Counter(
            "riskmon_decisions_total", "Automated decisions published, by outcome.", ["outcome"], registry=r
        )
        self.duplicates = Counter(
            "riskmon_duplicate_applications_total",
            "Applications already decided (redelivered or sent again) that were not decided twice.",
            registry=r,
        )
        self.deadletters = Counter(
            "riskmon_deadletters_total",
            "Messages sent to the dead-letter topic, by source topic and error type.",
            ["source_topic", "error_type"],
            registry=r,
        )
        self.deadletter_repeats = Counter(
            "riskmon_deadletter_repeats_total",
            "Inputs read again after a crash whose dead letter had been delivered: not sent twice.",
            ["source_topic"],
            registry=r,
        )
        self.degraded = Counter(
            "riskmon_degraded_decisions_total",
            "Decisions made in degraded mode (approvals held for review), by reason.",
            ["reason"],
            registry=r,
        )
        self.repayment_labels = Counter(
            "riskmon_repayment_labels_total",
            "Final repayment outcomes by what became of them: joined, duplicate, unmatched, not_final.",
            ["result"],
            registry=r,
        )
        self.late_events = Counter(
            "riskmon_late_events_total",
            "Events older than their window's allowed lateness, left out of the windows.",
            registry=r,
        )
        self.customer_state_resets = Counter(
            "riskmon_customer_state_reset_total",
            "Customers whose stored detector state could not be used (another format or window shape) "
            "and started afresh.",
            registry=r,
        )
        self.alerts = Counter(
            "riskmon_alerts_total",
            "Alert state changes published to risk.alerts, by detector, level and status.",
            ["detector", "level", "status"],
            registry=r,
        )
        self.holds = Counter(
            "riskmon_holds_total",
            "Approvals re-issued as review decisions (stage hold) because a critical alert opened on the customer.",
            registry=r,
        )
        # -- latency --------------------------------------------------------------
        self.profile_delay = Histogram(
            "riskmon_profile_delay_seconds",
            "From a batch's oldest event reaching the broker to its effect on the customer risk profiles, by part.",
            ["part"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.latency = Histogram(
            "riskmon_decision_latency_seconds",
            "Time from consuming an application to publishing its decision.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.end_to_end = Histogram(
            "riskmon_decision_end_to_end_latency_seconds",
            "Time from the application's broker timestamp (when it was produced) to the broker's "
            "acknowledgement of its decision.",
            buckets=_END_TO_END_BUCKETS,
            registry=r,
        )
        self.gc_pause = Histogram(
            "riskmon_gc_pause_seconds",
            "Time the garbage collector stopped the worker, by generation collected (riskmon.runtime.tuning.gc).",
            ["generation"],
            buckets=_GC_PAUSE_BUCKETS,
            registry=r,
        )
        # -- state, sampled by a timer ---------------------------------------------
        self.consumer_lag = Gauge(
            "riskmon_consumer_lag_messages",
            "Messages on the broker that this worker has not yet read, summed over its partitions of each topic.",
            ["topic"],
            registry=r,
        )
        self.consumer_end_offset = Gauge(
            "riskmon_consumer_end_offset",
            "Log end offsets of this worker's partitions of each topic, summed: their rate is the arrival rate.",
            ["topic"],
            registry=r,
        )
        self.redis_degraded = Gauge(
            "riskmon_redis_degraded",
            "1 while shared state (Redis) is unavailable and the worker backs off from it, else 0.",
            registry=r,
        )
        self.portfolio_ratio = Gauge(
            "riskmon_portfolio_ratio",
            "Portfolio indicators (approval, review, reject, overdue, days-past-due and default rates) "
            "over their windows; exported by the worker that watches the portfolio, once the sample suffices.",
            ["indicator"],
            registry=r,
        )
        # -- models ---------------------------------------------------------------
        self.model_auc = Gauge(
            "riskmon_model_roc_auc", "Prequential ROC AUC of each model on labelled decisions.", ["model"], registry=r
        )
        self.model_ks = Gauge(
            "riskmon_model_ks", "Prequential Kolmogorov-Smirnov statistic of each model.", ["model"], registry=r
        )
        self.model_log_loss = Gauge(
            "riskmon_model_log_loss", "Prequential log loss of each model.", ["model"], registry=r
        )
        self.model_gini = Gauge(
            "riskmon_model_gini", "Prequential Gini (2 AUC - 1) of each model.", ["model"], registry=r
        )
        self.model_brier = Gauge(
            "riskmon_model_brier", "Brier score (mean squared PD error) of each model's PDs.", ["model"], registry=r
        )
        self.model_calibration = Gauge(
            "riskmon_model_calibration_light",
            "Calibration traffic light per grade (Jeffreys test of expected against observed default rate): "
            "0 green, 1 yellow, 2 red; absent while a grade has too few labels.",
            ["model", "grade"],
            registry=r,
        )
        self.model_labels_learned = Gauge(
            "riskmon_model_labels_learned", "Labels the published model of each role has learned.", ["role"], registry=r
        )
        self.model_score_psi = Gauge(
            "riskmon_model_score_psi",
            "Population stability index of the deciding model's scores against its reference window, "
            "by the deciding model's family.",
            ["model"],
            registry=r,
        )

        self._outcome = {o: self.decisions.labels(outcome=o) for o in OUTCOMES}
        self._degraded = {reason: self.degraded.labels(reason=reason) for reason in DEGRADED_REASONS}
        self._label_result = {result: self.repayment_labels.labels(result=result) for result in LABEL_RESULTS}
        self._dl: dict[tuple[str, str], Counter] = {}
        self._consumed: dict[str, Counter] = {}
        self._alerted: dict[tuple[str, str, str], Counter] = {}
        self._known_errors = set(RULES) | {"processing_error"}
        self._lag_topics: set[str] = set()
        self._end_topics: set[str] = set()
        self._ratios_set: set[str] = set()
        self._psi_model: str | None = None

    # -- hot path: one dict lookup and an increment -------------------------------

    def consumed_on(self, topic: str, n: int = 1) -> None:
        child = self._consumed.get(topic)
        if child is None:
            child = self._consumed[topic] = self.consumed.labels(topic=topic)
        child.inc(n)

    def profile_written(self, part: str, oldest: float | None) -> None:
        """A profile writer's batch took effect: its delay since ``oldest`` (the batch's oldest broker timestamp)."""
        if oldest is not None:
            self.profile_delay.labels(part=part).observe(max(0.0, time.time() - oldest))

    def decided(self, outcome: str) -> None:
        self._outcome[outcome].inc()

    def decided_degraded(self, reason: str) -> None:
        """One decision made in degraded mode; ``reason`` is one of :data:`DEGRADED_REASONS`."""
        self._degraded[reason].inc()

    def label_result(self, result: str) -> None:
        self._label_result[result].inc()

    def delivered_end_to_end(self, produced_at: Iterable[float | None], acknowledged_at: float) -> None:
        """Decisions acknowledged at ``acknowledged_at`` (epoch s) for inputs produced at ``produced_at``.

        A producer's clock ahead of ours would give a negative latency: it counts as 0."""
        observe = self.end_to_end.observe
        for stamp in produced_at:
            if stamp is not None:
                observe(max(0.0, acknowledged_at - stamp))

    def deadlettered(self, source_topic: str, error_type: str) -> None:
        error_type = error_type if error_type in self._known_errors else "other"
        key = (source_topic, error_type)
        child = self._dl.get(key)
        if child is None:
            child = self._dl[key] = self.deadletters.labels(source_topic=source_topic, error_type=error_type)
        child.inc()

    def alerted(self, detector: str, level: str, status: str) -> None:
        key = (detector, level, status)
        child = self._alerted.get(key)
        if child is None:
            child = self._alerted[key] = self.alerts.labels(detector=detector, level=level, status=status)
        child.inc()

    # -- sampled state -------------------------------------------------------------

    def watch_redis(self, degraded: Callable[[], object]) -> None:
        """Read ``degraded()`` (truthy while Redis is unavailable) at each scrape."""
        self.redis_degraded.set_function(lambda: 1.0 if degraded() else 0.0)

    def set_consumer_lag(self, lag: Mapping[str, int], end: Mapping[str, int]) -> None:
        """Replace the lag and end-offset gauges (by topic) in one step, so a scrape
        sees one sample; topics no longer assigned to this worker disappear."""
        for gauge, values, known in (
            (self.consumer_lag, lag, self._lag_topics),
            (self.consumer_end_offset, end, self._end_topics),
        ):
            for topic in known - set(values):
                gauge.remove(topic)
            for topic, value in values.items():
                gauge.labels(topic=topic).set(value)
            known.clear()
            known.update(values)

    def set_portfolio(self, ratios: Mapping[str, float | None], psi: float | None, model: str | None) -> None:
        """Export the portfolio watch's current rates and the PSI of ``model``'s
        scores; ``None`` (no sample yet, or the portfolio is watched by another
        worker) removes the series rather than leaving a stale value."""
        for name in PORTFOLIO_RATIOS:
            value = ratios.get(name)
            if value is None:
                if name in self._ratios_set:
                    self.portfolio_ratio.remove(name)
                    self._ratios_set.discard(name)
            else:
                self.portfolio_ratio.labels(indicator=name).set(value)
                self._ratios_set.add(name)
        if self._psi_model is not None and (psi is None or model != self._psi_model):
            self.model_score_psi.remove(self._psi_model)
            self._psi_model = None
        if psi is not None and model is not None:
            self.model_score_psi.labels(model=model).set(psi)
            self._psi_model = model

    def model_evaluation(self, evaluation: dict) -> None:
        """Export the learner's latest published evaluation."""
        comparison = evaluation.get("comparison", {})
        rows = [
            (comparison.get(role, {}).get("version", role).rsplit("-n", 1)[0], comparison.get(role, {}))
            for role in ("champion", "challenger")
        ]
        rows.append(("scorecard", evaluation.get("scorecard", {})))
        for name, summary in rows:
            for gauge, key in ((self.model_auc, "auc"), (self.model_ks, "ks"), (self.model_log_loss, "log_loss")):
                value = summary.get(key)
                if value is not None:
                    gauge.labels(model=name).set(value)
            if summary.get("auc") is not None:
                self.model_gini.labels(model=name).set(2 * summary["auc"] - 1)
        names = {"champion": rows[0][0], "challenger": rows[1][0]}
        self._calibration(evaluation.get("calibration") or {}, names)

    def _calibration(self, calibration: dict, names: dict[str, str]) -> None:
        """Brier score and the per-grade traffic lights (riskmon.models.calibration) of each role's model."""
        for role, summary in calibration.items():
            name = names.get(role, role)
            if summary.get("brier") is not None:
                self.model_brier.labels(model=name).set(summary["brier"])
            for check in summary.get("grades", []):
                light = {"green": 0, "yellow": 1, "red": 2}.get(check.get("light"))
                if light is not None:
                    self.model_calibration.labels(model=name, grade=check["grade"]).set(light)


def exported_names(registry: CollectorRegistry) -> set[str]:
    """Every series name ``registry`` can export, whether or not a labelled
    child exists yet: ``name_total`` for counters, ``name_bucket``/``_sum``/``_count``
    for histograms, ``name`` for gauges."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names: set[str] = set()
    for family in registry.collect():
        for suffix in suffixes.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names
