"""Choose how a scorecard bins and regularises by cross-validation inside the fitting part, never on the hold-out.

Why: whether a characteristic's bad rate should be forced monotonic, or may
keep a peak or a valley, depends on the data. On the demo's Lending Club and
credit_data the monotonic card ranks better on the hold-out; on the
Taiwanese payment-status sample the card that may keep a peak ranks much
better (the April bill's effect is not monotonic). No rule of thumb on the
characteristics was right on all of them; asking the fitting data is. The
same holds for two more settings: whether neighbouring bins must differ
significantly (p < 0.05, fewer and coarser bins) or not, and how strongly the
final regression is regularised (``C`` 1 or 0.1).

:func:`fit_selected` splits the fitting part (the rows before the hold-out)
into ``folds`` consecutive blocks; for each candidate of :data:`GRID` it fits
a card on all blocks but one and scores that one, and keeps the candidate
with the best mean AUC over the blocks (ties: the earlier one, the usual
sign-off first). Then it fits the card with those settings on the whole
fitting part, as :func:`riskmon.scorecards.fit.fit_scorecard` does; the
hold-out is scored only by that final card. The cross-validated AUCs are
kept in the result for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from riskmon.scorecards.data import History
from riskmon.scorecards.fit import FitError, FitOptions, FitResult, fit_scorecard

__all__ = ["SELECT", "GRID", "candidate_name", "cross_validated_auc", "fit_selected"]

#: The ``trend`` that asks for the choice.
SELECT = "select"
#: The candidates (trend, significance between neighbouring bins, regularisation C), in order of
#: preference on a tie: monotonic bins, tested neighbours and C = 1 (the usual sign-off) first.
GRID: tuple[tuple[str, float | None, float], ...] = tuple(
    (trend, pvalue, c) for trend in ("auto_asc_desc", "auto") for pvalue in (0.05, None) for c in (1.0, 0.1)
)


def candidate_name(trend: str, pvalue: float | None, c: float) -> str:
    """``monotonic p<0.05 C=1``: a candidate as the report and the YAML name it."""
    shape = "monotonic" if trend == "auto_asc_desc" else "peak/valley"
    return f"{shape} {'p<' + format(pvalue, 'g') if pvalue is not None else 'untested'} C={c:g}"


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


def fit_selected(
    history: History,
    options: FitOptions,
    folds: int = 4,
    progress: Callable[[str, float], None] | None = None,
) -> FitResult:
    """:func:`fit_scorecard` with the candidate of :data:`GRID` that cross-validates best on the fitting part.

    With ``options.trend`` other than :data:`SELECT` it is plain
    :func:`fit_scorecard`. A candidate whose fold fits fail (too few rows in
    a fold) is skipped; if all fail, the first candidate is used.
    ``progress`` is told each candidate's name and AUC as it is measured.
    """
    if options.trend != SELECT:
        return fit_scorecard(history, options)
    n_fit = int(round(len(history) * (1.0 - options.holdout)))
    scores: dict[int, float] = {}
    for i, (trend, pvalue, c) in enumerate(GRID):
        candidate = replace(options, trend=trend, max_pvalue=pvalue, regularisation=c)
        try:
            scores[i] = cross_validated_auc(history, candidate, n_fit, folds)
        except FitError:
            continue
        if progress is not None:
            progress(candidate_name(trend, pvalue, c), scores[i])
    best = max(scores, key=lambda i: (scores[i], -i)) if scores else 0
    trend, pvalue, c = GRID[best]
    result = fit_scorecard(history, replace(options, trend=trend, max_pvalue=pvalue, regularisation=c))
    result.selection = {candidate_name(*GRID[i]): round(auc, 4) for i, auc in scores.items()}
    return result
