"""Fitted points scorecards: the fit on real data, the YAML the policy loads, points and reasons."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import yaml

from riskmon.cli.commands import main
from riskmon.config import ConfigError, load_config, parse_config
from riskmon.decisioning import decide
from riskmon.schemas import Application
from riskmon.scorecard_points import Characteristic, PointsScorecard
from riskmon.scorecards.data import DataError, load_history
from riskmon.scorecards.fit import FitError, FitOptions, fit_scorecard, score_rows
from tests.config_edit import default_config_doc


def _card(*chars: Characteristic) -> PointsScorecard:
    return PointsScorecard(chars, points_to_double_the_odds=20, base_points=600, base_odds=50)


UTIL = Characteristic(
    "UTIL", "High utilisation", "features.revol_util", True, (30.0, 70.0), (60.0, 45.0, 20.0), {}, 40.0, 40.0
)
HOME = Characteristic("HOME", "Home ownership", "features.home", False, (), (), {"own": 50.0, "rent": 30.0}, 35.0, 38.0)


def test_points_scale_to_the_odds_as_signed_off() -> None:
    card = _card(UTIL)
    assert card.pd_of(600) == pytest.approx(1 / 51)  # base points: 50:1 good:bad odds
    assert card.pd_of(620) == pytest.approx(1 / 101)  # 20 points more: the odds double
    assert card.pd_of(580) == pytest.approx(1 / 26)


def test_bins_are_lower_inclusive_and_missing_or_unseen_values_have_their_own_points() -> None:
    assert [UTIL.points_for(x) for x in (0.0, 29.9, 30.0, 69.9, 70.0, 500.0, None)] == [60, 60, 45, 45, 20, 20, 40]
    assert [HOME.points_for(x) for x in ("own", "rent", "boat", None)] == [50, 30, 38, 35]


def test_reasons_are_the_characteristics_that_lost_most_points_against_their_best_bin() -> None:
    card = _card(UTIL, HOME)
    values = {"features.revol_util": 90.0, "features.home": "rent"}
    pd, total, lost = card.score(lambda ch: values[ch.field])
    assert total == 50 and lost == [(40.0, 0), (20.0, 1)]  # utilisation lost 60-20, home 50-30
    assert pd == pytest.approx(card.pd_of(50))
    best = {"features.revol_util": 10.0, "features.home": "own"}
    assert card.score(lambda ch: best[ch.field])[2] == []  # the best bins: nothing lost, no reason


@pytest.fixture(scope="module")
def lending_club(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lc") / "lc.jsonl"
    assert main(["backtest", "sample", "--out", str(path), "--limit", "4000", "--source", "lending_club"]) == 0
    return path


@pytest.fixture(scope="module")
def fitted(lending_club: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("fit")
    card, report = out / "scorecard.yaml", out / "report.html"
    code = main(["model", "fit-scorecard", "--data", str(lending_club), "--out", str(card), "--report", str(report)])
    assert code == 0
    return card, report


def test_fit_scorecard_writes_a_scorecard_the_policy_loads_and_scores_with(
    fitted: tuple[Path, Path], lending_club: Path, tmp_path: Path
) -> None:
    card_path, _ = fitted
    block = yaml.safe_load(card_path.read_text())
    assert block["kind"] == "points" and block["points_to_double_the_odds"] == 20.0
    assert block["fitted"]["holdout_gini"] > 0.15, "the card must rank the hold-out better than chance"
    ivs = [c["information_value"] for c in block["characteristics"]]
    assert min(ivs) >= 0.02, "weak characteristics are dropped"
    assert not {"features.int_rate", "features.sub_grade"} & {c["field"] for c in block["characteristics"]}

    # as a file next to the configuration
    doc = default_config_doc()
    doc["policy"]["scorecard"] = {"file": "scorecard.yaml"}
    (tmp_path / "scorecard.yaml").write_text(card_path.read_text())
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc))
    policy = load_config(tmp_path / "config.yaml").policy
    assert policy.points is not None and len(policy.points.characteristics) == len(block["characteristics"])

    # the policy's PD is the card's PD, application by application
    history = load_history(lending_club, None, exclude=["int_rate", "sub_grade"])
    expected = score_rows(policy.points, history, range(50))
    apps = [
        Application.from_dict(r["value"])
        for r in map(yaml.safe_load, lending_club.read_text().splitlines())
        if r["topic"] == "credit.applications"
    ][:50]
    got = [decide(a, policy).score for a in apps]
    assert got == pytest.approx(expected, abs=1e-6)
    result = decide(apps[0], policy)
    codes = {c.code for c in policy.points.characteristics}
    assert result.reasons and all(r.code in codes or r.contribution == 1.0 for r in result.reasons)
    shares = [r.contribution for r in result.reasons if r.code in codes]
    assert shares == sorted(shares, reverse=True) and all(0 < s <= 1 for s in shares)


def test_the_report_shows_bins_woe_iv_points_and_the_roc(fitted: tuple[Path, Path]) -> None:
    html = fitted[1].read_text()
    for text in ("Gini", "KS", "WoE", "Information value", "Points table", "<svg", "<polyline", "Dropped"):
        assert text in html, text


def test_a_csv_with_a_target_column_fits(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows = ["utilisation,home,amount,defaulted,customer_id"]
    for i in range(3000):
        util = rng.uniform(0, 100)
        home = rng.choice(["own", "rent", "parents"])
        logit = -4 + 0.035 * util + (0.8 if home == "rent" else 0)
        bad = rng.random() < 1 / (1 + math.exp(-logit))
        rows.append(f"{util:.1f},{home},{rng.uniform(1000, 5000):.0f},{'yes' if bad else 'no'},cust-{i}")
    data = tmp_path / "history.csv"
    data.write_text("\n".join(rows) + "\n")
    history = load_history(data, "defaulted")
    assert "features.customer_id" not in history.columns and "customer_id" not in history.columns
    result = fit_scorecard(history, FitOptions(holdout=0.3))
    fields = {c.field for c in result.card.characteristics}
    assert {"features.utilisation", "features.home"} <= fields
    iv = {c.field: c.iv for c in result.characteristics}
    assert iv["features.utilisation"] > iv["features.home"] > 2 * iv["amount"], "information value ranks the signal"
    assert iv["amount"] < 0.05, "noise: at most the weak information an optimal split finds by chance"
    util = next(c for c in result.card.characteristics if c.field == "features.utilisation")
    assert list(util.points) == sorted(util.points, reverse=True), "monotonic: more utilisation, fewer points"
    assert result.holdout_metrics["auc"] > 0.65


def test_unusable_histories_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="needs --target"):
        load_history(_write(tmp_path / "a.csv", "x,y\n1,0\n"), None)
    with pytest.raises(DataError, match="no target column"):
        load_history(_write(tmp_path / "b.csv", "x,y\n1,0\n"), "bad")
    with pytest.raises(DataError, match="all good"):
        load_history(_write(tmp_path / "c.csv", "x,bad\n1,0\n2,0\n"), "bad")
    with pytest.raises(FitError, match="too few"):
        fit_scorecard(load_history(_write(tmp_path / "d.csv", "x,bad\n1,0\n2,1\n"), "bad"))
    assert main(["model", "fit-scorecard", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")]) == 2


def test_a_broken_points_scorecard_names_its_field() -> None:
    doc = default_config_doc()
    doc["policy"]["scorecard"]["characteristics"][0]["bins"][-1]["upper"] = 5.0
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert info.value.field.startswith("policy.scorecard.characteristics[0].bins[")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_policy_suggest_proposes_cutoffs_from_a_recorded_stream(lending_club: Path, capsys) -> None:
    code = main(
        ["policy", "suggest", "--data", str(lending_club), "--max-bad-rate", "0.045", "--max-review-rate", "0.2"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "meets both targets" in out and "approve_below:" in out
    code = main(["policy", "suggest", "--data", str(lending_club), "--max-bad-rate", "0.001", "--max-review-rate", "0"])
    assert code == 1 and "does NOT meet the targets" in capsys.readouterr().out
