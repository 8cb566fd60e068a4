"""The anomaly watch's default model: the rarity of a transaction's attribute values
(riskmon.detectors.rarity), graded by the same per-level budgets."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from riskmon.config import load_config
from riskmon.detectors import TransactionAnomalyDetector
from riskmon.detectors.base import DetectorConfigError
from riskmon.detectors.rarity import RarityModel, rarity_attributes
from riskmon.schemas import Transaction
from riskmon.transactions.core import watch_transactions
from riskmon.transactions.watch import CustomerStates, TransactionAnomalyWatch


def _usual(m: RarityModel, n: int = 2_000) -> None:
    rng = random.Random(3)
    for _ in range(n):
        m.learn_one({"hour": str(rng.randint(8, 20)), "country": "GB", "amount_vs_typical": rng.choice((4, 5, 5, 6))})


def test_usual_values_add_nothing_and_rare_ones_add_more_the_rarer_they_are() -> None:
    m = RarityModel()
    _usual(m)
    m.learn_one({"country": "FR"})
    usual = m.score_one({"country": "GB", "amount_vs_typical": 5})
    seen_once = m.score_one({"country": "FR", "amount_vs_typical": 5})
    never = m.score_one({"country": "RO", "amount_vs_typical": 5})
    assert usual == 0.0 < seen_once < never
    assert m.score_one({"hour": "3", "country": "RO"}) > never  # two rare values weigh more than one


def test_a_directed_attribute_counts_only_on_its_suspicious_side() -> None:
    m = RarityModel()
    _usual(m)
    # an amount far *below* the customer's typical is rare, but not suspicious; far above is
    assert m.score_one({"amount_vs_typical": 0}) == 0.0
    assert m.score_one({"amount_vs_typical": 10}) > math.log(100)


def test_memory_stays_bounded() -> None:
    m = RarityModel(max_values=50, halve_at=1_000)
    for i in range(10_000):
        m.learn_one({"category": f"mcc{i}", "hour": str(i % 24)})
    assert len(m._counts["category"]) == 50  # new values beyond the bound are not counted
    assert m._total["hour"] < 1_000  # halved as it grows: follows the stream
    assert m.score_one({"category": "mcc9999"}) > m.score_one({"category": "mcc1"})


@pytest.mark.parametrize("kwargs", [{"max_values": 1}, {"halve_at": 1}])
def test_bad_bounds_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RarityModel(**kwargs)


def test_an_unknown_method_names_the_field() -> None:
    with pytest.raises(DetectorConfigError) as info:
        TransactionAnomalyDetector(method="forest")
    assert info.value.field == "method"


def _tx(i: int, at: datetime, amount: float, **fields: str) -> Transaction:
    event = {
        "transaction_id": f"t{i}",
        "customer_id": f"c{i % 40}",
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "amount": amount,
        "type": "purchase",
        "channel": "pos",
        "merchant_category": "5411",
        "country": "GB",
    }
    return Transaction.from_dict({**event, **fields})


def test_the_default_watch_flags_a_stolen_card_and_says_why_without_values() -> None:
    """40 card holders shopping by day at home; then one card used abroad, online, at a new
    kind of merchant, at night, minutes after its last use, at 30 times its typical amount."""
    config = load_config(None)
    assert config.detectors.anomaly().method == "rarity"
    states = CustomerStates(config.detectors)
    watches = {f"c{k}": states.fresh() for k in range(40)}
    anomaly = TransactionAnomalyWatch(config.detectors)
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    txs = [
        _tx(i, start + timedelta(days=i // 400, hours=8 + rng.random() * 10), 30.0)  # ten days, by day
        for i in range(4_000)
    ]
    txs.sort(key=lambda t: t.occurred_at)
    last = txs[-1].occurred_at
    alerts, _ = watch_transactions(watches, anomaly, txs, config_version="v")
    normal_rate = len([a for a in alerts if a.detector == "txn_anomaly" and a.level != "info"]) / len(txs)
    assert normal_rate <= 0.01  # about its budget (0.5% warning and above)
    night = last.replace(hour=3) + timedelta(days=1)
    stolen = [
        _tx(k, night + timedelta(minutes=2 * k), 900.0, country="RO", channel="web", merchant_category="7995")
        for k in (40_000, 40_001)
    ]
    alerts, _ = watch_transactions(watches, anomaly, stolen, config_version="v")
    flagged = [a for a in alerts if a.detector == "txn_anomaly"]
    assert flagged and flagged[0].level in ("warning", "critical")
    assert "first use from this country" in flagged[0].summary
    assert "900" not in flagged[0].summary and "RO" not in flagged[0].summary


def test_attributes_bin_the_behaviour_and_keep_the_transactions_own_codes() -> None:
    tx = _tx(1, datetime(2026, 1, 1, 3, tzinfo=UTC), 10.0, country="RO")
    a = rarity_attributes(tx, {"amount_vs_typical": 0.93, "since_previous": 0.2, "new_channel": 1.0}, hour=3)
    assert a == {
        "hour": "3",
        "category": "5411",
        "country": "RO",
        "channel": "pos",
        "type": "purchase",
        "amount_vs_typical": 9,
        "since_previous": 2,
        "new_channel": "1",
    }
