"""What the fraud model scores: the anomaly watch's features plus the transaction's categories.

The snapshot of a transaction (kept until its label arrives) is exactly this
dict: the per-transaction features (:func:`riskmon.detectors.transaction_features`),
the customer-behaviour features the customer watch computed when it arrived
(:class:`riskmon.detectors.behaviour.CustomerBehaviour`), and what a
supervised model can weigh but Half-Space Trees cannot: one indicator per
merchant category and country (``category=5411``, ``country=GB``;
``?`` when absent), whether the amount is round, and its cents. Every value is in
``[0, 1]``. Category and country codes are not personal data.

>>> from riskmon.schemas import Transaction
>>> tx = Transaction.from_dict({"transaction_id": "t1", "customer_id": "c1", "occurred_at": "2026-01-01T12:00:00Z",
...     "amount": 12.5, "type": "purchase", "merchant_category": "5411"})
>>> x = fraud_features(tx, {"first_txn": 1.0})
>>> x["category=5411"], x["country=?"], x["amount_round"], x["amount_cents"], x["first_txn"]
(1.0, 1.0, 0.0, 0.5, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping

from riskmon.detectors import transaction_features
from riskmon.schemas import Transaction

__all__ = ["fraud_features", "categorical"]

MAX_CODE = 16  # longer category or country codes are cut (the key stays bounded)


def categorical(tx: Transaction) -> dict[str, float]:
    """The indicators and amount-shape features a supervised model adds to the anomaly watch's."""
    cents = round(tx.amount * 100) % 100
    return {
        f"category={(tx.merchant_category or '?')[:MAX_CODE]}": 1.0,
        f"country={(tx.country or '?')[:MAX_CODE]}": 1.0,
        "amount_round": 1.0 if cents == 0 else 0.0,
        "amount_cents": cents / 100.0,
    }


def fraud_features(tx: Transaction, behaviour: Mapping[str, float]) -> dict[str, float]:
    """The full feature snapshot of ``tx`` (see the module docstring).

    ``behaviour`` may already hold the per-transaction features (the
    transaction step passes the anomaly watch's whole vector): they are not
    computed twice.
    """
    if "amount_log" in behaviour:
        return {**behaviour, **categorical(tx)}
    return transaction_features(tx) | dict(behaviour) | categorical(tx)
