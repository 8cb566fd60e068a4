"""Compositions of detectors per subject: what one customer, the portfolio, a model
or an input topic is watched for. Pure: events in, alert candidates out.

The stream handlers keep one :class:`CustomerWatch` per customer (persisted in
Redis between batches), one :class:`TransactionAnomalyWatch` and one
:class:`LagWatch` per worker, and one :class:`PortfolioWatch` on the single
worker that owns the portfolio topic. Every alert carries the configuration
version, so an alert can always be traced to the thresholds that raised it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

from riskmon.detector_config import DetectorsConfig
from riskmon.detectors import (
    ExposureTracker,
    RecentIds,
    IngestionLag,
    SlidingWindow,
    ThresholdDetector,
    Transition,
    alert_candidate,
    build_alert,
    format_duration,
    transaction_features,
)
from riskmon.schemas import Alert, Transaction

__all__ = ["CustomerWatch", "CustomerStates", "TransactionAnomalyWatch", "LagWatch", "PortfolioWatch"]

#: How many recent repayment event ids, and closed loans, the exposure book remembers to
#: ignore a re-delivered event: a rebalance or a retried batch re-delivers what came since
#: the last commit (seconds: about 600 repayments at 1,000 events/s), and 10,000 is some
#: 50 s of repayments at that rate, at a fixed cost (about 2 MB each) whatever the size of
#: the book. 50,000 each cost 20 MB more in the 1M-event run (docs/benchmarks.md, seventh pass).
EXPOSURE_DEDUP_CAPACITY = 10_000


def _alerts(transition: Transition | None, **kwargs: Any) -> list[Alert]:
    return [alert_candidate(transition, **kwargs)] if transition is not None else []


@dataclass
class CustomerWatch:
    """Velocity and cash-out of one customer over sliding event-time windows."""

    velocity: SlidingWindow
    velocity_levels: ThresholdDetector
    cash: SlidingWindow
    cash_levels: ThresholdDetector
    late_dropped: int = 0

    @classmethod
    def fresh(cls, config: DetectorsConfig) -> "CustomerWatch":
        return cls(
            velocity=config.window("txn_velocity"),
            velocity_levels=config.customer_thresholds("txn_velocity"),
            cash=config.window("cash_24h"),
            cash_levels=config.customer_thresholds("cash_24h"),
        )

    @classmethod
    def factory(cls, config: DetectorsConfig) -> Callable[[], "CustomerWatch"]:
        """A maker of fresh watches for many new customers (see :class:`CustomerStates`).

        Building one from the configuration validates every threshold again
        (~75 us); most customers in a stream are new ones.
        """
        return CustomerStates(config).fresh

    def observe(self, tx: Transaction, at: float, *, config_version: str) -> list[Alert]:
        subject = {"kind": "customer", "id": tx.customer_id}
        alerts: list[Alert] = []
        update = self.velocity.update(at)
        if not update.accepted:
            self.late_dropped += 1
            return alerts
        alerts += _alerts(
            self.velocity_levels.update(float(update.current.count), at),
            detector="txn_velocity",
            subject=subject,
            config_version=config_version,
            window=format_duration(self.velocity.size),
        )
        cash = tx.amount if tx.type == "cash_withdrawal" else 0.0
        cash_update = self.cash.update(at, cash)
        if cash_update.accepted:
            alerts += _alerts(
                self.cash_levels.update(cash_update.current.sum, at),
                detector="cash_24h",
                subject=subject,
                config_version=config_version,
                window=format_duration(self.cash.size),
            )
        return alerts


def _exact(data: bytes) -> bytes:
    """``data`` in a bytes object allocated at its own size (see :meth:`CustomerStates.encode`)."""
    return bytes(memoryview(data))


#: Bumped whenever the layout of :meth:`CustomerStates.encode` changes.
CUSTOMER_STATE_FORMAT = 1


class CustomerStates:
    """Customer watches to and from compact bytes, under one configuration.

    Why: a worker watches tens of thousands of customers. Kept as objects,
    each watch is about 22 objects (3.6 KiB) that Python's garbage collector
    walks on every full collection: at 50,000 customers those walks took
    265-460 ms each, several times a minute, and were the latency tail. As
    bytes (JSON of the state alone, a few hundred bytes) a cached customer
    costs the collector nothing, and the same bytes go to Redis.

    Only state is encoded, never thresholds: a customer's watch always runs
    under the configuration the worker was started with, so a changed
    threshold applies to every customer at once. The windows' shape (size and
    step) is recorded beside the state; state kept under another shape, in
    another format or unreadable raises ``ValueError`` and the caller starts
    that customer afresh. JSON, not pickle: bytes read back from a shared
    Redis are data, never code.

    >>> from riskmon.config import load_config
    >>> states = CustomerStates(load_config(None).detectors)
    >>> watch = states.fresh()
    >>> _ = watch.velocity.update(1_000.0)
    >>> states.decode(states.encode(watch)).velocity.current.count
    1
    """

    def __init__(self, config: DetectorsConfig) -> None:
        self._template = CustomerWatch.fresh(config)
        t = self._template
        self._shape = [t.velocity.size, t.velocity.step, t.cash.size, t.cash.step]
        self._fresh = self.encode(t)

    def fresh(self) -> CustomerWatch:
        """A new customer's watch: the configuration's thresholds, empty windows."""
        return self.decode(self._fresh)

    def encode(self, watch: CustomerWatch) -> bytes:
        """``watch``'s state as JSON bytes (deterministic: equal states, equal bytes).

        Copied to an object of its own size: orjson returns its 4 KiB working
        buffer as the bytes object (measured with tracemalloc: 4,089 bytes
        held per 215-byte state), which 50,000 cached customers would turn
        into 200 MB.
        """
        return _exact(orjson.dumps([
            CUSTOMER_STATE_FORMAT,
            self._shape,
            watch.velocity.state(),
            watch.velocity_levels.state(),
            watch.cash.state(),
            watch.cash_levels.state(),
            watch.late_dropped,
        ]))

    def decode(self, data: bytes) -> CustomerWatch:
        """The watch ``data`` (from :meth:`encode`) holds; ``ValueError`` if it cannot be used."""
        try:
            version, shape, velocity, velocity_levels, cash, cash_levels, late = orjson.loads(data)
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise ValueError(f"customer state is not in format {CUSTOMER_STATE_FORMAT}: {exc}") from None
        if version != CUSTOMER_STATE_FORMAT:
            raise ValueError(f"customer state in format {version!r}, expected {CUSTOMER_STATE_FORMAT}")
        if shape != self._shape:
            raise ValueError(f"customer state kept under window shape {shape}, now {self._shape}")
        t = self._template
        try:
            return CustomerWatch(
                velocity=t.velocity.with_state(velocity),
                velocity_levels=t.velocity_levels.with_state(velocity_levels),
                cash=t.cash.with_state(cash),
                cash_levels=t.cash_levels.with_state(cash_levels),
                late_dropped=int(late),
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"customer state malformed: {exc}") from None


@dataclass
class TransactionAnomalyWatch:
    """Half-Space Trees over all of a worker's transactions, graded by quantiles."""

    config: DetectorsConfig
    detector: Any = None

    def __post_init__(self) -> None:
        self.detector = self.config.anomaly()

    def observe(self, tx: Transaction, at: float, *, config_version: str) -> list[Alert]:
        result = self.detector.update(transaction_features(tx))
        if result.level is None:
            return []
        return [
            build_alert(
                detector="txn_anomaly",
                subject={"kind": "customer", "id": tx.customer_id},
                level=result.level,
                status="firing",
                summary=f"unusual transaction {tx.transaction_id} for customer {tx.customer_id}: {result.reason}",
                started_at=at,
                updated_at=at,
                config_version=config_version,
                value=round(result.score, 6),
                threshold=result.threshold,
                labels={"transaction_id": tx.transaction_id, "type": tx.type},
            )
        ]


@dataclass
class LagWatch:
    """Ingestion lag of one input topic (event time vs processing time)."""

    topic: str
    levels: ThresholdDetector
    lag: IngestionLag = field(default_factory=IngestionLag)

    def observe(self, event_time: float, now: float, *, config_version: str) -> list[Alert]:
        value = self.lag.update(event_time, now)
        return _alerts(
            self.levels.update(value.lag, now),
            detector="ingestion_lag",
            subject={"kind": "pipeline", "id": self.topic},
            config_version=config_version,
            window=None,
        )


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
            alerts += _alerts(
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
        self.indicators.observe(outcome=event["outcome"], at=at, latency_ms=event["latency_ms"], decision_id=event["decision_id"])
        alerts = self._indicator_alerts(at, config_version)
        alerts += self._follow_scoring_model(event.get("model"), at, config_version)
        psi = self.psi.update(float(event["score"]))
        if psi.psi is not None:
            transition = self.psi_levels.update(psi.psi, at)
            alerts += _alerts(transition, detector="score_psi", subject={"kind": "model", "id": "champion"},
                              config_version=config_version, window=f"{self.psi.window_size} decisions")
            level = self.psi_levels.level
            self.model_critical = f"score PSI {psi.psi:.3f} is critical" if level is not None and str(level) == "critical" else None
        if event["outcome"] == "approve" and event.get("approved_amount"):
            tracker, levels = self._exposure(event["customer_id"])
            before = tracker.outstanding
            tracker.approve(event["application_id"], float(event["approved_amount"]))
            self.total_outstanding += tracker.outstanding - before
            alerts += _alerts(levels.update(tracker.outstanding, at), detector="exposure",
                              subject={"kind": "customer", "id": event["customer_id"]}, config_version=config_version)
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
        self.indicators.observe_loan(loan_id=event["application_id"], at=at, days_past_due=event["days_past_due"],
                                     status=event["status"])
        alerts = self._indicator_alerts(at, config_version)
        if event["customer_id"] in self.exposure:
            tracker, levels = self._exposure(event["customer_id"])
            before = tracker.outstanding
            tracker.repay(event["application_id"], event.get("amount_paid"), paid_off=event["status"] == "paid_off",
                          charged_off=event["status"] == "charged_off", event_id=event.get("event_id"))
            self.total_outstanding += tracker.outstanding - before
            alerts += _alerts(levels.update(tracker.outstanding, at), detector="exposure",
                              subject={"kind": "customer", "id": event["customer_id"]}, config_version=config_version)
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
