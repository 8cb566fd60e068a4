"""Declared ratio characteristics: what two inputs say only together, fitted and scored the same way."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import yaml

from riskmon.cli.commands import main
from riskmon.config import ConfigError, parse_config
from riskmon.decisioning import decide
from riskmon.decisioning.points import points_score
from riskmon.decisioning.policy import field_value
from riskmon.ratio_fields import ratio_of, split_ratio
from riskmon.schemas import Application
from riskmon.scorecards.data import DataError, History, load_history
from riskmon.scorecards.fit import FitOptions, fit_scorecard, score_rows
from riskmon.scorecards.ratios import parse_ratio
from riskmon.scorecards.select import cross_validated_auc, fit_selected
from tests.config_edit import default_config_doc

RATIO = "amount/features.price"


def _rows(n: int, seed: int = 11) -> list[tuple[float, float, float, bool]]:
    """(amount, price, noise, bad): the risk is the financed share amount / price, which neither says alone."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        price = math.exp(rng.uniform(6, 9))
        share = rng.uniform(0.2, 1.0)
        z = -4.0 + 4.5 * share
        out.append((round(share * price, 2), round(price, 2), rng.uniform(0, 1), rng.random() < 1 / (1 + math.exp(-z))))
    return out


def _history(n: int, seed: int = 11) -> History:
    rows = _rows(n, seed)
    return History(
        columns={
            "amount": [r[0] for r in rows],
            "features.price": [r[1] for r in rows],
            "features.noise": [r[2] for r in rows],
        },
        bad=[r[3] for r in rows],
    )


def test_ratio_refs_are_two_plain_fields() -> None:
    assert split_ratio(RATIO) == ("amount", "features.price")
    assert split_ratio("loan_to_income/features.x") == ("loan_to_income", "features.x")
    for plain_or_not_a_ratio in ("amount", "features.a/b", "a/b", "amount/features.", "amount/term_months/x"):
        assert split_ratio(plain_or_not_a_ratio) is None, plain_or_not_a_ratio
    assert ratio_of(3.0, 4.0) == 0.75
    assert ratio_of(3.0, 0.0) is None and ratio_of(None, 4.0) is None and ratio_of(1e308, 1e-308) is None
    assert parse_ratio(" amount / price ") == RATIO
    assert parse_ratio("debt/loan_to_income") == "features.debt/loan_to_income"
    for bad in ("amount", "amount/", "/price", "a/b/c"):
        with pytest.raises(DataError, match="NUMERATOR/DENOMINATOR"):
            parse_ratio(bad)
    with pytest.raises(DataError, match="longer than a configuration field"):
        parse_ratio(f"{'x' * 40}/{'y' * 40}")


def test_a_ratio_the_inputs_carry_only_together_is_kept_and_ranks_the_hold_out_better() -> None:
    history = _history(4000)
    plain = fit_scorecard(history, FitOptions(holdout=0.5))
    with_ratio = fit_scorecard(history, FitOptions(holdout=0.5, ratios=(RATIO,)))
    report = {c.field: c for c in with_ratio.characteristics}
    assert report[RATIO].kept and report[RATIO].iv > max(report["amount"].iv, report["features.price"].iv)
    assert report[RATIO].code == "RATIO_AMOUNT_TO_PRICE"
    assert report[RATIO].description == "amount is high relative to price"  # the risk rises with the share
    assert with_ratio.holdout_metrics["auc"] > plain.holdout_metrics["auc"] + 0.05
    assert with_ratio.summary()["ratios"] == [RATIO] and "ratios" not in plain.summary()
    assert set(history.columns) == {"amount", "features.price", "features.noise"}, "the caller's history is unchanged"
    # scored from the two columns when the history has no ratio column (as the policy reads it)
    assert score_rows(with_ratio.card, history, range(2000, 2100)) == pytest.approx(
        score_rows(with_ratio.card, _with_ratio_column(history), range(2000, 2100))
    )


def _with_ratio_column(history: History) -> History:
    """``history`` with the ratio written out as a column of its own, divided here by hand."""
    amounts, prices = history.columns["amount"], history.columns["features.price"]
    ratio: list[float | str | None] = [float(a) / float(p) for a, p in zip(amounts, prices, strict=True)]
    return History(columns={**history.columns, RATIO: ratio}, bad=history.bad)


def test_the_hold_out_never_takes_part_in_the_choice_with_ratios() -> None:
    history = _history(3000)
    flipped = History(columns=dict(history.columns), bad=list(history.bad))
    flipped.bad[1500:] = [not b for b in flipped.bad[1500:]]
    options = FitOptions(holdout=0.5, ratios=(RATIO,), max_pvalue=None)
    assert cross_validated_auc(history, options, 1500) == cross_validated_auc(flipped, options, 1500)
    chosen = fit_selected(history, FitOptions(holdout=0.5, ratios=(RATIO,), trend="select"))
    assert chosen.options.ratios == (RATIO,) and len(chosen.selection) == 8
    assert fit_selected(flipped, FitOptions(holdout=0.5, ratios=(RATIO,), trend="select")).selection == chosen.selection


def test_a_ratio_naming_a_column_the_history_lacks_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="no column features.goods_price"):
        fit_scorecard(_history(1000), FitOptions(ratios=("amount/features.goods_price",)))


def test_the_configuration_reads_ratio_fields_and_refuses_malformed_ones() -> None:
    doc = default_config_doc()
    doc["policy"]["rules"] = [
        {"code": "LTV", "description": "financed share", "field": RATIO, "op": ">", "value": 0.95, "outcome": "review"}
    ]
    assert parse_config(doc).policy.rules[0].field == RATIO
    doc["policy"]["rules"][0]["field"] = "amount/price"
    with pytest.raises(ConfigError, match="ratio FIELD/FIELD"):
        parse_config(doc)
    app = Application.from_dict(_application(800.0, 1000.0))
    assert field_value(app, RATIO) == pytest.approx(0.8)
    assert field_value(Application.from_dict(_application(800.0, 0.0)), RATIO) is None


def _application(amount: float, price: float | None, i: int = 0) -> dict[str, object]:
    return {
        "schema_version": 1,
        "application_id": f"app-{i}",
        "customer_id": f"cust-{i}",
        "submitted_at": "2026-01-01T00:00:00Z",
        "amount": amount,
        "currency": "EUR",
        "term_months": 36,
        "annual_income": 30000.0,
        "product": "personal_loan",
        "channel": "web",
        "features": {"price": price, "noise": 0.5},
    }


def test_the_command_fits_a_ratio_the_policy_scores_as_fitted(tmp_path: Path) -> None:
    lines = ["amount,price,noise,defaulted"]
    for amount, price, noise, bad in _rows(3000, seed=3):
        lines.append(f"{amount},{price},{noise:.4f},{int(bad)}")
    data = tmp_path / "history.csv"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "card.yaml"
    args = ["model", "fit-scorecard", "--data", str(data), "--target", "defaulted", "--out", str(out)]
    assert (
        main([*args, "--trend", "auto_asc_desc", "--ratio", "amount/price", "--report", str(tmp_path / "r.html")]) == 0
    )
    block = yaml.safe_load(out.read_text())
    assert RATIO in {c["field"] for c in block["characteristics"]} and block["fitted"]["ratios"] == [RATIO]
    assert "Declared ratio characteristics" in (tmp_path / "r.html").read_text()

    doc = default_config_doc()
    doc["policy"]["scorecard"] = block
    policy = parse_config(doc).policy
    assert policy.points is not None
    history = load_history(data, "defaulted")
    expected = score_rows(policy.points, history, range(60))
    apps = [
        Application.from_dict(_application(history.columns["amount"][i], history.columns["features.price"][i], i))
        for i in range(60)
    ]
    # the decision path's points (the card's PD, before the policy's hard rules) are the fit's
    assert [points_score(a, policy.points)[0] for a in apps] == pytest.approx(expected, abs=1e-9)
    risky = decide(Application.from_dict(_application(990.0, 1000.0)), policy)
    safe = decide(Application.from_dict(_application(210.0, 1000.0)), policy)
    assert risky.score > safe.score
    assert any(r.code == "RATIO_AMOUNT_TO_PRICE" for r in risky.reasons), "the ratio is named among the reasons"

    assert main([*args, "--ratio", "amount/goods"]) == 2  # no such column: one line, exit 2
