"""One configuration's policy, scorer and detectors, over events handed in one by one.

Why one class for two uses: the offline backtest and the live shadow mode must
judge a configuration exactly as the worker does, or their numbers would
describe some other system. So this module holds no rule of its own: it calls
the live path's pure pieces in the live order,

* applications: :meth:`ModelScorer.score`, then
  :func:`~riskmon.applications.decide.decide_scored` (with the live fallback to a
  ``review`` decision when the policy fails), then the decision's portfolio
  summary (:mod:`riskmon.portfolio.summaries`) into the portfolio watch;
* transactions: the customer's :class:`~riskmon.transactions.watch.CustomerWatch`, then the
  :class:`~riskmon.transactions.watch.TransactionAnomalyWatch`;
* repayments: their portfolio summary into the portfolio watch;
* transaction outcomes (with ``fraud_snapshots``): the label joins the
  snapshot its transaction was scored with, and the fraud models learn it
  (the backtest is its own fraud learner and puts its models in use every
  ``FRAUD_PUBLISH_EVERY`` labels, where the live path reads them every 30 s).

It does no I/O and reads no clock: the caller passes the decision time and
the latencies (event time in the backtest, the wall clock in shadow mode).
Learning from labels is the caller's (the backtest simulates the learner, the
shadow reads the live one's published models).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from riskmon.applications.decide import decide_batch
from riskmon.applications.scoring import ModelScorer
from riskmon.config import RiskConfig
from riskmon.detectors import epoch
from riskmon.fraud import FraudChampionChallenger
from riskmon.fraud.scoring import FraudScoring
from riskmon.portfolio.summaries import decision_summary, observe_summary, repayment_summary
from riskmon.portfolio.watch import PortfolioWatch
from riskmon.profile import CustomerProfile
from riskmon.profile.book import ProfileBook
from riskmon.profile.holds import holds_for, is_hold_trigger
from riskmon.schemas import Alert, Application, Repayment, Transaction, TransactionOutcome, dumps
from riskmon.transactions.core import watch_transactions
from riskmon.transactions.watch import CustomerWatch, TransactionAnomalyWatch

__all__ = ["Evaluated", "Evaluator", "FRAUD_PUBLISH_EVERY"]

#: Labels between two publications of the fraud models (their budgets are cut anew at each).
FRAUD_PUBLISH_EVERY = 200

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One application's decision (the contract dict, as the worker sends it).

    ``snapshot`` is the feature snapshot the label join uses (None when
    scoring failed); ``error`` names the exception when the policy failed and
    the decision is the fallback ``review``.
    """

    decision: dict
    snapshot: dict | None
    error: str | None = None


class Evaluator:
    """The policy, scorer and detectors of one configuration (see module doc).

    ``max_customers`` bounds the per-customer detector state (least recently
    seen customers are forgotten first); ``None`` keeps every customer, which
    the backtest wants so that no window is lost.
    """

    def __init__(
        self,
        config: RiskConfig,
        scorer: ModelScorer,
        *,
        max_customers: int | None = None,
        fraud_snapshots: int = 0,
    ) -> None:
        self.config = config
        self.scorer = scorer
        self.config_version = config.version[:12]
        self.max_customers = max_customers
        self.customers: OrderedDict[str, CustomerWatch] = OrderedDict()
        self._fresh_watch = CustomerWatch.factory(config.detectors)
        self.anomaly = TransactionAnomalyWatch(config.detectors)
        self.portfolio = PortfolioWatch(config.detectors)
        self.profiles = ProfileBook(
            hold_window_seconds=config.policy.customer.hold_window_hours * 3600, max_customers=max_customers
        )
        self._held: set[str] = set()  # applications held already: one hold per application, as live
        self.late_dropped = 0
        self.fraud = FraudScoring(config.detectors.fraud_budgets())
        self.fraud_models = FraudChampionChallenger()
        self.fraud_snapshot_limit = fraud_snapshots  # 0: no snapshots kept, no labels learned (shadow mode)
        self.fraud_snapshots: OrderedDict[str, bytes] = OrderedDict()
        self.fraud_labels = {"joined": 0, "unmatched": 0, "repeated": 0}
        self._fraud_learned: set[str] = set()

    @property
    def model_hold(self) -> str | None:
        """Why approvals are held (score PSI critical), or None: the live scorer's ``model_alert``."""
        return f"model alert: {self.portfolio.model_critical}" if self.portfolio.model_critical else None

    # -- applications ------------------------------------------------------------

    def decide(
        self,
        applications: Sequence[Application],
        *,
        decided_at: datetime,
        latencies_ms: Sequence[float],
        degraded: str | None = None,
    ) -> list[Evaluated]:
        """Decide a batch as the worker's application handler does (one scoring call per batch),
        with each customer's risk profile as the worker would read it."""
        profiles: list[CustomerProfile | None] = [self.profile(a.customer_id) for a in applications]
        scored = self.scorer.score_or_none(applications, self.config.policy, profiles)
        out = []
        decided = decide_batch(
            applications,
            scored,
            self.config,
            now=lambda: decided_at,
            latencies_ms=latencies_ms,
            degraded=degraded,
            profiles=profiles,
        )
        for d in decided:
            error = None
            if d.error is not None:
                log.error("policy failed for an application; routing it to review", exc_info=d.error)
                error = type(d.error).__name__
            as_dict = orjson.loads(dumps(d.record))  # exactly the bytes the worker would send, read back
            self.profiles.on_decision(as_dict)
            out.append(Evaluated(as_dict, d.snapshot, error))
        return out

    def profile(self, customer_id: str) -> CustomerProfile:
        """The customer's risk profile now, with its exposure from the portfolio watch."""
        return self.profiles.profile(customer_id, exposure=self.portfolio.outstanding(customer_id))

    def on_published(self, published: Sequence[Alert], *, now: float) -> list[dict]:
        """Published alerts into the customers' profiles; the holds they call for (contract dicts), each once."""
        self.profiles.on_alerts(published)
        holds: list[dict] = []
        window = self.config.policy.customer.hold_window_hours * 3600
        for alert in published:
            if not is_hold_trigger(alert):
                continue
            approvals = self.profiles.approvals(alert.subject.id)
            for hold in holds_for(
                alert, approvals, now=now, window_seconds=window, policy_version=self.config.policy_version
            ):
                if hold.application_id not in self._held:
                    self._held.add(hold.application_id)
                    holds.append(orjson.loads(dumps(hold.to_dict())))
        return holds

    def watch_decisions(self, decisions: Sequence[dict]) -> list[Alert]:
        """The portfolio watch's alerts on these decisions (rates, score PSI, exposure)."""
        return self._portfolio([decision_summary(d) for d in decisions])

    # -- repayments and transactions ---------------------------------------------

    def watch_repayment(self, repayment: Repayment) -> list[Alert]:
        """The portfolio watch's alerts on one repayment (overdue and default rates, exposure)."""
        self.profiles.on_repayment(repayment)
        return self._portfolio([repayment_summary(repayment)])

    def watch_transaction(self, tx: Transaction) -> list[Alert]:
        """Velocity, cash-out and anomaly alerts on one transaction, at its own time."""
        watches = {tx.customer_id: self._customer(tx.customer_id)}
        scored: dict[str, dict[str, float]] = {}
        alerts, late = watch_transactions(
            watches, self.anomaly, [tx], config_version=self.config_version, scored=scored
        )
        self.late_dropped += late
        fraud_alerts, snapshot = self.fraud.observe(
            tx, epoch(tx.occurred_at), scored[tx.transaction_id], config_version=self.config_version
        )
        alerts += fraud_alerts
        if self.fraud_snapshot_limit:
            self.fraud_snapshots[tx.transaction_id] = snapshot
            while len(self.fraud_snapshots) > self.fraud_snapshot_limit:
                self.fraud_snapshots.popitem(last=False)
        day = watches[tx.customer_id].cash.current
        if day is not None:
            self.profiles.on_transactions(tx.customer_id, count=day.count, cash=day.sum)
        return alerts

    def learn_outcome(self, outcome: TransactionOutcome) -> None:
        """A confirmed outcome joins its transaction's snapshot (once) and the fraud models learn it."""
        data = self.fraud_snapshots.pop(outcome.transaction_id, None)
        if data is None:
            seen = outcome.transaction_id in self._fraud_learned
            self.fraud_labels["repeated" if seen else "unmatched"] += 1
            return
        self._fraud_learned.add(outcome.transaction_id)
        doc = orjson.loads(data)
        x = {str(k): float(v) for k, v in doc["x"].items()}
        self.fraud_models.learn_label(x, outcome.fraud, given=doc["s"])
        self.fraud_models.promote_if_better()
        self.fraud_labels["joined"] += 1
        if self.fraud_labels["joined"] % FRAUD_PUBLISH_EVERY == 1:  # the live learner publishes per batch
            self.fraud.use(self.fraud_models.champion, self.fraud_models.challenger)

    def exposures(self, customers: Sequence[str]) -> tuple[dict[str, float], float | None]:
        """Outstanding exposure of ``customers`` and of the whole book, for the alert manager's grading.

        No customer, nothing to grade: the live store answers ``({}, None)`` then, and so does this.
        """
        if not customers:
            return {}, None
        trackers = self.portfolio.exposure
        mine = {c: self.portfolio.outstanding(c) for c in customers}
        return mine, sum(t.outstanding for t in trackers.values())

    # -- internals ---------------------------------------------------------------

    def _customer(self, customer_id: str) -> CustomerWatch:
        watch = self.customers.get(customer_id)
        if watch is None:
            watch = self.customers[customer_id] = self._fresh_watch()
        else:
            self.customers.move_to_end(customer_id)
        if self.max_customers is not None and len(self.customers) > self.max_customers:
            self.customers.popitem(last=False)
        return watch

    def _portfolio(self, summaries: list[dict]) -> list[Alert]:
        alerts: list[Alert] = []
        for event in summaries:
            try:
                alerts += observe_summary(self.portfolio, event, config_version=self.config_version)
            except Exception:  # as on the portfolio worker: one bad summary costs nothing else
                log.exception("unusable portfolio event %s", event.get("kind"))
        return alerts
