"""The portfolio watch: approval, overdue and default rates, score drift and per-customer exposure.

Pure: decision and repayment summaries in, alert candidates out. One instance
lives on the single worker that owns the portfolio topic.
"""

from __future__ import annotations

from riskmon.detectors import ThresholdDetector, alerts_on, build_alert
from riskmon.detectors.config import DetectorsConfig
from riskmon.detectors.recent import RecentIds
from riskmon.portfolio.exposure import ExposureTracker
from riskmon.schemas import Alert

__all__ = ["EXPOSURE_DEDUP_CAPACITY", "PortfolioWatch"]

#: How many recent repayment event ids, and closed loans, the exposure book remembers to
#: ignore a re-delivered event: a rebalance or a retried batch re-delivers what came since
#: the last commit (seconds: about 600 repayments at 1,000 events/s), and 10,000 is some
#: 50 s of repayments at that rate, at a fixed cost (about 2 MB each) whatever the size of
#: the book. 50,000 each cost 20 MB more in the 1M-event run (docs/performance.md).
EXPOSURE_DEDUP_CAPACITY = 10_000


class PortfolioWatch:
    """Portfolio early warning, score drift and customer exposure, from one ordered stream.

    Fed from the single-partition ``risk.portfolio.events`` topic, so one
    worker sees every decision and repayment and its rates are the whole
    portfolio's, not a partition's.
    """

    def __init__(self, config: DetectorsConfig) -> None:
        self.config = config
        self.indicators = config.portfolio()
        self.levels = config.portfolio_thresholds()
        self.psi = config.psi()
        self.psi_levels = config.psi_thresholds()
        #: customers with open loans (or a firing exposure level): a customer whose loans
        #: have all closed is dropped, so the book's memory follows open loans, not every
        #: customer ever approved
        self.exposure: dict[str, ExposureTracker] = {}
        self.exposure_levels: dict[str, ThresholdDetector] = {}
        # one dedup memory for the whole book (re-delivered repayments, loans already closed)
        self._seen_repayments = RecentIds(EXPOSURE_DEDUP_CAPACITY)
        self._closed_loans = RecentIds(EXPOSURE_DEDUP_CAPACITY)
        #: the book's outstanding total, kept as approvals and repayments change it (summing
        #: every customer's tracker per batch cost time in proportion to the customers)
        self.total_outstanding = 0.0
        # every customer's exposure levels share one set of thresholds (built and validated once)
        self._exposure_template = config.customer_thresholds("exposure")
        self._exposure_fresh = self._exposure_template.state()
        self.model_critical: str | None = None
        self.scoring_model: str | None = None  # the model family whose scores PSI compares

    def _indicator_alerts(self, at: float, config_version: str) -> list[Alert]:
        alerts: list[Alert] = []
        for name, indicator in self.indicators.values().items():
            detector = self.levels.get(name)
            if detector is None or indicator.value is None:
                continue
            alerts += alerts_on(
                detector.update(indicator.value, at),
                detector=f"portfolio_{name}",
                subject={"kind": "portfolio", "id": "all"},
                config_version=config_version,
                window=indicator.window,
            )
        return alerts

    def _exposure(self, customer_id: str) -> tuple[ExposureTracker, ThresholdDetector]:
        if customer_id not in self.exposure:
            self.exposure[customer_id] = ExposureTracker(seen=self._seen_repayments, closed=self._closed_loans)
            self.exposure_levels[customer_id] = self._exposure_template.with_state(self._exposure_fresh)
        return self.exposure[customer_id], self.exposure_levels[customer_id]

    def on_decision(self, event: dict, at: float, *, config_version: str) -> list[Alert]:
        self.indicators.observe(
            outcome=event["outcome"], at=at, latency_ms=event["latency_ms"], decision_id=event["decision_id"]
        )
        alerts = self._indicator_alerts(at, config_version)
        alerts += self._follow_scoring_model(event.get("model"), at, config_version)
        psi = self.psi.update(float(event["score"]))
        if psi.psi is not None:
            transition = self.psi_levels.update(psi.psi, at)
            alerts += alerts_on(
                transition,
                detector="score_psi",
                subject={"kind": "model", "id": "champion"},
                config_version=config_version,
                window=f"{self.psi.window_size} decisions",
            )
            level = self.psi_levels.level
            self.model_critical = (
                f"score PSI {psi.psi:.3f} is critical" if level is not None and str(level) == "critical" else None
            )
        if event["outcome"] == "approve" and event.get("approved_amount"):
            tracker, levels = self._exposure(event["customer_id"])
            before = tracker.outstanding
            tracker.approve(event["application_id"], float(event["approved_amount"]))
            self.total_outstanding += tracker.outstanding - before
            alerts += alerts_on(
                levels.update(tracker.outstanding, at),
                detector="exposure",
                subject={"kind": "customer", "id": event["customer_id"]},
                config_version=config_version,
            )
            self._leave_if_closed(event["customer_id"])  # a re-delivered approval of a loan already closed
        return alerts

    def _follow_scoring_model(self, model: str | None, at: float, config_version: str) -> list[Alert]:
        """A new deciding model (the champion taking over from the scorecard, a
        promotion) has a score distribution of its own: PSI starts a new
        reference instead of reporting the switch as drift."""
        if model is None or model == self.scoring_model:
            return []
        previous, self.scoring_model = self.scoring_model, model
        active = self.psi_levels.level
        self.psi, self.psi_levels, self.model_critical = self.config.psi(), self.config.psi_thresholds(), None
        if previous is None or active is None:
            return []
        return [
            build_alert(
                detector="score_psi",
                subject={"kind": "model", "id": "champion"},
                level=active,
                status="resolved",
                summary=f"score PSI reference restarted: {model} now decides instead of {previous}",
                started_at=at,
                updated_at=at,
                config_version=config_version,
            )
        ]

    def on_repayment(self, event: dict, at: float, *, config_version: str) -> list[Alert]:
        self.indicators.observe_loan(
            loan_id=event["application_id"], at=at, days_past_due=event["days_past_due"], status=event["status"]
        )
        alerts = self._indicator_alerts(at, config_version)
        if event["customer_id"] in self.exposure:
            tracker, levels = self._exposure(event["customer_id"])
            before = tracker.outstanding
            tracker.repay(
                event["application_id"],
                event.get("amount_paid"),
                paid_off=event["status"] == "paid_off",
                charged_off=event["status"] == "charged_off",
                event_id=event.get("event_id"),
            )
            self.total_outstanding += tracker.outstanding - before
            alerts += alerts_on(
                levels.update(tracker.outstanding, at),
                detector="exposure",
                subject={"kind": "customer", "id": event["customer_id"]},
                config_version=config_version,
            )
            self._leave_if_closed(event["customer_id"])
        return alerts

    def _leave_if_closed(self, customer_id: str) -> None:
        """Drop a customer with no open loan and no exposure level pending or firing."""
        levels = self.exposure_levels[customer_id]
        if self.exposure[customer_id].open_loans == 0 and levels.level is None and not levels.pending:
            del self.exposure[customer_id], self.exposure_levels[customer_id]

    def outstanding(self, customer_id: str) -> float:
        """A customer's exposure: 0 for one with no open loan (not kept in memory)."""
        tracker = self.exposure.get(customer_id)
        return 0.0 if tracker is None else tracker.outstanding
