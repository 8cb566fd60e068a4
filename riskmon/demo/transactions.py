"""A seeded synthetic transaction stream with labelled incidents.

None of the public credit data sets has account transactions, so the demo
makes its own: the demo's customers buy things at an everyday pace (card
purchases in daytime hours, the odd transfer or refund, amounts log-normal
around 40), and three kinds of labelled incident are injected at the end:

* ``velocity``: one customer makes 25 purchases within two minutes;
* ``cash_out``: one customer withdraws 3 x 1,500 in cash within minutes;
* ``anomaly``: one customer makes a single 9,000 cash withdrawal.

Event times end at ``end`` (normally "now", so the customers' windows are
realistic) and span the six hours before it: a few transactions per customer,
far below the velocity thresholds, so the incidents stand out. The same seed
gives the same stream, so tests are exact.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["LabelledTransaction", "generate_transactions", "INCIDENTS"]

INCIDENTS = ("velocity", "cash_out", "anomaly")


@dataclass(frozen=True)
class LabelledTransaction:
    """A contract ``credit.transactions`` object and the incident it belongs to, if any."""

    transaction: dict
    incident: str | None


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def generate_transactions(
    customers: Sequence[str], *, n: int = 1500, end: datetime | None = None, seed: int = 11
) -> list[LabelledTransaction]:
    """``n`` everyday transactions over the six hours before ``end``, then the incidents.

    >>> end = datetime(2026, 1, 1, tzinfo=UTC)
    >>> stream = generate_transactions([f"c{i}" for i in range(50)], n=10, end=end)
    >>> len(stream), sorted({t.incident for t in stream if t.incident})
    (39, ['anomaly', 'cash_out', 'velocity'])
    """
    if len(customers) < 4:
        raise ValueError("need at least 4 customers: three incidents and everyday traffic")
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    span = 6 * 3600
    start = end - timedelta(seconds=span)
    everyday, incident_customers = list(customers[3:]), list(customers[:3])
    out: list[LabelledTransaction] = []
    for i in range(n):
        at = start + timedelta(seconds=span * i / max(1, n))
        kind = rng.choices(("purchase", "transfer", "refund", "cash_withdrawal"), weights=(85, 8, 4, 3))[0]
        amount = round(min(5000.0, math.exp(rng.gauss(math.log(40), 0.8))), 2)
        out.append(
            LabelledTransaction(
                {
                    "transaction_id": f"tx-{seed}-{i:06d}",
                    "customer_id": rng.choice(everyday),
                    "occurred_at": _ts(at),
                    "amount": amount,
                    "currency": "USD",
                    "type": kind,
                    "channel": rng.choice(("card", "card", "card", "mobile", "web")),
                    "merchant_category": rng.choice(("5411", "5812", "5999", "4111", "5541")),
                    "country": "US",
                },
                None,
            )
        )
    burst, cash, night = incident_customers
    for k in range(25):  # velocity: 25 purchases in two minutes
        out.append(
            LabelledTransaction(
                {
                    "transaction_id": f"tx-{seed}-v{k:02d}",
                    "customer_id": burst,
                    "occurred_at": _ts(end - timedelta(seconds=120 - 4 * k)),
                    "amount": 19.99,
                    "currency": "USD",
                    "type": "purchase",
                    "channel": "web",
                    "merchant_category": "5999",
                },
                "velocity",
            )
        )
    for k in range(3):  # cash-out: 3 x 1,500 in cash
        out.append(
            LabelledTransaction(
                {
                    "transaction_id": f"tx-{seed}-c{k}",
                    "customer_id": cash,
                    "occurred_at": _ts(end - timedelta(seconds=90 - 30 * k)),
                    "amount": 1500.0,
                    "currency": "USD",
                    "type": "cash_withdrawal",
                    "channel": "atm",
                    "merchant_category": "6011",
                },
                "cash_out",
            )
        )
    out.append(
        LabelledTransaction(  # one cash withdrawal some 200 times the usual amount
            {
                "transaction_id": f"tx-{seed}-a0",
                "customer_id": night,
                "occurred_at": _ts(end - timedelta(seconds=10)),
                "amount": 9000.0,
                "currency": "USD",
                "type": "cash_withdrawal",
                "channel": "atm",
                "merchant_category": "6011",
            },
            "anomaly",
        )
    )
    return out
