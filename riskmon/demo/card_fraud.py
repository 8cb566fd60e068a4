"""A seeded, labelled card stream: everyday card use, fraud episodes, and their confirmed outcomes days later.

Why synthetic: the public labelled card data (IEEE-CIS, measured by
``bench/fraud_quality.py``) is 87 MB and carries the competition's terms; the
demo and the backtest's sample need something small, deterministic and free
to ship. Each card holder has habits: a home country, two or three usual
merchant categories, a typical amount, a few purchases a day in daytime. A
fraud episode (``fraud_rate`` of the card holders, once each) is a stolen
card: 2 to 5 purchases within minutes, from a country and at a merchant
category the holder never used, at 5 to 20 times the typical amount, online.

Every transaction's outcome follows ``label_delay_days`` later in event time
on ``credit.transaction_outcomes``: ``chargeback`` or ``fraud`` for an
episode's, ``genuine`` for the others. :func:`card_fraud_stream` returns the
events wrapped as the backtest and ``riskmon replay`` read them, in event-time
order, and which transactions were fraud.

>>> events, frauds = card_fraud_stream(customers=60, days=6, fraud_rate=0.1, end=datetime(2026, 1, 1, tzinfo=UTC))
>>> sorted({e["topic"] for e in events})
['credit.transaction_outcomes', 'credit.transactions']
>>> txns = [e for e in events if e["topic"] == "credit.transactions"]
>>> 0 < len(frauds) < len(txns) // 10
True
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["card_fraud_stream"]

_HOME = ("US", "US", "US", "GB", "DE", "FR")
_FOREIGN = ("RO", "NG", "BR", "VN", "UA")
_CATEGORIES = ("5411", "5812", "5999", "4111", "5541", "5311", "5912")
_FRAUD_CATEGORIES = ("5732", "7995", "4829", "5944")


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def card_fraud_stream(
    *,
    customers: int = 300,
    days: int = 20,
    fraud_rate: float = 0.04,
    label_delay_days: float = 3.0,
    end: datetime | None = None,
    seed: int = 23,
) -> tuple[list[dict[str, Any]], set[str]]:
    """The wrapped events (transactions and their outcomes, by event time) and the fraud transaction ids."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    txns: list[tuple[datetime, dict[str, Any], bool]] = []
    for c in range(customers):
        customer = f"card-{seed}-{c:04d}"
        home = rng.choice(_HOME)
        usual = rng.sample(_CATEGORIES, rng.randint(2, 3))
        typical = math.exp(rng.gauss(math.log(45), 0.5))
        per_day = rng.uniform(1.0, 4.0)
        at = start + timedelta(hours=rng.uniform(0, 24))
        while at < end:
            hour = at.hour + at.minute / 60
            if 7 <= hour <= 22:
                txns.append(
                    (
                        at,
                        _txn(customer, at, typical * math.exp(rng.gauss(0, 0.5)), home, rng.choice(usual), "card"),
                        False,
                    )
                )
            at += timedelta(hours=rng.expovariate(per_day / 24))
        if rng.random() < fraud_rate:
            at = start + timedelta(days=rng.uniform(days * 0.2, days))
            country, category = rng.choice(_FOREIGN), rng.choice(_FRAUD_CATEGORIES)
            for _ in range(rng.randint(2, 5)):
                at += timedelta(seconds=rng.uniform(20, 240))
                txns.append((at, _txn(customer, at, typical * rng.uniform(5, 20), country, category, "web"), True))
    txns.sort(key=lambda t: t[0])
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    frauds: set[str] = set()
    for i, (at, tx, fraud) in enumerate(txns):
        tx["transaction_id"] = f"ct-{seed}-{i:06d}"
        events.append((at, len(events), {"topic": "credit.transactions", "key": tx["customer_id"], "value": tx}))
        known = at + timedelta(days=label_delay_days, seconds=rng.uniform(0, 86400))
        if fraud:
            frauds.add(tx["transaction_id"])
        if known <= end:
            outcome = {
                "outcome_id": f"co-{seed}-{i:06d}",
                "transaction_id": tx["transaction_id"],
                "customer_id": tx["customer_id"],
                "occurred_at": _ts(known),
                "outcome": rng.choice(("fraud", "chargeback")) if fraud else "genuine",
            }
            events.append(
                (
                    known,
                    len(events),
                    {"topic": "credit.transaction_outcomes", "key": tx["customer_id"], "value": outcome},
                )
            )
    events.sort(key=lambda e: (e[0], e[1]))
    return [doc for _, _, doc in events], frauds


def _txn(customer: str, at: datetime, amount: float, country: str, category: str, channel: str) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "occurred_at": _ts(at),
        "amount": round(max(amount, 1.0), 2),
        "currency": "USD",
        "type": "purchase",
        "channel": channel,
        "merchant_category": category,
        "country": country,
    }
