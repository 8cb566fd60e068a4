"""The online model with streaming quantile bins: non-linear effects, same encoding on every path."""

from __future__ import annotations

import math
import random

import pytest

from riskmon.config import ConfigError, parse_config
from riskmon.models.binned import BinnedOnlineModel, make_online_model
from riskmon.models.online import OnlineCreditModel
from riskmon.models.reasons import base_name
from tests.config_edit import default_config_doc


def _u_shaped(n: int, seed: int = 1) -> tuple[list[dict[str, float | str]], list[bool]]:
    """Risky at both ends of utilisation (a U no straight line can fit), with a plain linear factor beside."""
    rng = random.Random(seed)
    xs: list[dict[str, float | str]] = []
    ys = []
    for _ in range(n):
        util, inquiries = rng.uniform(0, 100), float(rng.randint(0, 6))
        logit = -3.0 + 2.5 * (abs(util - 50) > 35) + 0.3 * inquiries
        xs.append({"util": util, "inquiries_6m": inquiries, "channel": rng.choice(["web", "branch"])})
        ys.append(rng.random() < 1 / (1 + math.exp(-logit)))
    return xs, ys


def _auc(pds: list[float], ys: list[bool]) -> float:
    bad = [p for p, y in zip(pds, ys, strict=True) if y]
    good = [p for p, y in zip(pds, ys, strict=True) if not y]
    return sum((b > g) + 0.5 * (b == g) for b in bad for g in good) / (len(bad) * len(good))


def test_bins_learn_what_a_straight_line_cannot() -> None:
    xs, ys = _u_shaped(6000)
    plain = OnlineCreditModel(learning_rate=0.02)
    binned = BinnedOnlineModel(bins=10, rebin_every=500, learning_rate=0.02)
    plain.learn_many(xs[:4000], ys[:4000])
    binned.learn_many(xs[:4000], ys[:4000])
    test_x, test_y = xs[4000:], ys[4000:]
    assert _auc(binned.predict_proba_many(test_x), test_y) > _auc(plain.predict_proba_many(test_x), test_y) + 0.05
    assert len(binned.edges["util"]) == 9 and binned.edges["util"] == sorted(binned.edges["util"])


def test_the_hot_path_and_the_explanations_use_the_models_own_encoding() -> None:
    xs, ys = _u_shaped(3000)
    model = BinnedOnlineModel(bins=8, rebin_every=400, learning_rate=0.02)
    model.learn_many(xs, ys)
    weights = model.linear.weights
    for x in xs[:300]:
        encoded = model.transform_one(x)  # the generic encoding: scaled numerics, one-hot keys, bins
        assert any(base_name(k) == "util" and "=q" in k for k in encoded)
        z = model.linear.intercept + sum(weights.get(k, 0.0) * v for k, v in encoded.items())
        assert model.predict_proba_one(x) == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-12)
    # the terms of the explanations sum to the log-odds minus the average applicant's, bins included
    x = {"util": 97.0, "inquiries_6m": 0.0, "channel": "web"}
    (reasons,) = model.explain_many([x])
    assert reasons[0][0] == "FEATURE_UTIL"  # a reason names the field whose bin raised the risk


def test_scoring_leaves_the_snapshot_alone_and_equal_histories_give_equal_snapshots() -> None:
    xs, ys = _u_shaped(1500)
    a, b = BinnedOnlineModel(bins=5, rebin_every=300), BinnedOnlineModel(bins=5, rebin_every=300)
    a.learn_many(xs, ys)
    b.learn_many(xs[:700], ys[:700])
    b.predict_proba_many(xs[:50])
    b.explain_many(xs[:50])
    b.learn_many(xs[700:], ys[700:])
    assert a.snapshot() == b.snapshot(), "scores and explanations between labels change nothing"
    restored = OnlineCreditModel.restore(a.snapshot())
    assert isinstance(restored, BinnedOnlineModel)
    assert restored.predict_proba_many(xs[:20]) == a.predict_proba_many(xs[:20])


def test_a_re_solve_keeps_the_learned_steps() -> None:
    xs, ys = _u_shaped(4000)
    model = BinnedOnlineModel(bins=10, rebin_every=1000, learning_rate=0.02)
    model.learn_many(xs[:3999], ys[:3999])
    before = model.predict_proba_many(xs[:500])
    model.resolve_bins()  # the cut points move a little; each new bin takes its old bin's weight
    after = model.predict_proba_many(xs[:500])
    assert _auc(after, ys[:500]) == pytest.approx(_auc(before, ys[:500]), abs=0.02)


def test_the_configuration_chooses_the_binned_model_and_checks_its_settings() -> None:
    assert isinstance(make_online_model("m", {"bins": 4}), BinnedOnlineModel)
    assert type(make_online_model("m", {"learning_rate": 0.01})) is OnlineCreditModel
    cfg = parse_config(default_config_doc())
    assert cfg.models.champion.params.get("bins") == 10
    doc = default_config_doc()
    doc["models"]["champion"]["params"]["bins"] = 1
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert info.value.field == "models.champion.params" and "bins" in str(info.value)
