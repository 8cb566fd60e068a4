"""The online logistic model: prior, learning, explanations, snapshots, River equivalence."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from riskmon.models.evaluation import PrequentialEvaluator
from riskmon.models.online import DEFAULT_PRIOR_PD, OnlineCreditModel
from riskmon.models.reasons import entry_for


def synthetic(n: int, seed: int) -> tuple[list[dict], list[bool]]:
    """A stream where risk rises with inquiries and utilisation; channel and a missing value add noise."""
    rng = random.Random(seed)
    xs, ys = [], []
    for _ in range(n):
        inquiries = float(rng.randint(0, 6))
        util = rng.uniform(0, 100)
        x: dict = {"inquiries_6m": inquiries, "revol_util": util, "channel": rng.choice(["web", "branch"])}
        if rng.random() < 0.1:
            x["emp_length__missing"] = 1.0
        else:
            x["emp_length"] = float(rng.randint(0, 10))
        logit = -3.0 + 0.8 * inquiries + 0.04 * util
        xs.append(x)
        ys.append(rng.random() < 1 / (1 + math.exp(-logit)))
    return xs, ys


TRAIN = synthetic(1500, seed=1)
TEST = synthetic(500, seed=2)


@pytest.fixture(scope="module")
def trained() -> OnlineCreditModel:
    model = OnlineCreditModel(learning_rate=0.05)
    model.learn_many(*TRAIN)
    return model


def log_loss(pds: list[float], ys: list[bool]) -> float:
    ev = PrequentialEvaluator()
    for p, y in zip(pds, ys, strict=True):
        ev.update(p, y)
    return ev.log_loss


# -- cold start ---------------------------------------------------------------------


@pytest.mark.parametrize("prior", [DEFAULT_PRIOR_PD, 0.2])
def test_untrained_model_scores_the_prior(prior: float) -> None:
    model = OnlineCreditModel(prior_pd=prior)
    xs = TEST[0][:5]
    assert model.predict_proba_many(xs) == [prior] * 5
    assert model.predict_proba_one(xs[0]) == prior
    assert model.explain_one(xs[0]) == []
    assert model.version == "logreg-n0"


@pytest.mark.parametrize(
    "params", [{"prior_pd": 0.0}, {"prior_pd": 1.0}, {"clip": 0}, {"max_categories": 0}, {"optimizer": "lbfgs"}]
)
def test_bad_parameters_are_refused(params: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(params))):
        OnlineCreditModel(**params)


# -- learning -----------------------------------------------------------------------


def test_learning_improves_log_loss(trained: OnlineCreditModel) -> None:
    xs, ys = TEST
    untrained = log_loss(OnlineCreditModel().predict_proba_many(xs), ys)
    learned = log_loss(trained.predict_proba_many(xs), ys)
    assert learned < 0.8 * untrained
    assert trained.n_learned == 1500 and trained.n_bad == sum(TRAIN[1])
    assert trained.version == "logreg-n1500"


def test_learn_many_equals_learn_one_in_order() -> None:
    a, b = OnlineCreditModel(), OnlineCreditModel()
    a.learn_many(*TRAIN)
    for x, y in zip(*TRAIN, strict=True):
        b.learn_one(x, y)
    assert a.snapshot() == b.snapshot()


def test_learn_many_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 inputs but 1 labels"):
        OnlineCreditModel().learn_many(TEST[0][:2], [True])


def test_one_and_many_give_the_same_scores(trained: OnlineCreditModel) -> None:
    xs = TEST[0][:50]
    assert [trained.predict_proba_one(x) for x in xs] == trained.predict_proba_many(xs)


def test_scoring_does_not_change_the_state(trained: OnlineCreditModel) -> None:
    before = trained.snapshot()
    trained.predict_proba_many([{"unseen": 3.0, "channel": "pigeon"}, *TEST[0][:10]])
    trained.explain_many([{"unseen": 3.0, "channel": "pigeon"}])
    assert trained.snapshot() == before


def test_excluded_inputs_are_never_used() -> None:
    model = OnlineCreditModel()  # default: leave out Lending Club's own pricing
    xs = [dict(x, int_rate=float(y) * 20, sub_grade="G5" if y else "A1") for x, y in zip(*TRAIN, strict=True)]
    model.learn_many(xs, TRAIN[1])
    assert not any(k.startswith(("int_rate", "sub_grade")) for k in model.linear.weights)
    x = TEST[0][0]
    assert model.predict_proba_one(dict(x, int_rate=30.0, sub_grade="G5")) == model.predict_proba_one(x)


def test_categories_beyond_the_limit_share_one_weight() -> None:
    model = OnlineCreditModel(max_categories=3)
    model.learn_many([{"employer": f"e{i}", "n": float(i % 2)} for i in range(20)], [i % 3 == 0 for i in range(20)])
    keys = sorted(k for k in model.linear.weights if k.startswith("employer="))
    assert keys == ["employer=__other__", "employer=e0", "employer=e1", "employer=e2"]


def test_the_river_pipeline_is_the_same_model() -> None:
    """The hot path (scaler and linear model called directly) equals River's Pipeline."""
    fast = OnlineCreditModel(max_categories=None)
    river = OnlineCreditModel(max_categories=None)
    pipeline = river.pipeline
    for x, y in zip(*TRAIN[:2], strict=True):
        fast.learn_one(x, y)
        pipeline.learn_one(x, y)
    for key, weight in river.linear.weights.items():
        assert fast.linear.weights[key] == pytest.approx(weight, rel=1e-9, abs=1e-12)
    xs = TEST[0][:20]
    expected = [pipeline.predict_proba_one(x)[True] for x in xs]
    assert fast.predict_proba_many(xs) == pytest.approx(expected, rel=1e-9)


# -- explanations -----------------------------------------------------------------------


@pytest.mark.parametrize("x", TEST[0][:40])
def test_explanations_are_the_risk_raising_factors_ranked(trained: OnlineCreditModel, x: dict) -> None:
    reasons = trained.explain_one(x)
    assert len(reasons) <= 4
    shares = [share for _, _, share in reasons]
    assert shares == sorted(shares, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in shares) and sum(shares) <= 1.0
    # every code given raised the log-odds, and every code that did is given (there are fewer than 4)
    by_code: dict[str, float] = {}
    for field, term in trained.contributions_one(x).items():
        by_code[entry_for(field).code] = by_code.get(entry_for(field).code, 0.0) + term
    assert {code for code, _, _ in reasons} == {code for code, total in by_code.items() if total > 0}


def test_contributions_add_up_to_the_score_minus_the_average_applicant(trained: OnlineCreditModel) -> None:
    """The factors explained are the score's own terms, measured from the average applicant."""
    xs = TEST[0][:20]
    logit = [math.log(p / (1 - p)) for p in trained.predict_proba_many(xs)]
    offsets = [lo - sum(trained.contributions_one(x).values()) for lo, x in zip(logit, xs, strict=True)]
    assert max(offsets) - min(offsets) == pytest.approx(0.0, abs=1e-9)  # one constant: the average's log-odds


def test_a_category_everyone_shares_is_never_a_reason() -> None:
    """One-hot weights soak up part of the intercept; measured from the average they explain nothing."""
    model = OnlineCreditModel(learning_rate=0.05)
    xs = [dict(x, product="personal_loan") for x in TRAIN[0]]
    model.learn_many(xs, TRAIN[1])
    assert model.linear.weights["product=personal_loan"] > 0.1
    assert "product" not in model.contributions_one(xs[0])
    assert all(code != "PRODUCT" for x in xs[:50] for code, _, _ in model.explain_one(x))


def test_top_reason_follows_the_feature_that_is_raised(trained: OnlineCreditModel) -> None:
    base = {"inquiries_6m": 6.0, "revol_util": 50.0, "channel": "web", "emp_length": 5.0}
    assert trained.explain_one(base)[0][:2] == ("CREDIT_INQUIRIES", "Many recent credit inquiries")
    raised = dict(base, inquiries_6m=3.0, revol_util=100.0)
    assert trained.explain_one(raised)[0][:2] == ("REVOLVING_UTILISATION", "High utilisation of revolving credit")
    assert trained.predict_proba_one(base) > trained.predict_proba_one(dict(base, inquiries_6m=0.0))


def test_explain_top_limits_and_explain_many_agrees(trained: OnlineCreditModel) -> None:
    xs = TEST[0][:10]
    assert trained.explain_many(xs, top=2) == [trained.explain_one(x, top=2) for x in xs]
    assert all(len(r) <= 2 for r in trained.explain_many(xs, top=2))
    assert trained.explain_one(xs[0], top=0) == []


# -- identity, snapshots, the estimator contract -------------------------------------------


def test_snapshot_round_trip_gives_identical_predictions(trained: OnlineCreditModel) -> None:
    restored = OnlineCreditModel.restore(trained.snapshot())
    xs = TEST[0]
    assert restored.predict_proba_many(xs) == trained.predict_proba_many(xs)
    assert restored.explain_many(xs[:20]) == trained.explain_many(xs[:20])
    assert restored.version == trained.version and restored.snapshot_hash == trained.snapshot_hash


def test_same_history_same_hash_and_a_new_label_changes_it() -> None:
    a, b = OnlineCreditModel(), OnlineCreditModel()
    a.learn_many(*TEST)
    b.learn_many(*TEST)
    assert a.snapshot_hash == b.snapshot_hash
    assert len(a.snapshot_hash) == 64
    b.learn_one(TEST[0][0], True)
    assert a.snapshot_hash != b.snapshot_hash


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad"])
def test_restored_model_learns_on_as_if_never_stopped(optimizer: str) -> None:
    """A worker restarted from a snapshot ends where an uninterrupted one would."""
    xs, ys = TRAIN
    straight = OnlineCreditModel(optimizer=optimizer)
    straight.learn_many(xs, ys)
    first = OnlineCreditModel(optimizer=optimizer)
    first.learn_many(xs[:700], ys[:700])
    resumed = OnlineCreditModel.restore(first.snapshot())
    resumed.learn_many(xs[700:], ys[700:])
    assert resumed.snapshot() == straight.snapshot()


def test_restore_refuses_another_object() -> None:
    with pytest.raises(TypeError, match="not a OnlineCreditModel"):
        OnlineCreditModel.restore(pickle.dumps({"weights": {}}))


def test_clone_repr_and_params(trained: OnlineCreditModel) -> None:
    clone = trained.clone()
    assert clone.params == trained.params and clone.n_learned == 0
    assert repr(clone) == repr(trained) and repr(clone).startswith("OnlineCreditModel(name='logreg'")
    assert OnlineCreditModel(**trained.params).snapshot() == clone.snapshot()
