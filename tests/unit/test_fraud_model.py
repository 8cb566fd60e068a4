"""The supervised fraud score: features snapshotted, learned from delayed labels, judged
prequentially, graded by budgets into txn_fraud alerts (riskmon.fraud)."""

from __future__ import annotations

import random

import pytest

from riskmon.fraud import BudgetGrader, FraudChampionChallenger, FraudModel, fraud_alert, fraud_features
from riskmon.schemas import Level, Transaction


def _example(rng: random.Random) -> tuple[dict[str, float], bool]:
    fraud = rng.random() < 0.05
    x = {
        "new_country": 1.0 if rng.random() < (0.7 if fraud else 0.05) else 0.0,
        "amount_vs_typical": min(max(rng.gauss(0.8 if fraud else 0.5, 0.1), 0.0), 1.0),
        "hour_sin": rng.random(),
    }
    return x, fraud


@pytest.mark.parametrize("kind", ["logreg", "tree"])
def test_a_model_learns_to_rank_fraud_above_genuine(kind: str) -> None:
    rng = random.Random(1)
    model = FraudModel(kind)
    for _ in range(20_000):
        x, y = _example(rng)
        model.learn_one(x, y)
    scored = [(model.predict_proba_one(x), y) for x, y in (_example(rng) for _ in range(2_000))]
    frauds = [s for s, y in scored if y]
    genuine = [s for s, y in scored if not y]
    assert sum(frauds) / len(frauds) > 2 * sum(genuine) / len(genuine)


def test_logreg_reasons_name_the_factors_that_pushed_the_score_up() -> None:
    rng = random.Random(2)
    model = FraudModel("logreg", learning_rate=0.05)
    for _ in range(4_000):
        model.learn_one(*_example(rng))
    factors = model.factors({"new_country": 1.0, "amount_vs_typical": 0.9, "hour_sin": 0.5})
    assert factors[0] == "new_country"
    assert "hour_sin" not in factors[:1]


def test_champion_and_challenger_are_judged_on_the_scores_they_gave_before_learning() -> None:
    rng = random.Random(3)
    cc = FraudChampionChallenger(champion="logreg", challenger="tree", min_labels=500, min_frauds=10, check_every=250)
    reasons = []
    for _ in range(20_000):
        x, y = _example(rng)
        scores = cc.score(x)
        cc.learn(x, y, scores=scores)
        why = cc.promote_if_better()
        if why:
            reasons.append(why)
    ok, why = cc.promotion()
    assert cc.champion.n_learned == cc.challenger.n_learned == 20_000
    assert cc.evaluators["champion"].n == 20_000 or cc.promotions > 0  # promotion restarts the judging
    assert cc.evaluators["champion"].roc_auc is not None and cc.evaluators["champion"].roc_auc > 0.75
    assert all("beats champion" in r for r in reasons) and len(reasons) == cc.promotions
    assert isinstance(ok, bool) and why


def test_too_few_labels_never_promote() -> None:
    cc = FraudChampionChallenger(min_labels=100, min_frauds=5, check_every=1)
    cc.learn({"a": 1.0}, True, scores={"champion": 0.1, "challenger": 0.9})
    assert cc.promotion()[0] is False and "too few labels" in cc.promotion()[1]
    assert cc.promote_if_better() is None


def test_budgets_bound_each_levels_share_and_follow_a_model_that_learns() -> None:
    grader = BudgetGrader({"info": 0.02, "warning": 0.005, "critical": 0.001}, warmup=1_000, window=5_000)
    rng = random.Random(4)
    for _ in range(3_000):  # an untrained model: every score the same
        assert grader.grade(0.5) is None
    levels = [grader.grade(rng.random() * 0.1) for _ in range(20_000)]  # then it learns: scores spread out
    tail = levels[-10_000:]
    share = {lv: sum(1 for x in tail if x is not None and x >= lv) / len(tail) for lv in Level}
    assert 0.01 <= share[Level.INFO] <= 0.03
    assert 0.002 <= share[Level.WARNING] <= 0.008
    assert share[Level.CRITICAL] <= 0.002


def test_budgets_must_shrink_with_severity() -> None:
    with pytest.raises(ValueError, match="budgets.warning"):
        BudgetGrader({"info": 0.01, "warning": 0.02})


def test_the_txn_fraud_alert_names_the_transaction_and_factors_never_values() -> None:
    tx = Transaction.from_dict(
        {
            "transaction_id": "t-9",
            "customer_id": "c-9",
            "occurred_at": "2026-01-01T00:00:00Z",
            "amount": 1234.56,
            "type": "purchase",
            "country": "RO",
        }
    )
    x = fraud_features(tx, {"new_country": 1.0})
    assert x["country=RO"] == 1.0 and x["amount_cents"] == 0.56
    alert = fraud_alert(
        tx,
        at=1.0,
        level=Level.WARNING,
        score=0.73,
        threshold=0.41,
        factors=["new_country", "amount_vs_typical"],
        model="logreg",
        config_version="v",
    )
    assert alert.detector == "txn_fraud" and alert.level == "warning" and alert.status == "firing"
    assert alert.labels["transaction_id"] == "t-9" and alert.labels["factors"] == "new_country,amount_vs_typical"
    assert "1234" not in alert.summary and "new_country" in alert.summary
