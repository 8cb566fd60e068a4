"""What one customer's transactions are watched for. Pure: events in, alert candidates out.

The transaction handler keeps one :class:`CustomerWatch` per customer
(persisted in Redis between batches, encoded by :class:`CustomerStates`) and
one :class:`TransactionAnomalyWatch` per worker. Every alert carries the
configuration version, so an alert can always be traced to the thresholds
that raised it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from riskmon.detectors import (
    SlidingWindow,
    ThresholdDetector,
    Transition,
    alert_candidate,
    build_alert,
    format_duration,
    transaction_features,
)
from riskmon.detectors.behaviour import CustomerBehaviour, standout_factors
from riskmon.detectors.config import DetectorsConfig
from riskmon.detectors.rarity import rare_factors, rarity_attributes
from riskmon.schemas import Alert, Transaction

__all__ = ["CustomerWatch", "CustomerStates", "TransactionAnomalyWatch"]


def alerts_on(transition: Transition | None, **kwargs: Any) -> list[Alert]:
    return [alert_candidate(transition, **kwargs)] if transition is not None else []


@dataclass
class CustomerWatch:
    """Velocity and cash-out of one customer over sliding event-time windows, and its behaviour.

    ``behaviour`` (:class:`~riskmon.detectors.behaviour.CustomerBehaviour`)
    gives the anomaly watch the transaction's features against this
    customer's own history; see :func:`riskmon.transactions.core.watch_transactions`.
    """

    velocity: SlidingWindow
    velocity_levels: ThresholdDetector
    cash: SlidingWindow
    cash_levels: ThresholdDetector
    late_dropped: int = 0
    behaviour: CustomerBehaviour = field(default_factory=CustomerBehaviour)

    def behaviour_features(self, tx: Transaction, at: float) -> dict[str, float]:
        """``tx``'s features against this customer's behaviour so far, then ``tx`` joins the behaviour."""
        b, category, country, channel = self.behaviour, tx.merchant_category, tx.country, tx.channel
        x = b.features(at=at, amount=tx.amount, merchant_category=category, country=country, channel=channel)
        b.observe(at=at, amount=tx.amount, merchant_category=category, country=country, channel=channel)
        return x

    @classmethod
    def fresh(cls, config: DetectorsConfig) -> CustomerWatch:
        return cls(
            velocity=config.window("txn_velocity"),
            velocity_levels=config.customer_thresholds("txn_velocity"),
            cash=config.window("cash_24h"),
            cash_levels=config.customer_thresholds("cash_24h"),
        )

    @classmethod
    def factory(cls, config: DetectorsConfig) -> Callable[[], CustomerWatch]:
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
        assert update.current is not None  # an accepted event is in the current window
        alerts += alerts_on(
            self.velocity_levels.update(float(update.current.count), at),
            detector="txn_velocity",
            subject=subject,
            config_version=config_version,
            window=format_duration(self.velocity.size),
        )
        cash = tx.amount if tx.type == "cash_withdrawal" else 0.0
        cash_update = self.cash.update(at, cash)
        if cash_update.accepted:
            assert cash_update.current is not None
            alerts += alerts_on(
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


#: Bumped whenever the layout of :meth:`CustomerStates.encode` changes. Format 2 added the
#: customer's behaviour; state in format 1 is still read (its behaviour starts empty).
CUSTOMER_STATE_FORMAT = 2


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
        return _exact(
            orjson.dumps(
                [
                    CUSTOMER_STATE_FORMAT,
                    self._shape,
                    watch.velocity.state(),
                    watch.velocity_levels.state(),
                    watch.cash.state(),
                    watch.cash_levels.state(),
                    watch.late_dropped,
                    watch.behaviour.state(),
                ]
            )
        )

    def decode(self, data: bytes) -> CustomerWatch:
        """The watch ``data`` (from :meth:`encode`) holds; ``ValueError`` if it cannot be used."""
        try:
            version, shape, velocity, velocity_levels, cash, cash_levels, late, *rest = orjson.loads(data)
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise ValueError(f"customer state is not in format {CUSTOMER_STATE_FORMAT}: {exc}") from None
        if version not in (1, CUSTOMER_STATE_FORMAT):  # format 1 had no behaviour: it starts empty
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
                behaviour=CustomerBehaviour.with_state(rest[0]) if version == 2 else CustomerBehaviour(),
            )
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"customer state malformed: {exc}") from None


@dataclass
class TransactionAnomalyWatch:
    """One anomaly model over all of a worker's transactions, graded by per-level budgets.

    The configured ``method`` (``detectors.transactions.anomaly.method``):
    ``rarity`` (the default) scores the rarity of the transaction's attribute
    values (:mod:`riskmon.detectors.rarity`: hour, category, country,
    channel, type, and its behaviour against its customer's history, binned);
    ``hst`` scores its numeric features (amount, type, hour, channel and,
    when given, its features against its customer's behaviour,
    :meth:`CustomerWatch.behaviour_features`) with Half-Space Trees. The
    alert's reasons name the factors that stood out, never their values.
    """

    config: DetectorsConfig
    detector: Any = None

    def __post_init__(self) -> None:
        self.detector = self.config.anomaly()

    def observe(
        self,
        tx: Transaction,
        at: float,
        *,
        config_version: str,
        behaviour: dict[str, float] | None = None,
        features: dict[str, float] | None = None,
    ) -> list[Alert]:
        """``tx``'s alert if its score reaches a level; ``features``: its full vector when the caller has it."""
        rarity = self.detector.method == "rarity"
        x: Mapping[str, Any]
        if rarity:
            x = rarity_attributes(tx, behaviour, hour=int(at // 3600.0 % 24))
        elif features is not None:
            x = features
        else:
            x = transaction_features(tx)
            if behaviour:
                x.update(behaviour)
        result = self.detector.update(x)
        if result.level is None:
            return []
        factors = rare_factors(self.detector.rare(x)) if rarity else standout_factors(behaviour or {})
        reason = result.reason + (f"; stood out: {', '.join(factors)}" if factors else "")
        return [
            build_alert(
                detector="txn_anomaly",
                subject={"kind": "customer", "id": tx.customer_id},
                level=result.level,
                status="firing",
                summary=f"unusual transaction {tx.transaction_id} for customer {tx.customer_id}: {reason}",
                started_at=at,
                updated_at=at,
                config_version=config_version,
                value=round(result.score, 6),
                threshold=result.threshold,
                labels={"transaction_id": tx.transaction_id, "type": tx.type},
            )
        ]
