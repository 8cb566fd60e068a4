"""The scorecard's trend chosen by cross-validation inside the fitting part, never on the hold-out."""

from __future__ import annotations

import math
import random

from riskmon.scorecards.data import History
from riskmon.scorecards.fit import FitOptions, fit_scorecard
from riskmon.scorecards.select import cross_validated_auc, fit_selected


def _history(n: int, shape: str, seed: int = 5) -> History:
    """Bad rate against ``features.bill``: a valley (risky at both ends) or a rising line."""
    rng = random.Random(seed)
    bill, noise, bad = [], [], []
    for _ in range(n):
        x = rng.uniform(0, 100)
        z = -2.0 + (0.0012 * (x - 50) ** 2 if shape == "valley" else 0.03 * (x - 50))
        bill.append(x)
        noise.append(rng.uniform(0, 1))
        bad.append(rng.random() < 1 / (1 + math.exp(-z)))
    return History(columns={"features.bill": bill, "features.noise": noise}, bad=bad)


def test_a_valley_is_kept_when_the_fitting_part_says_so() -> None:
    history = _history(4000, "valley")
    result = fit_selected(history, FitOptions(holdout=0.5, trend="select"))
    assert result.options.trend == "auto" and len(result.selection) == 8
    best = {
        shape: max(auc for name, auc in result.selection.items() if name.startswith(shape)) for shape in ("mo", "pe")
    }
    assert best["pe"] > best["mo"]
    monotonic = fit_scorecard(history, FitOptions(holdout=0.5))
    assert result.holdout_metrics["auc"] > monotonic.holdout_metrics["auc"]
    assert result.summary()["trend"] == "auto" and "chosen_by_cross_validation" in result.summary()


def test_a_monotonic_risk_keeps_the_monotonic_card() -> None:
    result = fit_selected(_history(4000, "line"), FitOptions(holdout=0.5, trend="select"))
    assert result.options.trend == "auto_asc_desc"


def test_the_hold_out_never_takes_part_in_the_choice() -> None:
    history = _history(4000, "valley")
    flipped = History(columns={k: list(v) for k, v in history.columns.items()}, bad=list(history.bad))
    flipped.bad[2000:] = [not b for b in flipped.bad[2000:]]  # a hold-out that says the opposite
    options = FitOptions(holdout=0.5, trend="auto")
    assert cross_validated_auc(history, options, 2000) == cross_validated_auc(flipped, options, 2000)
    assert fit_selected(flipped, FitOptions(holdout=0.5, trend="select")).options.trend == "auto"


def test_a_fixed_trend_is_a_plain_fit() -> None:
    history = _history(1500, "line")
    fixed = fit_selected(history, FitOptions(holdout=0.3, trend="auto_asc_desc"))
    assert fixed.selection == {} and fixed.card == fit_scorecard(history, FitOptions(holdout=0.3)).card


def test_the_command_chooses_by_default_and_records_the_choice(tmp_path, capsys) -> None:
    import yaml

    from riskmon.cli.commands import main

    rng = random.Random(9)
    rows = ["bill,defaulted"]
    for _ in range(3000):
        bill = rng.uniform(0, 100)
        bad = rng.random() < 1 / (1 + math.exp(-(-2.0 + 0.0012 * (bill - 50) ** 2)))
        rows.append(f"{bill:.2f},{int(bad)}")
    data = tmp_path / "history.csv"
    data.write_text("\n".join(rows) + "\n")
    out, report = tmp_path / "card.yaml", tmp_path / "report.html"
    args = ["model", "fit-scorecard", "--data", str(data), "--target", "defaulted", "--out", str(out)]
    assert main([*args, "--report", str(report)]) == 0
    printed = capsys.readouterr()
    assert "chosen: peak/valley" in printed.out and printed.err.count(": AUC 0.") == 8  # progress per candidate
    fitted = yaml.safe_load(out.read_text())["fitted"]
    assert fitted["trend"] == "auto" and len(fitted["chosen_by_cross_validation"]) == 8
    assert "Chosen by 4-fold cross-validation" in report.read_text()
    assert main([*args, "--trend", "auto_asc_desc"]) == 0
    assert yaml.safe_load(out.read_text())["fitted"]["trend"] == "auto_asc_desc"
