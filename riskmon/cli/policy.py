"""``riskmon policy suggest``: approve and reject cut-offs that meet a bad-rate and a review-rate target.

Scores every application of FILE (the same shapes ``riskmon model
fit-scorecard`` reads) with the configuration's scorecard and hard rules,
as the policy does, then proposes the cut-offs
(:func:`riskmon.decisioning.cutoffs.suggest_cutoffs`) and prints the rates
they give on that data, with the strategy curve around them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["add_policy_parser", "run_policy", "PolicyCommandError"]


class PolicyCommandError(ValueError):
    """A mistake the user can fix; printed as one line (exit 2)."""


def add_policy_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``policy suggest`` to the command line."""
    p = sub.add_parser("policy", help="decision policy: suggest cut-offs")
    actions = p.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    s = actions.add_parser(
        "suggest",
        help="propose approve/reject PD cut-offs meeting a bad rate and a review rate",
        description="Score FILE with the configuration's scorecard and rules and propose the cut-offs that "
        "approve the most applications with a bad rate among approvals <= R and a review rate <= Q.",
    )
    s.add_argument("--data", type=Path, required=True, metavar="FILE", help="history: .csv or JSON lines")
    s.add_argument("--target", default=None, metavar="COLUMN", help="the outcome column (not for recorded streams)")
    s.add_argument("--max-bad-rate", type=float, required=True, metavar="R", help="e.g. 0.04")
    s.add_argument("--max-review-rate", type=float, required=True, metavar="Q", help="e.g. 0.15")
    s.add_argument("--config", default=None, help="configuration to score with (default: $RISKMON_CONFIG or packaged)")
    s.add_argument(
        "--model",
        default="scorecard",
        choices=["scorecard", "champion", "challenger"],
        help="whose PDs: the configuration's scorecard (default), or an online model's as the backtest replays a "
        "recorded stream (its PDs once the champion decides; suggests models.cutoffs)",
    )
    s.add_argument("--json", action="store_true", help="print the suggestion and the curve as JSON")
    return p


class _Row:
    """One history row as the policy reads an application (amount, income, term, features)."""

    __slots__ = ("amount", "annual_income", "term_months", "features")

    def __init__(self, values: dict[str, Any]) -> None:
        amount, income = values.get("amount"), values.get("annual_income")
        self.amount = amount if isinstance(amount, float) else 0.0
        self.annual_income = income if isinstance(income, float) else 0.0
        self.term_months = values.get("term_months")
        self.features = {k[len("features.") :]: v for k, v in values.items() if k.startswith("features.")}


def run_policy(args: argparse.Namespace) -> int:
    import os

    from riskmon.config import ConfigError, load_config
    from riskmon.decisioning.cutoffs import strategy_curve, suggest_cutoffs
    from riskmon.decisioning.outcomes import Outcome
    from riskmon.decisioning.policy import rule_hits, scorecard
    from riskmon.scorecards.data import DataError, load_history

    for name in ("max_bad_rate", "max_review_rate"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise PolicyCommandError(f"--{name.replace('_', '-')} must be a rate in [0, 1]")
    try:
        config = load_config(args.config or os.environ.get("RISKMON_CONFIG") or None)
        history = load_history(args.data, args.target)
    except (ConfigError, DataError) as exc:
        raise PolicyCommandError(str(exc)) from exc
    policy = config.policy

    def forced_by_rules(row: Any) -> int:
        held = rule_hits(row, policy)
        worst = Outcome.parse(held[0].outcome) if held else None
        return 2 if worst is Outcome.REJECT else 1 if worst is Outcome.REVIEW else 0

    pds: list[float] = []
    forced: list[int] = []
    bad: list[bool] = history.bad
    if args.model == "scorecard":
        names = list(history.columns)
        for i in range(len(history)):
            row = _Row({name: history.columns[name][i] for name in names})
            pds.append(scorecard(row, policy)[0])
            forced.append(forced_by_rules(row))
    else:
        pds, bad, apps = _online_pds(args.data, config, args.model)
        forced = [forced_by_rules(a) for a in apps]
    s = suggest_cutoffs(pds, bad, max_bad_rate=args.max_bad_rate, max_review_rate=args.max_review_rate, forced=forced)
    curve = strategy_curve(pds, bad, points=20)
    if args.json:
        print(json.dumps({"suggestion": _as_dict(s), "curve": [_as_dict(c) for c in curve]}, indent=2))
        return 0 if s.feasible else 1
    scorer = "its scorecard" if args.model == "scorecard" else f"the {args.model} the backtest learned"
    print(f"{s.n} applications with an outcome, scored by {scorer} ({config.source}, policy {policy.id})")
    print("approval rate  bad rate among approvals  (approve when PD < cut-off)")
    for c in curve:
        print(f"  {c.approval_rate:6.1%}        {c.bad_rate_approved:6.2%}             cut-off {c.cutoff:.4f}")
    verdict = "meets both targets" if s.feasible else f"does NOT meet the targets: {s.note}"
    print(f"\nsuggested cut-offs ({verdict}):")
    print("  policy:\n    cutoffs:" if args.model == "scorecard" else "  models:\n    cutoffs:")
    print(f"      approve_below: {s.approve_below}\n      reject_at_or_above: {s.reject_at_or_above}")
    print(
        f"expected: approve {s.approval_rate:.1%} (bad rate {s.bad_rate_approved:.2%}), review {s.review_rate:.1%} "
        f"(bad rate {s.bad_rate_reviewed:.2%}), reject {s.reject_rate:.1%} (bad rate {s.bad_rate_rejected:.2%})"
    )
    return 0 if s.feasible else 1


def _online_pds(data: Path, config: Any, model: str) -> tuple[list[float], list[bool], list[Any]]:
    """An online model's decision-time PDs on the labelled applications decided once the champion decides,
    replaying the recorded stream offline as ``riskmon backtest`` does (it learns as the live learner)."""
    from riskmon.alerting.config import DEFAULTS
    from riskmon.audit.records import SCORECARD_PREFIX
    from riskmon.backtest.engine import run
    from riskmon.backtest.recorded import StreamFileError, load_stream
    from riskmon.schemas import Application

    try:
        events = load_stream(data)
    except (StreamFileError, OSError) as exc:
        raise PolicyCommandError(f"--model {model} needs a recorded stream: {exc}") from exc
    result = run(config, config.alerting or DEFAULTS, events)
    apps = {e.record.application_id: e.record for e in events if isinstance(e.record, Application)}
    spec = config.models.champion if model == "champion" else config.models.challenger
    pds: list[float] = []
    bad: list[bool] = []
    rows: list[Any] = []
    for decision in result.decisions:
        application_id = decision["application_id"]
        if str(decision["model_version"]).startswith(SCORECARD_PREFIX) or application_id not in result.labels:
            continue
        pd = result.scores.get(application_id, {}).get(spec.name)
        if pd is not None and application_id in apps:
            pds.append(pd)
            bad.append(result.labels[application_id])
            rows.append(apps[application_id])
    if not pds or all(bad) or not any(bad):
        raise PolicyCommandError(f"the {model} decided no labelled application with both outcomes in {data}")
    return pds, bad, rows


def _as_dict(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}
