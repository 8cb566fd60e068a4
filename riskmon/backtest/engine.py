"""Replay a recorded stream through one configuration, offline and deterministically.

Events are taken in file order (the order the worker received them), each
validated as the worker validates it; what fails is counted as a dead letter.
Two clocks, both event time, so the same file and configuration always give
the same results:

* the *decision clock* is the latest ``submitted_at`` seen: each decision's
  ``decided_at`` (the portfolio watch's time for it), and the learner's
  publishing timer. Live, both are the wall clock of a worker that keeps up
  with its input, which is what the latest submission time stands for.
* the *watermark* is the latest event time of any kind: the alert manager's
  ``now`` (grouping, repeat and resolve intervals) and the time of labels.
  The manager's timer (:meth:`AlertManager.tick`) runs every
  :data:`TICK_SECONDS` of watermark.

``latency_ms`` of backtest decisions is 0: latency is the live system's
property, not the configuration's. The time each decision took to compute
here is measured and reported apart, never fed back into the detectors.

Not replayed: the ingestion-lag watch (it compares broker timestamps with
the wall clock: a pipeline property) and manual reviews (a reviewer's verdict
does not depend on the configuration; they are counted).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from riskmon.alerting.config import AlertingConfig
from riskmon.alerting.manager import AlertManager, Outcome
from riskmon.alerting.model import Notification
from riskmon.applications.scoring import ModelScorer
from riskmon.backtest.evaluator import Evaluator
from riskmon.backtest.learner import OfflineLearner
from riskmon.backtest.recorded import Parsed
from riskmon.config import RiskConfig
from riskmon.detectors import utc
from riskmon.models.labels import label_from_repayment
from riskmon.schemas import Alert, Application, Repayment, Review, Transaction, TransactionOutcome, format_timestamp

__all__ = ["RunResult", "run", "TICK_SECONDS"]

#: Seconds of watermark between two runs of the alert manager's timer.
TICK_SECONDS = 60.0
#: Transactions whose fraud snapshot the replay keeps for their outcome (the oldest are forgotten first).
FRAUD_SNAPSHOTS = 500_000


@dataclass
class RunResult:
    """Everything one configuration did over the stream, in order."""

    config: RiskConfig
    decisions: list[dict] = field(default_factory=list)
    holds: list[dict] = field(default_factory=list)  # approvals re-issued as reviews after a critical alert
    decision_seconds: list[float] = field(default_factory=list)  # measured compute time of each decision
    candidates: list[Alert] = field(
        default_factory=list
    )  # raw detector candidates (what risk.alerts.candidates carries)
    published: list[Alert] = field(default_factory=list)  # the alert manager's feed
    notifications: list[Notification] = field(default_factory=list)
    manager_reasons: Counter = field(default_factory=Counter)  # why each candidate was (not) published
    labels: dict[str, bool] = field(default_factory=dict)  # application_id -> bad, from its first final outcome
    deadletters: Counter = field(default_factory=Counter)  # (topic, rule) -> count
    duplicates: int = 0
    reviews: int = 0
    late_dropped: int = 0
    learned: int = 0
    publications: int = 0
    promotions: int = 0
    failed_decisions: int = 0
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # application_id -> PD of each model


def _event_time(record: object) -> datetime:
    if isinstance(record, Application):
        return record.submitted_at
    if isinstance(record, (Transaction, Repayment, TransactionOutcome)):
        return record.occurred_at
    assert isinstance(record, Review)
    return record.reviewed_at


class _Run:
    """The state of one replay (see module doc)."""

    def __init__(self, config: RiskConfig, alerting: AlertingConfig) -> None:
        self.result = RunResult(config)
        # every model scores every application, a GBM challenger too: the strategy curves compare them
        self.scorer = ModelScorer(None, min_labels=config.models.min_labels_to_decide, score_every_model=True)
        self.evaluator = Evaluator(config, self.scorer, fraud_snapshots=FRAUD_SNAPSHOTS)
        self.learner = OfflineLearner(config, self.scorer)
        self.manager = AlertManager(alerting)
        self.snapshots: dict[str, dict] = {}
        self.labelled: set[str] = set()
        self.decision_clock: datetime | None = None
        self.watermark: float | None = None
        self.next_tick: float | None = None

    def event(self, parsed: Parsed) -> None:
        record = parsed.record
        if record is None:
            error = parsed.error
            self.result.deadletters[(parsed.event.topic, error.rule if error else "other")] += 1
            return
        at = _event_time(record).timestamp()
        self.watermark = at if self.watermark is None else max(self.watermark, at)
        if self.next_tick is None:
            self.next_tick = self.watermark + TICK_SECONDS
        elif self.watermark >= self.next_tick:
            self._apply(self.manager.tick(self.watermark))
            self.next_tick = self.watermark + TICK_SECONDS
        if isinstance(record, Application):
            alerts = self._application(record)
        elif isinstance(record, Transaction):
            alerts = self.evaluator.watch_transaction(record)
        elif isinstance(record, Repayment):
            alerts = self._repayment(record)
        elif isinstance(record, TransactionOutcome):
            self.evaluator.learn_outcome(record)
            alerts = []
        else:
            self.result.reviews += 1
            alerts = []
        if alerts:
            self.result.candidates += alerts
            customers = [a.subject.id for a in alerts if a.subject.kind == "customer"]
            exposures, book = self.evaluator.exposures(customers)
            self._apply(self.manager.process(alerts, self.watermark, exposures=exposures, portfolio_exposure=book))

    def _application(self, application: Application) -> list[Alert]:
        if application.application_id in self.snapshots:  # decided already: the worker skips it too
            self.result.duplicates += 1
            return []
        if self.decision_clock is None or application.submitted_at > self.decision_clock:
            self.decision_clock = application.submitted_at
        self.learner.maybe_publish(self.decision_clock.timestamp())
        started = time.perf_counter()
        (evaluated,) = self.evaluator.decide(
            [application], decided_at=self.decision_clock, latencies_ms=[0.0], degraded=self.evaluator.model_hold
        )
        self.result.decision_seconds.append(time.perf_counter() - started)
        self.result.decisions.append(evaluated.decision)
        self.result.failed_decisions += evaluated.error is not None
        self.snapshots[application.application_id] = evaluated.snapshot or {}
        scored = (evaluated.snapshot or {}).get("scores") or {}
        self.result.scores[application.application_id] = {m: float(p) for m, p in scored.items() if p is not None}
        return self.evaluator.watch_decisions([evaluated.decision])

    def _repayment(self, repayment: Repayment) -> list[Alert]:
        alerts = self.evaluator.watch_repayment(repayment)
        label = label_from_repayment(repayment, bad_days_past_due=self.result.config.models.bad_days_past_due)
        if label is None:
            return alerts
        loan = repayment.application_id
        self.result.labels.setdefault(loan, label)
        snapshot = self.snapshots.get(loan)
        if snapshot and loan not in self.labelled:  # the live join: decided here, learned once
            self.labelled.add(loan)
            assert self.watermark is not None
            example = {
                **snapshot,
                "label": label,
                "labelled_at": format_timestamp(utc(self.watermark)),
                "repayment_event_id": repayment.event_id,
            }
            alerts += self.learner.learn([example], at=self.watermark)
        return alerts

    def _apply(self, outcome: Outcome) -> None:
        self.manager.commit(outcome)
        self.result.published += outcome.published
        if outcome.published and self.watermark is not None:
            self.result.holds += self.evaluator.on_published(outcome.published, now=self.watermark)
        self.result.notifications += outcome.notifications
        self.result.manager_reasons.update(str(reason) for _, reason, _ in outcome.decisions)

    def finish(self) -> RunResult:
        if self.watermark is not None:
            self._apply(self.manager.tick(self.watermark))
        r = self.result
        r.late_dropped = self.evaluator.late_dropped
        r.learned, r.publications, r.promotions = (
            self.learner.learned,
            self.learner.publications,
            self.learner.promotions,
        )
        return r


def run(config: RiskConfig, alerting: AlertingConfig, events: Sequence[Parsed]) -> RunResult:
    """Replay ``events`` through ``config`` (policy, models, detectors) and ``alerting`` (the alert manager)."""
    state = _Run(config, alerting)
    for parsed in events:
        state.event(parsed)
    return state.finish()
