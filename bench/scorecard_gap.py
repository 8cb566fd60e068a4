"""Why the fitted scorecard ranks below batch logistic regression on credit_data, and what closes the gap.

Every figure of docs/performance.md's paragraphs on the gap, in one run
(about 4 minutes on the 2-core machine)::

    python -m bench.scorecard_gap [--data credit_data]

1. settings tried for the card (each against the card of monotonic untested
   bins and C 1): hold-out AUC and the cross-validated AUC in the fitting half
   (the number :mod:`riskmon.scorecards.select` would choose by);
2. where the regression on raw inputs gains: regressions on the card's
   weights of evidence, with and without a linear term per numeric input,
   and hybrids of raw and binned inputs; univariate hold-out AUC of each
   numeric characteristic binned and raw; the raw regression's largest
   coefficients;
3. the declared ratios of :data:`bench.credit_baselines.RATIOS`: the card
   with them, and batch LR given them as inputs.

Everything is fitted on the first half and scored on the second, as
``bench.model_quality`` does; the hold-out never chooses anything here.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from typing import Any, cast

import numpy as np

from bench.credit_baselines import RATIOS, Inputs, batch_logistic, history_of, load_dataset
from riskmon.scorecard_points import Characteristic, PointsScorecard
from riskmon.scorecards.data import History
from riskmon.scorecards.fit import FitOptions, fit_scorecard, score_rows
from riskmon.scorecards.select import cross_validated_auc, fit_selected

BASE = FitOptions(holdout=0.5, trend="auto_asc_desc", max_pvalue=None, regularisation=1.0)


def _auc(y: Any, p: Any) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def settings_tried(history: History, half: int) -> None:
    """Hold-out and cross-validated AUC of the card under each setting tried."""
    variants: dict[str, tuple[FitOptions, History]] = {
        "monotonic untested C 1 (the reference)": (BASE, history),
        "C 10": (replace(BASE, regularisation=10.0), history),
        "bins >= 2%, up to 20": (replace(BASE, min_bin_share=0.02, max_bins=20), history),
        "bins >= 3%, up to 12": (replace(BASE, min_bin_share=0.03, max_bins=12), history),
        **{
            f"monotonic_trend {t}": (replace(BASE, trend=t), history)
            for t in ("auto", "peak", "valley", "convex", "concave")
        },
        "information value >= 0.05": (replace(BASE, min_iv=0.05), history),
        "information value >= 0.1": (replace(BASE, min_iv=0.1), history),
    }
    dropped = correlated(history, half, fit_scorecard(history, BASE))
    if dropped:
        variants["weaker of |rho| > 0.8 pairs dropped"] = (
            BASE,
            History({k: v for k, v in history.columns.items() if k not in dropped}, history.bad),
        )
    else:
        print("  no pair of numeric characteristics with Spearman |rho| > 0.8 in the fitting half")
    print(f"  {'setting':<42} {'hold-out':>8} {'cross-validated':>16}")
    for name, (options, h) in variants.items():
        cv = cross_validated_auc(h, options, half)
        print(f"  {name:<42} {fit_scorecard(h, options).holdout_metrics['auc']:>8.4f} {cv:>16.4f}", flush=True)


def correlated(history: History, half: int, fit: Any, limit: float = 0.8) -> set[str]:
    """The weaker (by information value) of each pair of numeric characteristics with |Spearman rho| > ``limit``."""
    from scipy.stats import spearmanr

    iv = {c.field: c.iv for c in fit.characteristics}
    numeric = [k for k, v in history.columns.items() if all(x is None or isinstance(x, float) for x in v[:half])]
    out = set()
    for i, a in enumerate(numeric):
        for b in numeric[i + 1 :]:
            va = np.array([np.nan if x is None else x for x in history.columns[a][:half]], dtype=float)
            vb = np.array([np.nan if x is None else x for x in history.columns[b][:half]], dtype=float)
            ok = ~np.isnan(va) & ~np.isnan(vb)
            rho = float(spearmanr(va[ok], vb[ok]).statistic)
            if abs(rho) > limit:
                out.add(a if iv.get(a, 0.0) < iv.get(b, 0.0) else b)
                print(f"  {a} ~ {b}: rho {rho:+.3f}")
    return out


def _raw(history: History, fields: list[str], n: int) -> list[dict[str, float]]:
    """One-hot categories, raw numbers, a ``__missing`` flag: what batch LR reads."""
    rows: list[dict[str, float]] = []
    for i in range(n):
        row: dict[str, float] = {}
        for f in fields:
            v = history.columns[f][i]
            if v is None:
                row[f"{f}__missing"] = 1.0
            elif isinstance(v, str):
                row[f"{f}={v}"] = 1.0
            else:
                row[f] = v
        rows.append(row)
    return rows


def _points(card: PointsScorecard, history: History, fields: list[str], n: int) -> list[dict[str, float]]:
    """Each characteristic's points per row (a linear map of its weight of evidence)."""
    chars = [c for c in card.characteristics if c.field in fields]
    return [{c.field: _points_of(c, history.columns[c.field][i]) for c in chars} for i in range(n)]


def _points_of(ch: Characteristic, value: float | str | None) -> float:
    """As :func:`riskmon.scorecards.fit.score_rows` reads a value."""
    if ch.numeric:
        return ch.points_for(value if isinstance(value, float) else None)
    return ch.points_for(format(value, ".4g") if isinstance(value, float) else value)


def _lr(rows: list[dict[str, float]], y: np.ndarray, half: int, c: float = 1.0) -> tuple[float, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    vec = DictVectorizer(sparse=False)
    train, test = vec.fit_transform(rows[:half]), vec.transform(rows[half:])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
    model.fit(train, y[:half])
    return _auc(y[half:], model.predict_proba(test)[:, 1]), (vec.feature_names_, model[-1].coef_[0])


def where_lr_gains(history: History, half: int) -> None:
    """Regressions on raw, binned and mixed inputs, univariate ranks, the raw regression's weights."""
    n = len(history)
    y = np.array(history.bad, dtype=int)
    fit = fit_scorecard(history, BASE)
    kept = [c.field for c in fit.card.characteristics]
    numeric = [c.field for c in fit.card.characteristics if c.numeric]
    categorical = [f for f in kept if f not in numeric]
    woe = _points(fit.card, history, kept, n)
    raw_kept = _raw(history, kept, n)
    raw_all, weights = _lr(_raw(history, sorted(history.columns), n), y, half)
    rows = {
        "the card itself": fit.holdout_metrics["auc"],
        "LR on every column the card may read (raw)": raw_all,
        "LR on the card's kept characteristics (raw)": _lr(raw_kept, y, half)[0],
        "LR on the card's weights of evidence": _lr(woe, y, half)[0],
        "LR on weights of evidence + a linear term per numeric": _lr(
            [
                {**w, **{f"raw {k}": v for k, v in r.items() if k in numeric}}
                for w, r in zip(woe, raw_kept, strict=True)
            ],
            y,
            half,
        )[0],
        "LR on raw numerics + categorical weights of evidence": _lr(
            [
                {**r, **w}
                for r, w in zip(_raw(history, numeric, n), _points(fit.card, history, categorical, n), strict=True)
            ],
            y,
            half,
        )[0],
        "LR on numeric weights of evidence + raw categories": _lr(
            [
                {**w, **r}
                for w, r in zip(_points(fit.card, history, numeric, n), _raw(history, categorical, n), strict=True)
            ],
            y,
            half,
        )[0],
    }
    for name, auc in rows.items():
        print(f"  {name:<56} {auc:.4f}")
    print("  univariate AUC, binned (the card's points) against the raw value (its sign from the fitting half):")
    print(f"    {'characteristic':<32} {'binned':>7} {'raw':>7}   fitting half: {'binned':>7} {'raw':>7}")
    for f in numeric:
        points = -np.array([r[f] for r in _points(fit.card, history, [f], n)])
        v = np.array([np.nan if x is None else x for x in history.columns[f]], dtype=float)
        v = np.where(np.isnan(v), np.nanmedian(v[:half]), v)
        sign = 1.0 if _auc(y[:half], v[:half]) >= 0.5 else -1.0
        print(
            f"    {f:<32} {_auc(y[half:], points[half:]):>7.4f} {_auc(y[half:], sign * v[half:]):>7.4f}   "
            f"{'':>14}{_auc(y[:half], points[:half]):>7.4f} {_auc(y[:half], sign * v[:half]):>7.4f}"
        )
    names, coefs = weights
    top = sorted(zip(names, coefs, strict=True), key=lambda t: -abs(t[1]))[:6]
    print("  batch LR's largest weights (per standard deviation): " + ", ".join(f"{k} {c:+.3f}" for k, c in top))


def declared_ratios(name: str, xs: list[Inputs], ys: list[bool], history: History, half: int) -> None:
    """The card with the data set's declared ratios (one at a time and all), and batch LR given them."""
    from bench.model_quality import measures
    from riskmon.ratio_fields import ratio_of, split_ratio

    ratios = RATIOS.get(name, ())
    if not ratios:
        print("  none declared for this data set")
        return
    y = np.array(ys, dtype=int)
    for ref in ratios:
        parts = split_ratio(ref)
        assert parts is not None
        values = [
            ratio_of(a if isinstance(a, float) else None, b if isinstance(b, float) else None)
            for a, b in zip(history.columns[parts[0]], history.columns[parts[1]], strict=True)
        ]
        v = np.array([np.nan if x is None else x for x in values], dtype=float)
        ok = ~np.isnan(v)
        print(
            f"  {ref}: alone, univariate AUC {_auc(y[:half][ok[:half]], v[:half][ok[:half]]):.4f} in the fitting half, "
            f"{_auc(y[half:][ok[half:]], v[half:][ok[half:]]):.4f} on the hold-out"
        )
    sets = [(r,) for r in ratios] + ([ratios] if len(ratios) > 1 else [])
    for chosen in ((), *sets):
        result = fit_selected(history, FitOptions(holdout=0.5, trend="select", ratios=chosen))
        best = max(result.selection, key=result.selection.__getitem__)
        auc = _auc(y[half:], score_rows(result.card, history, range(half, len(ys))))
        print(
            f"  card (--trend select) with ratios {', '.join(chosen) or '(none)'}: hold-out {auc:.4f}, "
            f"cross-validated {result.selection[best]:.4f} ({best})",
            flush=True,
        )

    def with_inputs(x: Inputs) -> Inputs:
        out = dict(x)
        for ref in ratios:
            a, b = (p.removeprefix("features.") for p in ref.split("/"))
            value = ratio_of(
                float(out[a]) if isinstance(out.get(a), float) else None,
                float(out[b]) if isinstance(out.get(b), float) else None,
            )
            if value is not None:
                out[f"ratio {a}/{b}"] = value
        return out

    plain = measures(batch_logistic(xs, ys, half), ys[half:])["auc"]
    given = measures(batch_logistic([with_inputs(x) for x in xs], ys, half), ys[half:])["auc"]
    print(f"  batch LR: {plain:.4f}; given the declared ratios as inputs too: {given:.4f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="credit_data", help="a data set of bench.credit_baselines")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    loaded, ys = load_dataset(args.data)
    xs = cast(list[Inputs], loaded)
    half = len(ys) // 2
    history = history_of(xs, ys)
    print(f"data={args.data} n={len(ys)} first half fits, second half scores")
    print("\n1. settings tried:")
    settings_tried(history, half)
    print("\n2. where batch logistic regression gains (hold-out AUC):")
    where_lr_gains(history, half)
    print("\n3. declared ratios:")
    declared_ratios(args.data, xs, ys, history, half)


if __name__ == "__main__":
    main()
