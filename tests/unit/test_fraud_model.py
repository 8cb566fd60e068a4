"""The supervised fraud score: features snapshotted, learned from delayed labels, judged
prequentially, graded by budgets into txn_fraud alerts (riskmon.fraud)."""

from __future__ import annotations

import random

import orjson
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


def _card(i: int, *, fraud: bool, rng: random.Random | None = None) -> Transaction:
    spread = rng.lognormvariate(0, 0.5) if rng else 1.0
    return Transaction.from_dict(
        {
            "transaction_id": f"t-{i}",
            "customer_id": f"c-{i % 50}",
            "occurred_at": f"2026-01-01T{i % 24:02d}:00:00Z",
            "amount": round((900.0 if fraud else 30.0) * spread, 2),
            "type": "purchase",
            "country": "RO" if fraud else "GB",
        }
    )


def test_the_transaction_paths_fraud_step_keeps_budgets_while_the_model_learns() -> None:
    """Budgets are cut on the model in use: a model whose scores fall as it learns the base rate
    still flags about its budget, and what it flags is the fraud it learned."""
    from riskmon.fraud.scoring import FraudScoring

    rng = random.Random(5)
    models = FraudChampionChallenger()
    scoring = FraudScoring({"info": 0.05, "warning": 0.02}, reference=1_000, min_reference=200)
    flagged: list[bool] = []
    for i in range(8_000):
        fraud = rng.random() < 0.03
        tx = _card(i, fraud=fraud, rng=rng)
        behaviour = {"new_country": 1.0 if fraud or rng.random() < 0.05 else 0.0, "since_previous": rng.random()}
        alerts, snapshot = scoring.observe(tx, 0.0, behaviour, config_version="v")
        assert b'"x"' in snapshot
        if i >= 4_000:
            flagged += [fraud] * len(alerts)
        x = fraud_features(tx, behaviour)
        models.learn(x, fraud, scores=models.score(x))
        if i % 200 == 0:  # published as the learner does: copies
            scoring.use(*(FraudModel.from_dict(m.to_dict()) for m in (models.champion, models.challenger)))
    assert 0.01 * 4_000 <= len(flagged) <= 0.06 * 4_000  # about the info budget, the model's scores falling all along
    assert sum(flagged) / len(flagged) > 0.5  # and mostly fraud (3% of the stream)


def test_no_txn_fraud_alert_before_a_model_and_enough_transactions_to_cut_budgets() -> None:
    from riskmon.fraud.scoring import FraudScoring

    scoring = FraudScoring(min_reference=500)
    assert scoring.observe(_card(1, fraud=True), 0.0, {}, config_version="v")[0] == []
    scoring.use(FraudModel("logreg"), None)  # fewer than 500 transactions seen: no cut-offs yet
    assert scoring.cuts == {} and scoring.observe(_card(2, fraud=True), 0.0, {}, config_version="v")[0] == []


def test_the_learner_scores_both_models_before_learning_each_label() -> None:
    """The transaction path keeps only the champion's score at arrival; the learner judges both models
    on the scores they give the snapshot's features before learning that label (prequential, the same
    evidence for both), and the arrival score on its own (the live feed's AUC)."""
    from riskmon.fraud.scoring import FraudScoring

    cc = FraudChampionChallenger()
    for _ in range(300):
        cc.learn_label({"new_country": 1.0}, True, given=None)
        cc.learn_label({"new_country": 0.0}, False, given=None)
    assert cc.at_arrival.n == 0  # nothing was scored at arrival: no model was published
    before = {role: m.predict_proba_one({"new_country": 1.0}) for role, m in cc.models().items()}
    seen: dict[str, list[float]] = {"champion": [], "challenger": [], "at_arrival": []}
    for role in ("champion", "challenger"):
        cc.evaluators[role].update = lambda score, fraud, role=role: seen[role].append(score)  # type: ignore[method-assign]
    cc.at_arrival.update = lambda score, fraud: seen["at_arrival"].append(score)  # type: ignore[method-assign]
    cc.learn_label({"new_country": 1.0}, True, given=0.25)
    assert seen == {"champion": [before["champion"]], "challenger": [before["challenger"]], "at_arrival": [0.25]}
    assert cc.challenger.predict_proba_one({"new_country": 1.0}) > before["challenger"]  # then it learned
    # a snapshot from before the change kept both scores: the champion's is its arrival score
    cc.learn_label({"new_country": 1.0}, True, given={"champion": 0.1, "challenger": 0.2})
    assert seen["at_arrival"][-1] == 0.1

    scoring = FraudScoring(min_reference=1)
    scoring.use(FraudModel.from_dict(cc.champion.to_dict()), FraudModel.from_dict(cc.challenger.to_dict()))
    _, snapshot = scoring.observe(_card(1, fraud=True), 0.0, {"new_country": 1.0}, config_version="v")
    assert isinstance(orjson.loads(snapshot)["s"], float)  # the champion's score only


def test_model_status_shows_the_fraud_roles_labels_and_prequential_auc() -> None:
    from riskmon.fraud.status import fraud_status

    cc = FraudChampionChallenger()
    rng = random.Random(8)
    for _ in range(400):
        fraud = rng.random() < 0.2
        cc.learn_label({"new_country": 1.0 if fraud else 0.0, "amount_vs_typical": rng.random()}, fraud, given=None)
    doc = {
        "champion": cc.champion.to_dict(),
        "challenger": cc.challenger.to_dict(),
        "status": {
            "labels": 400,
            "frauds": 80,
            "auc": {"champion": cc.evaluators["champion"].roc_auc, "challenger": 0.7, "at_arrival": None},
            "promotions": 0,
        },
    }
    shown = fraud_status(orjson.dumps(doc))
    assert shown["roles"]["champion"] == {"kind": "logreg", "learning_rate": 0.01, "labels": 400}
    assert shown["roles"]["challenger"]["learning_rate"] == 0.03
    assert shown["evaluation"]["labels"] == 400 and shown["evaluation"]["auc"]["challenger"] == 0.7
    assert shown["evaluation"]["auc"]["champion"] > 0.6  # judged prequentially: learned as the labels came
    assert fraud_status(b"not json") == {"published": False}
