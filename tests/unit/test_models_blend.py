"""The blend family: the mean of its members' PDs, as a model the learner runs as champion or challenger."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from typing import Any

import orjson
import pytest

from riskmon.config import ConfigError, LearnerSpec, _learner, load_config
from riskmon.learning.learner import Learner, LearnerState, learn_examples, refits_due
from riskmon.models.blend import BlendModel
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator
from riskmon.models.families import make_model, restore_model
from riskmon.models.gbm import GbmCreditModel
from riskmon.models.online import OnlineCreditModel
from riskmon.models.reasons import entry_for
from riskmon.pipeline.messages import Incoming
from tests.unit.learner_fakes import FakeRegistry, FakeStore, u_shaped_stream

GBM = {"family": "lightgbm", "refit_every": 300, "min_class": 30, "window": 1000, "n_estimators": 30}
BINNED = {"bins": 5, "rebin_every": 300, "learning_rate": 0.02, "window": 1000}
BLEND = {"family": "blend", "members": [{"name": "binned", "params": BINNED}, {"name": "gbm", "params": GBM}]}


def _blend(params: dict[str, Any] = BLEND) -> BlendModel:
    model = make_model("blend", params)
    assert isinstance(model, BlendModel)
    return model


def _fitted(n: int = 1000) -> tuple[BlendModel, list[dict[str, Any]], list[bool]]:
    xs, ys = u_shaped_stream(n + 300)
    model = _blend()
    model.learn_many(xs[:n], ys[:n])
    for member in model.refits_due():
        member.refit()
    return model, xs[n:], ys[n:]


def test_it_learns_into_both_members_and_predicts_the_mean_of_their_pds() -> None:
    model = _blend()
    binned, gbm = model.members
    assert isinstance(gbm, GbmCreditModel)
    xs, ys = u_shaped_stream(1300)
    model.learn_many(xs[:1000], ys[:1000])
    assert model.n_learned == binned.n_learned == gbm.n_learned == 1000
    # before its first refit the LightGBM member gives only its prior: the blend leaves it out
    assert gbm.fit is None and model.predict_proba_many(xs[1000:1010]) == binned.predict_proba_many(xs[1000:1010])
    assert model.refits_due() == [binned, gbm] and model.version == "blend-n1000-r0"  # the window fit, the trees
    for member in model.refits_due():
        member.refit()
    assert model.refits_due() == []
    assert model.version == "blend-n1000-r1"
    test = xs[1000:]
    expected = [(a + b) / 2 for a, b in zip(binned.predict_proba_many(test), gbm.predict_proba_many(test), strict=True)]
    assert model.predict_proba_many(test) == pytest.approx(expected, abs=1e-15)
    assert model.predict_proba_one(test[0]) == pytest.approx(expected[0], abs=1e-15)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(ys[1000:], model.predict_proba_many(test)) > 0.7  # it ranks


def test_snapshot_round_trips_holds_the_members_and_leaves_their_windows_out() -> None:
    model, test, _ = _fitted()
    data = model.snapshot()
    assert len(data) < 300_000  # the members' snapshots: bounded by the trees and the bins, not the labels
    restored = restore_model(data)
    assert isinstance(restored, BlendModel) and restored.version == model.version
    assert restored.predict_proba_many(test) == model.predict_proba_many(test)
    assert restored.explain_many(test[:5]) == model.explain_many(test[:5])
    assert restored.snapshot() == data and model.snapshot_hash == restored.snapshot_hash  # the audited hash
    gbm = restored.members[1]
    assert isinstance(gbm, GbmCreditModel) and not gbm.window
    assert not restored.members[0]._window  # type: ignore[union-attr]
    live_gbm = model.members[1]
    assert isinstance(live_gbm, GbmCreditModel) and len(live_gbm.window) == 1000  # the live model keeps its window
    restored.learn_many(test[:10], [True] * 10)  # a restored copy that learns keeps what it learned when pickled
    again = pickle.loads(pickle.dumps(restored))
    assert again.members[0].n_learned == restored.members[0].n_learned == model.members[0].n_learned + 10


def test_reasons_name_the_factors_its_members_scored_weighted_by_their_part_of_the_pd() -> None:
    model, _, _ = _fitted()
    risky = {"features.revol_util": 50.0, "inquiries_6m": 6.0, "channel": "web"}
    reasons = model.explain_one(risky)
    assert reasons[0][0] == "CREDIT_INQUIRIES" and reasons[0][1] == "Many recent credit inquiries"
    scored = {entry_for(field).code for field in ("features.revol_util", "inquiries_6m", "channel")}
    assert {code for code, _, _ in reasons} <= scored
    assert 0 < sum(share for _, _, share in reasons) <= 1
    pds = [m.predict_proba_one(risky) for m in model.members]
    members = [dict((code, share) for code, _, share in m.explain_one(risky)) for m in model.members]
    expected = sum(p / sum(pds) * r.get("CREDIT_INQUIRIES", 0.0) for p, r in zip(pds, members, strict=True))
    assert reasons[0][2] == pytest.approx(expected, abs=1e-4)
    assert model.explain_many([risky, risky], top=0) == [[], []]


def test_a_config_naming_it_validates_and_a_bad_member_fails_clearly() -> None:
    spec = _learner({"name": "blend", "params": {"family": "blend"}}, "models.challenger")
    model = make_model(spec.name, spec.params)
    assert isinstance(model, BlendModel)
    assert [m.name for m in model.members] == ["binned-window", "gbm"]  # the default members
    assert make_model("blend", model.params).params == model.params  # params rebuild a clone
    with pytest.raises(ConfigError, match=r"members\[1\]: unknown member 'forest'"):
        _learner({"name": "b", "params": {"family": "blend", "members": ["binned", "forest"]}}, "models.challenger")
    with pytest.raises(ConfigError, match=r"members\[0\]: unknown parameter"):
        bad = [{"name": "x", "params": {"trees": 3}}, "gbm"]
        _learner({"name": "b", "params": {"family": "blend", "members": bad}}, "models.challenger")
    with pytest.raises(ConfigError, match="at least two"):
        _learner({"name": "b", "params": {"family": "blend", "members": ["gbm"]}}, "models.challenger")
    with pytest.raises(ConfigError, match="names must differ"):
        _learner({"name": "b", "params": {"family": "blend", "members": ["gbm", "gbm"]}}, "models.challenger")
    with pytest.raises(ConfigError, match="family"):  # a blend holds no blend
        nested = [{"name": "x", "params": {"family": "blend"}}, "gbm"]
        _learner({"name": "b", "params": {"family": "blend", "members": nested}}, "models.challenger")


def test_the_learner_judges_a_blend_challenger_itself_and_refits_its_gbm_member() -> None:
    xs, ys = u_shaped_stream(1400)
    champion = OnlineCreditModel(name="logreg")
    state = LearnerState(ChampionChallenger(champion, _blend()), PrequentialEvaluator())
    blend = state.cc.challenger
    assert isinstance(blend, BlendModel) and blend.judged_in_learner  # scorers skip it, as a GBM challenger
    examples = [
        {"application_id": f"a{i}", "inputs": x, "label": y, "scores": {"logreg": 0.05}}
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    learn_examples(state, examples[:1000], clock=lambda: 0.0, config_version="v")
    assert state.cc.challenger_eval.n == 0  # it knew nothing when the first batch was scored
    assert refits_due(state) == blend.members  # the learner hands both to its background thread
    for member in refits_due(state):
        member.refit()
    wanted = blend.predict_proba_many(xs[1000:])
    learn_examples(state, examples[1000:], clock=lambda: 0.0, config_version="v")
    expected = PrequentialEvaluator()
    for p, y in zip(wanted, ys[1000:], strict=True):
        expected.update(p, y)
    assert state.cc.challenger_eval.summary() == expected.summary()  # its PDs before it learned the labels


def test_the_live_learner_refits_the_blends_members_in_its_background_thread() -> None:
    models = dataclasses.replace(
        load_config().models, challenger=LearnerSpec("blend", BLEND), publish_every_labels=10_000
    )
    xs, ys = u_shaped_stream(400)
    examples = [
        {"application_id": f"a{i}", "inputs": x, "label": y, "scores": {}}
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    registry = FakeRegistry()
    learner = Learner(registry=registry, store=FakeStore(), config=models, config_version="v")

    async def scenario() -> None:
        batch = [Incoming("risk.model.training", 0, i, None, orjson.dumps(e), 0.0) for i, e in enumerate(examples)]
        await learner.handle(batch)
        assert learner.refit_running is not None  # handed over, and handle returned
        blend = learner._state.cc.challenger  # type: ignore[union-attr]
        assert isinstance(blend, BlendModel)
        for member in blend.members:  # one at a time: the binned member's window fit, then the trees
            assert learner.refit_running is not None and learner.refit_running[0] is member
            for _ in range(600):
                if learner.refit_running[1].done():
                    break
                await asyncio.sleep(0.05)
            await learner.tick()  # installs the finished one, starts the next
        assert learner.refit_running is None
        assert blend.version == "blend-n400-r1"
        data, pointer = registry.published[-1]["challenger"]
        assert pointer.version == "blend-n400-r1"  # published as soon as installed
        assert restore_model(data).predict_proba_many(xs[:5]) == blend.predict_proba_many(xs[:5])

    asyncio.run(scenario())
    assert learner._executor is not None
    learner._executor.shutdown(wait=True)


def test_a_blend_challenger_has_its_gbm_member_refitted_in_line_by_the_backtest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from riskmon.alerting.config import DEFAULTS
    from riskmon.backtest.engine import run
    from riskmon.backtest.summary import strategy
    from tests.unit.backtest_streams import application, config, parsed, repayment

    assert load_config().models.challenger.params["family"] == "blend"  # the default challenger
    refitted: list[str] = []
    refit = GbmCreditModel.refit

    def counted(self: GbmCreditModel) -> None:
        refitted.append(self.name)
        refit(self)

    monkeypatch.setattr(GbmCreditModel, "refit", counted)
    gbm = {"family": "lightgbm", "refit_every": 40, "min_class": 5, "window": 200, "n_estimators": 10}
    members = [{"name": "binned", "params": {"bins": 4, "rebin_every": 40}}, {"name": "gbm", "params": gbm}]
    edits = {
        "models.challenger.name": "blend",
        "models.challenger.params": {"family": "blend", "members": members},
        "models.publish_every_labels": 20,
    }
    docs = [application(i, at=10 * i) for i in range(120)]
    docs += [repayment(i, bad=i % 3 == 0, at=10 * i + 300) for i in range(120)]
    docs.sort(key=lambda d: d.get("submitted_at") or d["occurred_at"])
    result = run(config(edits), DEFAULTS, parsed(*docs))
    assert refitted and set(refitted) == {"gbm"}  # the blend's member, refitted in line offline
    assert len({scores["blend"] for scores in result.scores.values() if "blend" in scores}) > 1
    assert "blend" in strategy(result)  # offline, every model scores every application
