"""``riskmon model fit-scorecard``: fit a points scorecard from a credit history.

Kept apart from :mod:`riskmon.cli.commands` (which only adds the parser and
calls :func:`run_fit_scorecard`). Writes the scorecard as YAML (the
``policy.scorecard`` block: put it there, or point ``policy.scorecard.file``
at it) and, with ``--report``, the HTML sign-off report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_fit_scorecard_parser", "run_fit_scorecard", "FitCommandError"]


class FitCommandError(ValueError):
    """A mistake the user can fix; printed as one line (exit 2)."""


def add_fit_scorecard_parser(model_sub: Any) -> argparse.ArgumentParser:
    """Add ``fit-scorecard`` to ``riskmon model``'s actions."""
    from riskmon.models import LENDER_PRICING
    from riskmon.scorecards.fit import FitOptions

    d = FitOptions()
    p = model_sub.add_parser(
        "fit-scorecard",
        help="fit a points scorecard (optimal binning, WoE, logistic regression) from a credit history",
        description="Fit a points scorecard from FILE: a CSV or JSON lines of applications with an outcome "
        "(--target), or a recorded stream with repayments (riskmon backtest record / sample).",
    )
    p.add_argument("--data", type=Path, required=True, metavar="FILE", help="the history (.csv or JSON lines)")
    p.add_argument("--target", default=None, metavar="COLUMN", help="the outcome column (bad: 1/true/bad/default)")
    p.add_argument("--out", type=Path, required=True, metavar="scorecard.yaml", help="where to write the scorecard")
    p.add_argument("--report", type=Path, default=None, metavar="report.html", help="also write the HTML report")
    p.add_argument("--holdout", type=float, default=d.holdout, help=f"last share held out (default {d.holdout})")
    p.add_argument("--min-iv", type=float, default=d.min_iv, help=f"drop weaker characteristics ({d.min_iv})")
    p.add_argument("--pdo", type=float, default=d.points_to_double_the_odds, help="points to double the odds (20)")
    p.add_argument("--base-points", type=float, default=d.base_points, help="points at the base odds (600)")
    p.add_argument("--base-odds", type=float, default=d.base_odds, help="good:bad odds at the base points (50)")
    p.add_argument(
        "--trend",
        default="select",
        choices=["select", "auto_asc_desc", "auto"],
        help="bad rate against a numeric value: monotonic (auto_asc_desc), auto (a peak or valley allowed), "
        "or select (default): the trend, the test between neighbouring bins and the regression's C that "
        "cross-validate best inside the fitting part (8 candidates, 4 folds each)",
    )
    p.add_argument(
        "--ratio",
        action="append",
        default=[],
        metavar="NUMERATOR/DENOMINATOR",
        help="also a characteristic: one field divided by another, e.g. amount/goods_price (loan to value); "
        "repeatable; binned and kept or dropped like the others, read the same way by the policy",
    )
    p.add_argument(
        "--exclude",
        default=",".join(LENDER_PRICING),
        help="comma-separated fields never to use (default: the lender's own pricing, %(default)s)",
    )
    return p


def run_fit_scorecard(args: argparse.Namespace) -> int:
    """Fit, write the YAML (and report), print the hold-out evidence."""
    import yaml

    from riskmon.config import ConfigError, default_config_text, parse_config
    from riskmon.scorecard_points import points_scorecard_to_dict
    from riskmon.scorecards.data import DataError, load_history
    from riskmon.scorecards.fit import FitError, FitOptions
    from riskmon.scorecards.ratios import parse_ratio
    from riskmon.scorecards.report import render_report
    from riskmon.scorecards.select import SELECT, candidate_name, fit_selected

    if not 0.0 <= args.holdout < 0.9:
        raise FitCommandError(f"--holdout must be in [0, 0.9), got {args.holdout}")
    exclude = [e.strip() for e in args.exclude.split(",") if e.strip()]
    try:
        ratios = tuple(dict.fromkeys(parse_ratio(r) for r in args.ratio))
        history = load_history(args.data, args.target, exclude=exclude)
        print(
            f"read {len(history)} applications with an outcome ({sum(history.bad)} bad), "
            f"{len(history.columns)} characteristics; {history.skipped} without an outcome skipped",
            file=sys.stderr,
        )
        options = FitOptions(
            holdout=args.holdout,
            min_iv=args.min_iv,
            points_to_double_the_odds=args.pdo,
            base_points=args.base_points,
            base_odds=args.base_odds,
            trend=args.trend,
            ratios=ratios,
        )
        if args.trend == SELECT:
            print("choosing the settings by 4-fold cross-validation inside the fitting part ...", file=sys.stderr)
        result = fit_selected(
            history, options, progress=lambda name, auc: print(f"  {name}: AUC {auc:.4f}", file=sys.stderr)
        )
    except (DataError, FitError) as exc:
        raise FitCommandError(str(exc)) from exc
    block = points_scorecard_to_dict(result.card, {"data": args.data.name, **result.summary()})
    # the block must load as the policy's scorecard: check it before writing
    raw = yaml.safe_load(default_config_text())
    raw["policy"]["scorecard"] = block
    try:
        parse_config(raw)
    except ConfigError as exc:  # pragma: no cover - the fitter writes what the loader reads
        raise FitCommandError(f"the fitted scorecard does not load: {exc}") from exc
    args.out.write_text(yaml.safe_dump(block, sort_keys=False, allow_unicode=True))
    if args.report:
        args.report.write_text(render_report(result, source=args.data.name))
    m = result.holdout_metrics
    kept = [c.code for c in result.characteristics if c.kept]
    if result.selection:
        o = result.options
        chosen = candidate_name(o.trend, o.max_pvalue, o.regularisation)
        print(f"chosen: {chosen} (cross-validated AUC {result.selection[chosen]:.4f} in the fitting part)")
    print(f"kept {len(kept)} characteristics: {', '.join(kept)}")
    if m:
        print(
            f"hold-out ({result.n_holdout} applications): gini={m['gini']:.4f} ks={m['ks']:.4f} "
            f"auc={m['auc']:.4f} brier={m['brier']:.4f} mean_pd={m['mean_pd']:.4f} bad_rate={m['bad_rate']:.4f}"
        )
    print(f"wrote {args.out}" + (f" and {args.report}" if args.report else ""))
    return 0
