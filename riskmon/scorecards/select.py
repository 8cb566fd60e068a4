"""Choose how a scorecard bins by cross-validation inside the fitting part: never on the hold-out.

Why: whether a characteristic's bad rate should be forced monotonic, or may
keep a peak or a valley, depends on the data. On the demo's Lending Club and
credit_data the monotonic card ranks better on the hold-out; on the
Taiwanese payment-status sample the card that may keep a peak ranks much
better (the April bill's effect is not monotonic). No rule of thumb on the
characteristics was right on all of them; asking the fitting data is.

:func:`fit_selected` splits the fitting part (the rows before the hold-out)
into ``folds`` consecutive blocks; for each candidate trend it fits a card on
all blocks but one and scores that one, and keeps the trend with the best
mean AUC over the blocks (ties: the monotonic one, the usual sign-off, listed
first). Then it fits the card with that trend on the whole fitting part, as
:func:`riskmon.scorecards.fit.fit_scorecard` does; the hold-out is scored
only by that final card. The cross-validated AUCs are kept in the result for
the report.
"""

from __future__ import annotations

from dataclasses import replace

from riskmon.scorecards.data import History
from riskmon.scorecards.fit import FitError, FitOptions, FitResult, fit_scorecard

__all__ = ["SELECT", "TRENDS", "cross_validated_auc", "fit_selected"]

#: The ``trend`` that asks for the choice.
SELECT = "select"
#: The candidates, in order of preference on a tie.
TRENDS = ("auto_asc_desc", "auto")


def _reordered(history: History, rows: list[int]) -> History:
    return History(
        columns={ref: [values[i] for i in rows] for ref, values in history.columns.items()},
        bad=[history.bad[i] for i in rows],
    )


def cross_validated_auc(history: History, options: FitOptions, n_fit: int, folds: int = 4) -> float:
    """Mean AUC over ``folds`` consecutive blocks of the first ``n_fit`` rows, each scored by a card
    fitted on the other blocks (``options.holdout`` is ignored)."""
    edges = [n_fit * k // folds for k in range(folds + 1)]
    aucs = []
    for k in range(folds):
        block = list(range(edges[k], edges[k + 1]))
        rest = [i for i in range(n_fit) if not edges[k] <= i < edges[k + 1]]
        fold = _reordered(history, rest + block)
        result = fit_scorecard(fold, replace(options, holdout=len(block) / len(fold)))
        aucs.append(result.holdout_metrics["auc"])
    return sum(aucs) / len(aucs)


def fit_selected(history: History, options: FitOptions, folds: int = 4) -> FitResult:
    """:func:`fit_scorecard` with the trend of :data:`TRENDS` that cross-validates best on the fitting part.

    With ``options.trend`` other than :data:`SELECT` it is plain
    :func:`fit_scorecard`. A candidate whose fold fits fail (too few rows in
    a fold) is skipped; if all fail, the monotonic trend is used.
    """
    if options.trend != SELECT:
        return fit_scorecard(history, options)
    n_fit = int(round(len(history) * (1.0 - options.holdout)))
    scores: dict[str, float] = {}
    for trend in TRENDS:
        try:
            scores[trend] = cross_validated_auc(history, replace(options, trend=trend), n_fit, folds)
        except FitError:
            continue
    chosen = max(scores, key=lambda t: (scores[t], -TRENDS.index(t))) if scores else TRENDS[0]
    result = fit_scorecard(history, replace(options, trend=chosen))
    result.selection = {f"cv_auc_{trend}": round(auc, 4) for trend, auc in scores.items()}
    return result
