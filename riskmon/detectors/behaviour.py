"""One customer's behaviour, kept as small state, and the features of a transaction against it.

Why: a transaction seen alone (amount, type, hour, channel) against one
global model cannot show that an amount is unusual *for this customer*, or
that a card is used from a new country minutes after its last use. The
customer watch therefore keeps, beside its velocity and cash windows, a
:class:`CustomerBehaviour`: a running typical amount, the time of the
previous transaction, the last day's transactions (bounded), and the
merchant categories, countries and channels seen (bounded). It travels in
the same saved state as the watch, so computing these features costs no
extra Redis round trip.

:meth:`CustomerBehaviour.features` reads the state *before* the transaction
is added (what the customer looked like when it arrived); :meth:`~CustomerBehaviour.observe`
then adds it. Every feature is in ``[0, 1]`` (Half-Space Trees need that;
the scaling is fixed, never learned, for the reason given in
:mod:`riskmon.detectors.anomaly`).

>>> b = CustomerBehaviour()
>>> b.features(at=0.0, amount=20.0, merchant_category="5411", country="GB", channel="pos")["first_txn"]
1.0
>>> for i in range(20):
...     b.observe(at=i * 86400.0, amount=20.0, merchant_category="5411", country="GB", channel="pos")
>>> x = b.features(at=20 * 86400.0 + 60, amount=900.0, merchant_category="7995", country="RO", channel="web")
>>> x["amount_vs_typical"] > 0.9, x["new_country"], x["new_category"], x["first_txn"]
(True, 1.0, 1.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CustomerBehaviour", "BEHAVIOUR_FEATURES", "RECENT_LIMIT", "SEEN_LIMIT", "standout_factors"]

#: Transactions of the last day kept per customer (the oldest go first beyond it).
RECENT_LIMIT = 64
#: Distinct merchant categories, countries and channels remembered per customer (least recent go first).
SEEN_LIMIT = 16
#: Weight of the newest amount in the running typical amount once a customer has 20 transactions.
TYPICAL_WEIGHT = 0.05
HOUR = 3600.0
DAY = 86400.0
_LOG_MONTH = math.log1p(30 * DAY)

#: The features :meth:`CustomerBehaviour.features` returns, in order.
BEHAVIOUR_FEATURES = (
    "amount_vs_typical",
    "since_previous",
    "count_1h",
    "count_24h",
    "sum_1h_vs_typical",
    "sum_24h_vs_typical",
    "new_category",
    "new_country",
    "new_channel",
    "first_txn",
)


def _squash(value: float, scale: float) -> float:
    """``value >= 0`` mapped onto ``[0, 1)``: ``scale`` maps to 0.76."""
    return math.tanh(max(value, 0.0) / scale)


def _remember(seen: list[str], value: str | None) -> None:
    if value is None:
        return
    if value in seen:
        seen.remove(value)
    seen.append(value)
    del seen[:-SEEN_LIMIT]


@dataclass
class CustomerBehaviour:
    """The running behaviour of one customer (see the module docstring)."""

    n: int = 0
    last_at: float | None = None
    mean_log: float = 0.0  # running mean of log(1 + amount)
    var_log: float = 0.0  # running variance of log(1 + amount)
    recent: list[list[float]] = field(default_factory=list)  # [at, amount] of the last day, oldest first
    categories: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)

    def features(
        self,
        *,
        at: float,
        amount: float,
        merchant_category: str | None,
        country: str | None,
        channel: str | None,
    ) -> dict[str, float]:
        """The transaction's features against this behaviour (state unchanged), each in ``[0, 1]``.

        ``amount_vs_typical``: how many spreads the log amount lies above the
        customer's typical one (0.5 = typical; below typical goes under 0.5);
        ``since_previous``: log seconds since the previous transaction over a
        month's (1 for a first transaction); ``count_*``: transactions in the
        last hour and day before this one; ``sum_*_vs_typical``: those
        transactions' amount with this one, in typical amounts; ``new_*``: a
        category, country or channel this customer has not used before (0 on
        a first transaction or when the field is absent).
        """
        log_amount = math.log1p(max(amount, 0.0))
        first = self.n == 0
        if first:
            z = 0.0
            typical = max(amount, 1.0)
        else:
            spread = max(math.sqrt(self.var_log), 0.25)
            z = (log_amount - self.mean_log) / spread
            typical = max(math.expm1(self.mean_log), 1.0)
        hour_n = day_n = 0
        hour_sum = day_sum = 0.0
        for t, value in self.recent:
            if at - DAY < t <= at:
                day_n += 1
                day_sum += value
                if t > at - HOUR:
                    hour_n += 1
                    hour_sum += value
        since = 1.0 if self.last_at is None else min(math.log1p(max(at - self.last_at, 0.0)) / _LOG_MONTH, 1.0)
        return {
            "amount_vs_typical": round(0.5 + 0.5 * math.tanh(z / 3.0), 4),
            "since_previous": round(since, 4),
            "count_1h": round(_squash(hour_n, 5.0), 4),
            "count_24h": round(_squash(day_n, 20.0), 4),
            "sum_1h_vs_typical": round(_squash((hour_sum + amount) / typical, 10.0), 4),
            "sum_24h_vs_typical": round(_squash((day_sum + amount) / typical, 30.0), 4),
            "new_category": _new(first, self.categories, merchant_category),
            "new_country": _new(first, self.countries, country),
            "new_channel": _new(first, self.channels, channel),
            "first_txn": 1.0 if first else 0.0,
        }

    def observe(
        self,
        *,
        at: float,
        amount: float,
        merchant_category: str | None,
        country: str | None,
        channel: str | None,
    ) -> None:
        """Add the transaction to the behaviour (after its features were taken)."""
        log_amount = math.log1p(max(amount, 0.0))
        self.n += 1
        weight = max(1.0 / self.n, TYPICAL_WEIGHT)
        delta = log_amount - self.mean_log
        self.mean_log += weight * delta
        self.var_log = (1.0 - weight) * (self.var_log + weight * delta * delta)
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        self.recent = [r for r in self.recent if r[0] > self.last_at - DAY]
        self.recent.append([at, round(amount, 2)])
        self.recent.sort(key=lambda r: r[0])
        del self.recent[:-RECENT_LIMIT]
        _remember(self.categories, merchant_category)
        _remember(self.countries, country)
        _remember(self.channels, channel)

    def state(self) -> list[Any]:
        """The state as JSON-ready data (see :meth:`with_state`)."""
        return [
            self.n,
            self.last_at,
            round(self.mean_log, 6),
            round(self.var_log, 6),
            self.recent,
            self.categories,
            self.countries,
            self.channels,
        ]

    @classmethod
    def with_state(cls, state: Sequence[Any]) -> CustomerBehaviour:
        """The behaviour :meth:`state` returned; ``ValueError`` or ``TypeError`` if malformed."""
        n, last_at, mean_log, var_log, recent, categories, countries, channels = state
        return cls(
            n=int(n),
            last_at=None if last_at is None else float(last_at),
            mean_log=float(mean_log),
            var_log=float(var_log),
            recent=[[float(t), float(a)] for t, a in recent],
            categories=[str(c) for c in categories],
            countries=[str(c) for c in countries],
            channels=[str(c) for c in channels],
        )


def _new(first: bool, seen: list[str], value: str | None) -> float:
    return 0.0 if first or value is None or value in seen else 1.0


#: Behavioural factors worth naming in an alert: feature -> (test, words). Fixed cut-offs on the
#: features' fixed scales (``amount_vs_typical`` 0.8: about 3 spreads above typical;
#: ``since_previous`` 0.35: within about 3 minutes of the previous transaction).
_STANDOUT = (
    ("amount_vs_typical", lambda v: v >= 0.8, "amount far above the customer's typical"),
    ("since_previous", lambda v: v <= 0.35, "minutes after the previous transaction"),
    ("count_1h", lambda v: v >= 0.6, "many transactions in the last hour"),
    ("sum_24h_vs_typical", lambda v: v >= 0.75, "last day's spend many times the typical amount"),
    ("new_country", lambda v: v >= 1.0, "first use from this country"),
    ("new_category", lambda v: v >= 1.0, "first use of this merchant category"),
    ("new_channel", lambda v: v >= 1.0, "first use of this channel"),
)


def standout_factors(x: dict[str, float]) -> list[str]:
    """The behavioural factors of ``x`` (from :meth:`CustomerBehaviour.features`) that stand out, in words.

    Words name the factor, never the customer's values (no personal data).

    >>> standout_factors({"amount_vs_typical": 0.95, "new_country": 1.0, "since_previous": 0.9})
    ["amount far above the customer's typical", 'first use from this country']
    """
    return [words for name, test, words in _STANDOUT if name in x and test(x[name])]
