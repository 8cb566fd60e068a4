"""Fit a points scorecard: optimal binning, weight of evidence, logistic regression, points.

The steps a credit-risk team signs off, in order:

1. split the history in file order: the first part fits, the last
   ``holdout`` share is only ever scored (the fit never sees it);
2. bin each characteristic with optbinning's optimal binning (numeric:
   monotonic bad rate, ascending or descending as the data says; categorical:
   values grouped by bad rate, rare ones pooled); a missing value is a bin of
   its own; declared ratios (``FitOptions.ratios``, :mod:`riskmon.scorecards.ratios`)
   are derived row by row first and binned like the others;
3. weight of evidence per bin, ``ln(share of bads / share of goods)`` (with
   0.5 added to each count so an empty side stays finite; positive = riskier),
   and information value per characteristic; characteristics under
   ``min_iv`` are dropped as weak;
4. logistic regression on the weights of evidence; a characteristic whose
   coefficient comes out negative (it then scores against its own bins, a
   sign of collinearity) is dropped and the regression refitted;
5. points: ``points = -(b * WoE + a / n) * factor + offset / n`` per bin, so
   the total is the scaled log-odds of a good loan (see
   :mod:`riskmon.scorecard_points`);
6. Gini, KS, AUC and Brier score of the points scorecard itself on the hold-out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from riskmon.models.reasons import ReasonEntry, entry_for
from riskmon.ratio_fields import split_ratio
from riskmon.scorecard_points import Characteristic, PointsScorecard
from riskmon.scorecards.data import History
from riskmon.scorecards.ratios import ratio_column, with_ratios

__all__ = [
    "FitOptions",
    "BinReport",
    "CharacteristicReport",
    "FitResult",
    "FitError",
    "fit_scorecard",
    "discrimination",
]


class FitError(ValueError):
    """The history cannot give a scorecard (too small, nothing predictive); one line."""


@dataclass(frozen=True)
class FitOptions:
    """How to fit; the defaults are the usual ones (PDO 20, 600 points at 50:1 good:bad odds)."""

    holdout: float = 0.3
    min_iv: float = 0.02
    points_to_double_the_odds: float = 20.0
    base_points: float = 600.0
    base_odds: float = 50.0
    min_bin_share: float = 0.05  # a bin holds at least this share of the fitting rows
    max_bins: int = 8
    # bad rate against a numeric value: "auto_asc_desc" (monotonic, the usual sign-off), or "auto"
    # (optbinning may also choose a peak or a valley, when the data says so)
    trend: str = "auto_asc_desc"
    max_pvalue: float | None = (
        0.05  # neighbouring bins' bad rates must differ at this significance (no bins from noise)
    )
    regularisation: float = 1.0  # scikit-learn's C: inverse L2 strength
    # declared ratio characteristics, ``amount/features.goods_price`` (riskmon.scorecards.ratios)
    ratios: tuple[str, ...] = ()


@dataclass
class BinReport:
    """One bin of a characteristic: its label, counts, weight of evidence and points."""

    label: str
    count: int
    bads: int
    woe: float
    iv: float
    points: float = 0.0

    @property
    def bad_rate(self) -> float:
        return self.bads / self.count if self.count else 0.0


@dataclass
class CharacteristicReport:
    """What the fit found for one characteristic, kept or not, and why."""

    field: str
    code: str
    description: str
    numeric: bool
    iv: float
    bins: list[BinReport]
    kept: bool = False
    dropped_because: str = ""
    coefficient: float = 0.0


@dataclass
class FitResult:
    """The fitted scorecard, every characteristic's report, and the hold-out evidence."""

    card: PointsScorecard
    characteristics: list[CharacteristicReport]
    options: FitOptions
    n_fit: int
    n_holdout: int
    bad_rate_fit: float
    bad_rate_holdout: float
    fit_metrics: dict[str, float]
    holdout_metrics: dict[str, float]
    roc: list[tuple[float, float]] = field(default_factory=list)
    #: cross-validated AUC per candidate, when the settings were chosen (riskmon.scorecards.select)
    selection: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """How it was fitted, for the configuration's ``fitted`` block."""
        return {
            "rows_fit": self.n_fit,
            "rows_holdout": self.n_holdout,
            "holdout_gini": round(self.holdout_metrics["gini"], 4),
            "holdout_ks": round(self.holdout_metrics["ks"], 4),
            "holdout_auc": round(self.holdout_metrics["auc"], 4),
            "min_information_value": self.options.min_iv,
            "trend": self.options.trend,
            "max_pvalue": self.options.max_pvalue,
            "regularisation": self.options.regularisation,
            **({"ratios": list(self.options.ratios)} if self.options.ratios else {}),
            **({"chosen_by_cross_validation": self.selection} if self.selection else {}),
        }


# -- binning -------------------------------------------------------------------------


@dataclass
class _Binned:
    """A characteristic's bins on the fitting rows: index per row and the bin layout."""

    index: np.ndarray  # bin index per fitting row (the last index: missing)
    uppers: list[float]  # numeric: bounds; empty for categorical
    groups: list[list[str]]  # categorical: the values of each bin
    other: int | None  # categorical: the bin of values pooled as rare (unseen values score like it), if any
    labels: list[str]


def _numeric(values: Sequence[float | str | None]) -> bool:
    return all(v is None or isinstance(v, float) for v in values)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _bin_numeric(name: str, values: Sequence[float | str | None], y: np.ndarray, opts: FitOptions) -> _Binned:
    from optbinning import OptimalBinning

    x = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    present = ~np.isnan(x)
    binning = OptimalBinning(
        name=name,
        dtype="numerical",
        monotonic_trend=opts.trend,
        solver="cp",
        min_bin_size=opts.min_bin_share,
        max_n_bins=opts.max_bins,
        max_pvalue=opts.max_pvalue,
    )
    binning.fit(x[present], y[present])
    uppers = [float(s) for s in binning.splits] if binning.status in ("OPTIMAL", "FEASIBLE") else []
    n_bins = len(uppers) + 1
    index = np.full(len(x), n_bins, dtype=int)  # missing
    index[present] = np.searchsorted(np.array(uppers), x[present], side="right")
    bounds = [-math.inf, *uppers, math.inf]
    labels = [f"[{_fmt(bounds[i])}, {_fmt(bounds[i + 1])})" for i in range(n_bins)] + ["missing"]
    return _Binned(index, uppers, [], None, labels)


def _bin_categorical(name: str, values: Sequence[float | str | None], y: np.ndarray, opts: FitOptions) -> _Binned:
    from optbinning import OptimalBinning

    text = [None if v is None else (v if isinstance(v, str) else _fmt(v)) for v in values]
    present = np.array([t is not None for t in text])
    x = np.array([t for t in text if t is not None], dtype=object)
    binning = OptimalBinning(
        name=name,
        dtype="categorical",
        solver="cp",
        cat_cutoff=opts.min_bin_share,
        max_n_bins=opts.max_bins,
        max_pvalue=opts.max_pvalue,
    )
    binning.fit(x, y[present])
    groups = [sorted(str(v) for v in g) for g in binning.splits] if binning.status in ("OPTIMAL", "FEASIBLE") else []
    where = {v: i for i, g in enumerate(groups) for v in g}
    seen = {str(v) for v in x}
    rare = sorted(seen - set(where))
    other: int | None = None
    if rare:  # optbinning pools values under cat_cutoff: they are a bin of their own here
        other = len(groups)
        groups.append(rare)
        where.update({v: other for v in rare})
    missing = len(groups)
    index = np.array([missing if t is None else where[t] for t in text], dtype=int)
    labels = [", ".join(g) if len(g) <= 6 else f"{', '.join(g[:5])} and {len(g) - 5} more" for g in groups]
    if other is not None:
        labels[other] = f"rare: {labels[other]}"
    return _Binned(index, [], groups, other, [*labels, "missing"])


def _woe_table(binned: _Binned, y: np.ndarray) -> list[BinReport]:
    n_bins = len(binned.labels)
    bads = np.bincount(binned.index, weights=y, minlength=n_bins)
    counts = np.bincount(binned.index, minlength=n_bins)
    total_bad, total_good = float(y.sum()), float(len(y) - y.sum())
    rows: list[BinReport] = []
    for i in range(n_bins):
        b, n = float(bads[i]), int(counts[i])
        if n == 0:
            rows.append(BinReport(binned.labels[i], 0, 0, 0.0, 0.0))
            continue
        bad_share, good_share = (b + 0.5) / (total_bad + 0.5), (n - b + 0.5) / (total_good + 0.5)
        woe = math.log(bad_share / good_share)
        rows.append(BinReport(binned.labels[i], n, int(b), woe, (bad_share - good_share) * woe))
    return rows


# -- regression and points -------------------------------------------------------------


def _ratio_entry(numerator: str, denominator: str) -> ReasonEntry:
    """``RATIO_AMOUNT_TO_GOODS_PRICE``, "amount is high relative to goods_price": a declared ratio's reason."""
    top, bottom = numerator.removeprefix("features."), denominator.removeprefix("features.")
    slug = "".join(c if c.isalnum() else "_" for c in f"{top}_TO_{bottom}".upper())
    return ReasonEntry(
        f"RATIO_{slug}"[:64].rstrip("_"),
        f"{top} / {bottom}",
        high=f"{top} is high relative to {bottom}",
        low=f"{top} is low relative to {bottom}",
    )


def _code_and_text(ref: str, numeric: bool, rows: list[BinReport], used: set[str]) -> tuple[str, str]:
    """A reason code (unique in the card) and the adverse-action text of a characteristic."""
    name = ref.removeprefix("features.")
    parts = split_ratio(ref)
    entry = entry_for(name) if parts is None else _ratio_entry(*parts)
    code = entry.code
    if code in used:
        code = f"{code}_{name.upper()}"[:64]
        code = "".join(c if c.isalnum() else "_" for c in code).upper()
    used.add(code)
    if not numeric:
        return code, entry.label
    woes = [r.woe for r in rows[:-1] if r.count]  # risk rises with the value when the last bins are riskier
    rising = len(woes) < 2 or woes[-1] >= woes[0]
    return code, entry.describe(1 if rising else -1)


def _fit_logistic(matrix: np.ndarray, y: np.ndarray, c: float) -> tuple[float, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(matrix, y)
    return float(model.intercept_[0]), model.coef_[0].copy()


def discrimination(pds: Sequence[float], bad: Sequence[bool]) -> dict[str, float]:
    """AUC, Gini (2 AUC - 1), KS and Brier score of PDs against outcomes."""
    from sklearn.metrics import roc_auc_score, roc_curve

    p, y = np.asarray(pds, dtype=float), np.asarray(bad, dtype=int)
    auc = float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": float(np.max(tpr - fpr)),
        "brier": float(np.mean((p - y) ** 2)),
        "mean_pd": float(p.mean()),
        "bad_rate": float(y.mean()),
    }


def _roc_points(pds: Sequence[float], bad: Sequence[bool]) -> list[tuple[float, float]]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(bad, dtype=int), np.asarray(pds, dtype=float))
    step = max(1, len(fpr) // 200)
    points = [(float(fpr[i]), float(tpr[i])) for i in range(0, len(fpr), step)]
    return [*points, (1.0, 1.0)]


def _column(history: History, ref: str) -> list[float | str | None] | None:
    """The values of ``ref`` in ``history``: its column, a ratio derived from its two columns, or None (missing)."""
    column = history.columns.get(ref)
    if column is None and (parts := split_ratio(ref)) is not None and all(p in history.columns for p in parts):
        column = ratio_column(history, ref)
    return column


def score_rows(card: PointsScorecard, history: History, rows: range) -> list[float]:
    """The PD the card gives each of ``rows`` of ``history`` (what the policy would give; a ratio
    characteristic the history lacks is derived from its two columns, as the policy reads it)."""
    columns = [_column(history, ch.field) for ch in card.characteristics]

    def pd_of(i: int) -> float:
        total = 0.0
        for ch, column in zip(card.characteristics, columns, strict=True):
            value = None if column is None else column[i]
            if ch.numeric:
                total += ch.points_for(value if isinstance(value, float) else None)
            else:
                total += ch.points_for(_fmt(value) if isinstance(value, float) else value)
        return card.pd_of(total)

    return [pd_of(i) for i in rows]


def fit_scorecard(history: History, options: FitOptions | None = None) -> FitResult:
    """Fit a points scorecard on ``history`` (see the module docstring for the steps)."""
    opts = options or FitOptions()
    history = with_ratios(history, opts.ratios)
    n = len(history)
    n_fit = int(round(n * (1.0 - opts.holdout)))
    if n_fit < 200 or (opts.holdout > 0 and n - n_fit < 100):
        raise FitError(f"{n} applications with an outcome are too few (at least 200 to fit and 100 to hold out)")
    y = np.array(history.bad[:n_fit], dtype=float)
    if y.sum() < 20 or y.sum() > n_fit - 20:
        raise FitError(f"the fitting part has {int(y.sum())} bads of {n_fit}: too few of one kind to bin")

    reports: list[CharacteristicReport] = []
    binned: dict[str, _Binned] = {}
    used: set[str] = set()
    for ref in sorted(history.columns):
        values = history.columns[ref][:n_fit]
        present = [v for v in values if v is not None]
        if len(present) < opts.min_bin_share * n_fit or len(set(present)) < 2:
            continue  # nearly always missing, or constant: nothing to bin
        numeric = _numeric(values)
        b = (_bin_numeric if numeric else _bin_categorical)(ref, values, y.astype(int), opts)
        rows = _woe_table(b, y)
        code, text = _code_and_text(ref, numeric, rows, used)
        report = CharacteristicReport(ref, code, text, numeric, sum(r.iv for r in rows), rows)
        if len([r for r in rows if r.count]) < 2:
            report.dropped_because = "one bin only"
        elif report.iv < opts.min_iv:
            report.dropped_because = f"information value {report.iv:.4f} < {opts.min_iv}"
        else:
            report.kept = True
            binned[ref] = b
        reports.append(report)

    kept = [r for r in reports if r.kept]
    while True:
        if not kept:
            raise FitError(f"no characteristic has an information value of at least {opts.min_iv}")
        matrix = np.column_stack([np.array([r.bins[i].woe for i in binned[r.field].index]) for r in kept])
        intercept, coefs = _fit_logistic(matrix, y, opts.regularisation)
        wrong = [r for r, b in zip(kept, coefs, strict=True) if b <= 0]
        if not wrong:
            break
        for r in wrong:
            r.kept, r.dropped_because = False, "negative coefficient beside the others (collinear)"
        kept = [r for r in kept if r.kept]

    factor = opts.points_to_double_the_odds / math.log(2.0)
    offset = opts.base_points - factor * math.log(opts.base_odds)
    characteristics: list[Characteristic] = []
    for r, coef in zip(kept, coefs, strict=True):
        r.coefficient = float(coef)
        for row in r.bins:
            row.points = round(float(-(coef * row.woe + intercept / len(kept)) * factor + offset / len(kept)), 1)
        characteristics.append(_characteristic(r, binned[r.field]))
    card = PointsScorecard(
        characteristics=tuple(characteristics),
        points_to_double_the_odds=opts.points_to_double_the_odds,
        base_points=opts.base_points,
        base_odds=opts.base_odds,
    )
    fit_pds = score_rows(card, history, range(n_fit))
    hold_pds = score_rows(card, history, range(n_fit, n))
    hold_y = history.bad[n_fit:]
    return FitResult(
        card=card,
        characteristics=reports,
        options=opts,
        n_fit=n_fit,
        n_holdout=n - n_fit,
        bad_rate_fit=float(y.mean()),
        bad_rate_holdout=sum(hold_y) / max(len(hold_y), 1),
        fit_metrics=discrimination(fit_pds, history.bad[:n_fit]),
        holdout_metrics=discrimination(hold_pds, hold_y) if hold_y else {},
        roc=_roc_points(hold_pds, hold_y) if hold_y else [],
    )


def _characteristic(report: CharacteristicReport, binned: _Binned) -> Characteristic:
    points = [row.points for row in report.bins]
    missing = points[-1]
    neutral = round(float(np.average(points[:-1], weights=[max(r.count, 0) for r in report.bins[:-1]])), 1)
    if report.bins[-1].count == 0:
        missing = neutral  # never missing in fitting: a missing value scores as the average applicant
    if report.numeric:
        return Characteristic(
            report.code,
            report.description,
            report.field,
            True,
            tuple(binned.uppers),
            tuple(points[:-1]),
            {},
            missing,
            missing,
            report.iv,
        )
    categories = {value: points[i] for i, group in enumerate(binned.groups) for value in group}
    other = points[binned.other] if binned.other is not None else neutral
    return Characteristic(
        report.code, report.description, report.field, False, (), (), categories, missing, other, report.iv
    )
