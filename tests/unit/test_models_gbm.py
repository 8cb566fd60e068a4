"""The LightGBM challenger: window, refit, snapshot, reasons, and where its work happens."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from riskmon.applications.scoring import ModelScorer
from riskmon.config import LearnerSpec, load_config
from riskmon.learning.learner import Learner, LearnerState, learn_examples
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator
from riskmon.models.families import make_model, restore_model
from riskmon.models.gbm import GbmCreditModel, fit_window
from riskmon.models.online import OnlineCreditModel
from riskmon.pipeline.messages import Incoming
from riskmon.schemas import Application
from tests.unit.backtest_streams import application
from tests.unit.learner_fakes import FakeRegistry, FakeStore, u_shaped_stream

GBM = {"family": "lightgbm", "refit_every": 300, "min_class": 30, "window": 1000, "n_estimators": 30}


def _gbm(**params: Any) -> GbmCreditModel:
    model = make_model("gbm", {**GBM, **params})
    assert isinstance(model, GbmCreditModel)
    return model


def test_the_window_is_bounded_and_a_refit_waits_for_both_classes() -> None:
    model = _gbm(window=100, min_class=10, refit_every=50)
    model.learn_many([{"x": 1.0}] * 150, [False] * 150)
    assert len(model.window) == 100 and model.n_learned == 150
    assert not model.refit_due  # no bad in the window: nothing to learn from
    model.learn_many([{"x": 2.0}] * 10, [True] * 10)
    assert model.window_bad == 10 and model.refit_due
    model.learn_many([{"x": 1.0}] * 100, [False] * 100)  # the bads slide out of the window
    assert model.window_bad == 0 and not model.refit_due


def test_refit_snapshot_round_trip_scores_alike_and_leaves_the_window_out() -> None:
    xs, ys = u_shaped_stream(1200)
    model = _gbm()
    assert model.predict_proba_many(xs[:3]) == [model.prior_pd] * 3  # before the first refit
    model.learn_many(xs[:1000], ys[:1000])
    assert model.refit_due
    model.refit()
    assert not model.refit_due and model.version == "gbm-n1000-r1"
    data = model.snapshot()
    assert len(data) < 200_000  # the trees and the encoding, bounded by n_estimators and num_leaves
    restored = restore_model(data)
    assert isinstance(restored, GbmCreditModel) and not restored.window
    assert restored.predict_proba_many(xs[1000:]) == model.predict_proba_many(xs[1000:])
    assert restored.snapshot() == data  # the hash the audit trail records survives a restore
    again = pickle.loads(pickle.dumps(model))  # the learner's own state keeps the window
    assert len(again.window) == 1000 and again.predict_proba_many(xs[:5]) == model.predict_proba_many(xs[:5])
    # it ranks: the U and the inquiries are found
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(ys[1000:], model.predict_proba_many(xs[1000:])) > 0.7


def test_a_refit_is_deterministic() -> None:
    xs, ys = u_shaped_stream(600)
    fits = [fit_window(xs, ys, **_gbm().fit_params()) for _ in range(2)]
    assert fits[0] == fits[1]


def test_reasons_come_from_the_per_prediction_contributions() -> None:
    xs, ys = u_shaped_stream(1000)
    model = _gbm()
    model.learn_many(xs, ys)
    model.refit()
    risky = {"features.revol_util": 50.0, "inquiries_6m": 6.0, "channel": "web"}
    contributions = model.contributions_many([risky])[0]
    raw = model._model().predict(model.fit.matrix([risky]), raw_score=True)[0]  # type: ignore[union-attr]
    expected = model._model().predict(model.fit.matrix([risky]), pred_contrib=True)[0][-1]  # type: ignore[union-attr]
    assert sum(contributions.values()) + expected == pytest.approx(raw)  # the exact split of the log-odds
    reasons = model.explain_one(risky)
    assert reasons[0][0] == "CREDIT_INQUIRIES" and reasons[0][1] == "Many recent credit inquiries"
    assert 0 < sum(share for _, _, share in reasons) <= 1
    safe = model.explain_one({"features.revol_util": 50.0, "inquiries_6m": 0.0, "channel": "web"})
    assert "CREDIT_INQUIRIES" not in [code for code, _, _ in safe]  # few inquiries lowered the risk


def test_the_learner_judges_a_gbm_challenger_on_each_label_before_learning_it() -> None:
    xs, ys = u_shaped_stream(1400)
    champion = OnlineCreditModel(name="logreg")
    state = LearnerState(ChampionChallenger(champion, _gbm()), PrequentialEvaluator())
    champion_pds = champion.predict_proba_many(xs)
    examples = [
        {"application_id": f"a{i}", "inputs": x, "label": y, "scores": {"logreg": champion_pds[i]}}
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    learn_examples(state, examples[:1000], clock=lambda: 0.0, config_version="v")
    assert state.cc.challenger_eval.n == 0  # not fitted yet: learned, not judged (as a model not yet published)
    gbm = state.cc.challenger
    assert isinstance(gbm, GbmCreditModel)
    gbm.refit()
    wanted = gbm.predict_proba_many(xs[1000:])
    learn_examples(state, examples[1000:], clock=lambda: 0.0, config_version="v")
    expected = PrequentialEvaluator()  # the refitted trees' PDs, given before each label was learned
    for p, y in zip(wanted, ys[1000:], strict=True):
        expected.update(p, y)
    assert state.cc.challenger_eval.summary() == expected.summary()  # judged, although no scorer gave it a PD


def test_a_champion_facing_a_challenger_judged_in_the_learner_is_judged_there_too() -> None:
    """Like for like: the champion's decision-time PDs (here the prior it gave before learning anything)
    would lose to trees that learned a thousand labels since; its calibration still sees what it gave."""
    xs, ys = u_shaped_stream(1400)
    champion = OnlineCreditModel(name="logreg")
    state = LearnerState(ChampionChallenger(champion, _gbm()), PrequentialEvaluator())
    decided = champion.predict_proba_many(xs)  # all the prior: the champion knew nothing at decision time
    examples = [
        {"application_id": f"a{i}", "inputs": x, "label": y, "scores": {"logreg": decided[i]}}
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    learn_examples(state, examples[:1000], clock=lambda: 0.0, config_version="v")
    gbm = state.cc.challenger
    assert isinstance(gbm, GbmCreditModel)
    gbm.refit()
    now = champion.predict_proba_many(xs[1000:])  # what the champion knows now, before these labels
    learn_examples(state, examples[1000:], clock=lambda: 0.0, config_version="v")
    expected = PrequentialEvaluator()
    for p, y in zip(now, ys[1000:], strict=True):
        expected.update(p, y)
    assert state.cc.champion_eval.summary() == expected.summary()
    assert state.cc.champion_eval.summary()["auc"] > 0.6  # not the prior's 0.5
    calibration = state.calibration
    assert calibration is not None
    tracker = calibration.trackers["champion"]  # fed by the decision-time PDs: the prior, one grade
    assert sum(tracker.n) == 1400 and sum(1 for n in tracker.n if n) == 1


def _incoming(examples: list[dict]) -> list[Incoming]:
    return [Incoming("risk.model.training", 0, i, None, orjson.dumps(e), 0.0) for i, e in enumerate(examples)]


def test_the_learner_refits_in_the_background_and_handle_does_not_wait() -> None:
    config = load_config()
    models = dataclasses.replace(config.models, challenger=LearnerSpec("gbm", GBM), publish_every_labels=10_000)
    release, started = threading.Event(), threading.Event()

    class Gated(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            def gated():  # type: ignore[no-untyped-def]
                started.set()
                assert release.wait(30)
                return fn(*args, **kwargs)

            return super().submit(gated)

    xs, ys = u_shaped_stream(400)
    examples = [
        {"application_id": f"a{i}", "inputs": x, "label": y, "scores": {}}
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    registry = FakeRegistry()
    executor = Gated(max_workers=1)
    learner = Learner(
        registry=registry,
        store=FakeStore(),
        config=models,
        config_version="v",
        refit_executor=executor,  # type: ignore[arg-type]
    )

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        await learner.handle(_incoming(examples))
        assert learner.refit_running is not None  # handed over, and handle returned
        assert await loop.run_in_executor(None, started.wait, 30)
        gbm = learner._state.cc.challenger  # type: ignore[union-attr]
        assert gbm.fit is None and not registry.published
        await learner.tick()  # the refit still runs: nothing to install
        assert gbm.fit is None
        release.set()
        for _ in range(300):
            if learner.refit_running[1].done():  # type: ignore[index]
                break
            await asyncio.sleep(0.05)
        await learner.tick()
        assert gbm.fit is not None and gbm.refits == 1
        assert registry.published[-1]["challenger"][1].version == "gbm-n400-r1"  # published as soon as installed

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        executor.shutdown(wait=True)


def _applications(n: int) -> list[Application]:
    return [Application.from_dict(application(i)) for i in range(n)]


def test_a_gbm_challenger_costs_the_scorer_nothing_and_decides_once_promoted() -> None:
    config = load_config()
    apps = _applications(40)
    from riskmon.models.features import model_inputs

    xs = [model_inputs(a) for a in apps] * 15
    rng = random.Random(3)
    ys = [x["inquiries_6m"] >= 2 and rng.random() < 0.6 or rng.random() < 0.05 for x in xs]  # type: ignore[operator]
    champion = OnlineCreditModel(name="logreg")
    champion.learn_many(xs, ys)
    gbm = _gbm()
    gbm.learn_many(xs, ys)
    gbm.refit()

    scorer = ModelScorer(None, min_labels=500)
    scorer.models = {"champion": champion, "challenger": gbm}
    scored = scorer.score(apps, config.model_policy)
    assert set(scored[0].snapshot["scores"]) == {"scorecard", "logreg"}  # the GBM challenger is not scored here
    assert scored[0].model_version == champion.version

    scorer.models = {"champion": gbm, "challenger": champion}  # what a promotion publishes
    scored = scorer.score(apps, config.model_policy)
    pds = gbm.predict_proba_many([model_inputs(a) for a in apps])
    assert [s.model_score[0] for s in scored] == pds  # type: ignore[index]
    assert scored[0].model_version == gbm.version
    assert set(scored[0].snapshot["scores"]) == {"scorecard", "gbm", "logreg"}
    risky = next(s for s, a in zip(scored, apps, strict=True) if a.features["inquiries_6m"] == 2)
    assert [f.code for f in risky.model_score[1]][0] == "CREDIT_INQUIRIES"  # type: ignore[index]


def test_config_names_the_family() -> None:
    from riskmon.config import ConfigError, _learner

    assert _learner({"name": "gbm", "params": GBM}, "models.challenger").params["family"] == "lightgbm"
    with pytest.raises(ConfigError, match="family"):
        _learner({"name": "x", "params": {"family": "xgboost"}}, "models.challenger")
    with pytest.raises(ConfigError, match="unknown parameter"):
        _learner({"name": "x", "params": {"family": "lightgbm", "trees": 3}}, "models.challenger")


def test_a_worker_that_does_not_score_a_gbm_never_imports_lightgbm() -> None:
    import subprocess
    import sys

    code = (
        "import sys, riskmon.applications.scoring, riskmon.learning.learner, riskmon.models.families as f;"
        "m = f.restore_model(f.make_model('gbm', {'family': 'lightgbm'}).snapshot());"
        "print('lightgbm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_backtest_refits_in_line_and_draws_the_gbm_challengers_strategy_curve() -> None:
    from riskmon.alerting.config import DEFAULTS
    from riskmon.backtest.engine import run
    from riskmon.backtest.summary import strategy
    from tests.unit.backtest_streams import config, parsed, repayment

    small = {"family": "lightgbm", "refit_every": 40, "min_class": 5, "window": 200, "n_estimators": 10}
    edits = {
        "models.challenger.name": "gbm",
        "models.challenger.params": {**small, "min_child_samples": 5},
        "models.publish_every_labels": 20,
    }
    docs = [application(i, at=10 * i) for i in range(120)]
    docs += [repayment(i, bad=i % 3 == 0, at=10 * i + 300) for i in range(120)]
    docs.sort(key=lambda d: d.get("submitted_at") or d["occurred_at"])
    result = run(config(edits), DEFAULTS, parsed(*docs))
    gbm_pds = [scores["gbm"] for scores in result.scores.values() if "gbm" in scores]
    assert any(p != GbmCreditModel().prior_pd for p in gbm_pds), "refitted offline and published to the scorer"
    assert "gbm" in strategy(result)  # offline, every model scores every application


def test_scorers_swap_in_the_champion_and_never_fetch_a_challenger_the_learner_judges() -> None:
    from riskmon.learning.registry import ModelPointer

    xs, ys = u_shaped_stream(1000)
    champion = OnlineCreditModel(name="logreg")
    champion.learn_many(xs, ys)
    gbm = _gbm()
    gbm.learn_many(xs, ys)
    gbm.refit()
    published = {
        "champion": (champion.snapshot(), ModelPointer("champion", "logreg", champion.version, "h1", 1000, 0.0)),
        "challenger": (gbm.snapshot(), ModelPointer("challenger", "gbm", gbm.version, "h2", 1000, 0.0, True)),
    }
    fetched: list[str] = []

    class Registry:
        async def model_alert(self) -> None:
            return None

        async def pointers(self) -> dict[str, ModelPointer]:
            return {role: pointer for role, (_, pointer) in published.items()}

        async def snapshot(self, digest: str) -> bytes:
            fetched.append(digest)
            return next(data for data, pointer in published.values() if pointer.hash == digest)

    scorer = ModelScorer(Registry(), min_labels=500)  # type: ignore[arg-type]
    asyncio.run(scorer.refresh(force=True))
    assert fetched == ["h1"] and set(scorer.models) == {"champion"}
    assert scorer.pointers["challenger"].hash == "h2"  # still named in every feature snapshot
    apps = [Application.from_dict(application(i)) for i in range(3)]
    scored = scorer.score(apps, load_config().model_policy)
    assert scored[0].snapshot["snapshots"] == {"champion": "h1", "challenger": "h2"}
    assert set(scored[0].snapshot["scores"]) == {"scorecard", "logreg"}

    # the pointer survives a round trip through Redis's JSON, and older pointers lack the flag
    challenger = published["challenger"][1]
    assert ModelPointer.from_json("challenger", challenger.to_json()) == challenger
    old = orjson.loads(challenger.to_json())
    del old["scored_by_learner"]
    assert ModelPointer.from_json("challenger", orjson.dumps(old)).scored_by_learner is False
