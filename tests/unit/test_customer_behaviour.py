"""Per-customer behaviour features: what the anomaly watch and the fraud model see of a
transaction against its own customer's history (riskmon.detectors.behaviour)."""

from __future__ import annotations

import random

import pytest

from riskmon.config import load_config
from riskmon.detectors import TransactionAnomalyDetector
from riskmon.detectors.base import DetectorConfigError
from riskmon.detectors.behaviour import RECENT_LIMIT, SEEN_LIMIT, CustomerBehaviour, standout_factors
from riskmon.schemas import Transaction
from riskmon.transactions.core import watch_transactions
from riskmon.transactions.watch import CustomerStates, TransactionAnomalyWatch

DAY = 86400.0


def _regular(b: CustomerBehaviour, n: int = 30, amount: float = 25.0) -> float:
    at = 0.0
    for i in range(n):
        at = i * DAY
        b.observe(at=at, amount=amount, merchant_category="5411", country="GB", channel="pos")
    return at


def test_an_amount_is_judged_against_this_customers_typical_amount() -> None:
    small, large = CustomerBehaviour(), CustomerBehaviour()
    at = _regular(small, amount=20.0)
    _regular(large, amount=2_000.0)
    x_small = small.features(at=at + DAY, amount=1_500.0, merchant_category="5411", country="GB", channel="pos")
    x_large = large.features(at=at + DAY, amount=1_500.0, merchant_category="5411", country="GB", channel="pos")
    assert x_small["amount_vs_typical"] > 0.9  # far above what this customer spends
    assert x_large["amount_vs_typical"] < 0.5  # a little below what that one spends


def test_time_since_previous_and_the_last_hour_and_day() -> None:
    b = CustomerBehaviour()
    at = _regular(b, n=3)
    for k in range(4):  # a burst: four transactions a minute apart
        b.observe(at=at + 60 * (k + 1), amount=25.0, merchant_category="5411", country="GB", channel="pos")
    x = b.features(at=at + 300, amount=25.0, merchant_category="5411", country="GB", channel="pos")
    quiet = CustomerBehaviour()
    q_at = _regular(quiet, n=3)
    y = quiet.features(at=q_at + 2 * DAY, amount=25.0, merchant_category="5411", country="GB", channel="pos")
    assert x["since_previous"] < 0.35 < y["since_previous"]
    assert x["count_1h"] > y["count_1h"] == 0.0
    assert x["count_24h"] > y["count_24h"]
    assert x["sum_1h_vs_typical"] > y["sum_1h_vs_typical"]


def test_first_use_of_a_category_country_or_channel_and_the_first_transaction() -> None:
    b = CustomerBehaviour()
    first = b.features(at=0.0, amount=10.0, merchant_category="5411", country="GB", channel="pos")
    assert first["first_txn"] == 1.0 and first["new_country"] == 0.0  # a first transaction is not "new" twice
    at = _regular(b, n=5)
    same = b.features(at=at + 60, amount=25.0, merchant_category="5411", country="GB", channel="pos")
    new = b.features(at=at + 60, amount=25.0, merchant_category="7995", country="RO", channel="web")
    absent = b.features(at=at + 60, amount=25.0, merchant_category=None, country=None, channel=None)
    assert (same["new_category"], same["new_country"], same["new_channel"], same["first_txn"]) == (0, 0, 0, 0)
    assert (new["new_category"], new["new_country"], new["new_channel"]) == (1.0, 1.0, 1.0)
    assert (absent["new_category"], absent["new_country"], absent["new_channel"]) == (0, 0, 0)
    assert standout_factors(new)[-3:] == [
        "first use from this country",
        "first use of this merchant category",
        "first use of this channel",
    ]


def test_the_state_stays_bounded_however_busy_the_customer() -> None:
    b = CustomerBehaviour()
    for i in range(1_000):
        b.observe(at=i * 10.0, amount=5.0, merchant_category=f"m{i}", country=f"c{i}", channel=f"ch{i}")
    assert len(b.recent) == RECENT_LIMIT
    assert len(b.categories) == len(b.countries) == len(b.channels) == SEEN_LIMIT
    assert b.categories[-1] == "m999"  # the most recent are kept


def test_features_are_all_in_the_unit_interval() -> None:
    rng = random.Random(3)
    b = CustomerBehaviour()
    for i in range(300):
        at = i * rng.uniform(1, 20_000)
        amount = rng.lognormvariate(3, 2)
        x = b.features(at=at, amount=amount, merchant_category=rng.choice("abc"), country="GB", channel=None)
        assert all(0.0 <= v <= 1.0 for v in x.values()), x
        b.observe(at=at, amount=amount, merchant_category="a", country="GB", channel=None)


def _tx(i: int, at: str, amount: float, country: str = "GB") -> Transaction:
    return Transaction.from_dict(
        {
            "transaction_id": f"t{i}",
            "customer_id": "c-1",
            "occurred_at": at,
            "amount": amount,
            "type": "purchase",
            "country": country,
            "channel": "pos",
            "merchant_category": "5411",
        }
    )


def test_the_transaction_step_scores_each_transaction_with_the_behaviour_before_it() -> None:
    config = load_config(None)
    watches = {"c-1": CustomerStates(config.detectors).fresh()}
    anomaly = TransactionAnomalyWatch(config.detectors)
    scored: dict[str, dict[str, float]] = {}
    txs = [_tx(1, "2026-01-01T10:00:00Z", 20.0), _tx(2, "2026-01-01T10:02:00Z", 900.0, country="RO")]
    watch_transactions(watches, anomaly, txs, config_version="v", scored=scored)
    assert scored["t1"]["first_txn"] == 1.0
    assert scored["t2"]["first_txn"] == 0.0 and scored["t2"]["new_country"] == 1.0
    assert scored["t2"]["since_previous"] < 0.35
    assert watches["c-1"].behaviour.n == 2


def test_budgets_set_each_levels_share_of_transactions() -> None:
    """Per-level budgets: about 2% info+, 0.5% warning+, 0.1% critical on a stream, however scores are scaled."""
    det = TransactionAnomalyDetector(
        {"info": {"budget": 0.02}, "warning": {"budget": 0.005}, "critical": {"budget": 0.001}}, warmup=1_000
    )
    rng = random.Random(7)
    counts = {"info": 0, "warning": 0, "critical": 0}
    n = 30_000
    for i in range(n):
        r = det.update({"a": rng.random(), "b": rng.random() ** 3, "c": rng.betavariate(2, 5)})
        if i >= 5_000 and r.level is not None:
            counts[str(r.level)] += 1
    graded = n - 5_000
    assert 0.01 <= (counts["info"] + counts["warning"] + counts["critical"]) / graded <= 0.03
    assert 0.002 <= (counts["warning"] + counts["critical"]) / graded <= 0.008
    assert counts["critical"] / graded <= 0.002


@pytest.mark.parametrize(
    "levels, field",
    [
        ({"info": {"budget": 0.02, "quantile": 0.98}}, "levels.info.budget"),
        ({"info": {"budget": 1.0}}, "levels.info.budget"),
        ({"info": {"budget": 0.01}, "warning": {"budget": 0.02}}, "levels.warning.quantile"),
    ],
)
def test_bad_budgets_name_the_field(levels: dict, field: str) -> None:
    with pytest.raises(DetectorConfigError) as info:
        TransactionAnomalyDetector(levels)
    assert info.value.field == field
