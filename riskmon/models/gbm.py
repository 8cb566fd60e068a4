"""A gradient-boosted (LightGBM) challenger, refitted by the learner on a sliding window.

Why: a logistic regression, even on binned inputs, misses interactions and
steps that batch gradient boosting finds (payment-status codes, utilisation).
Boosting does not learn one label at a time, so this model keeps a bounded
sliding window of labelled feature snapshots (the same inputs the other
models learn from) and every ``refit_every`` labels, once the window holds
``min_class`` labels of each class, is refitted from it: 100 small trees,
one thread.

Where the work happens:

* :meth:`GbmCreditModel.learn_many` only appends to the window (cheap, O(1));
* the refit, :func:`fit_window`, is a pure function of a copy of the window:
  the live learner runs it in a background thread and installs the result
  between two batches (:mod:`riskmon.learning.learner`), the offline backtest
  calls :meth:`GbmCreditModel.refit` in line;
* while it is the challenger, the learner scores it prequentially, on each
  label's inputs before learning them (``judged_in_learner``): scorers on the
  decision path skip it, so it costs the decision path nothing;
* once promoted to champion the scorers score it, and its reasons come from
  LightGBM's per-prediction contributions (``pred_contrib``, SHAP values in
  log-odds, relative to the average training applicant), summed per reason
  code like the linear model's terms.

The published snapshot holds the fitted trees as LightGBM's model text
(``model_to_string``: bounded by the tree count and size) and the encoding,
not the window; the learner's own saved state keeps the window. LightGBM is
imported lazily, the first time a model is fitted or scores, so a worker
that never scores a GBM never imports it.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskmon.models import snapshots
from riskmon.models.features import LENDER_PRICING, MISSING_SUFFIX, ONE_HOT_SEP
from riskmon.models.online import DEFAULT_PRIOR_PD
from riskmon.models.reasons import base_name, entry_for, reason_for

__all__ = ["FAMILY", "GbmCreditModel", "GbmFit", "fit_window"]

#: ``params: {family: lightgbm}`` in a model's configuration selects this model.
FAMILY = "lightgbm"

Inputs = Mapping[str, float | str]


@dataclass(frozen=True, slots=True)
class GbmFit:
    """One refit's result: the trees and the encoding they were fitted on.

    ``numeric`` and ``categorical`` name the columns in order (numeric first);
    ``codes`` maps each categorical field's values to LightGBM category codes;
    ``medians`` are the numeric columns' medians in the window (a reason
    says "high" above, "low" below).
    """

    model_text: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    codes: Mapping[str, Mapping[str, int]]
    medians: Mapping[str, float]
    n_rows: int
    n_bad: int

    def matrix(self, xs: Sequence[Inputs]) -> Any:
        """The inputs as LightGBM's float matrix: absent values and unseen categories are NaN."""
        import numpy as np

        nan = math.nan
        numeric, categorical, codes = self.numeric, self.categorical, self.codes
        rows = []
        for x in xs:
            row = []
            for key in numeric:
                value = x.get(key)
                row.append(float(value) if value is not None and not isinstance(value, str) else nan)
            for key in categorical:
                code = codes[key].get(x.get(key), -1)  # type: ignore[arg-type]
                row.append(float(code) if code >= 0 else nan)
            rows.append(row)
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(numeric) + len(categorical))


def _usable(key: str, skip: frozenset[str]) -> bool:
    """Model inputs the GBM reads: not left out, not a missing flag (an absent value is NaN)."""
    return not key.endswith(MISSING_SUFFIX) and base_name(key) not in skip


def fit_window(
    rows: Sequence[Inputs],
    labels: Sequence[bool],
    *,
    n_estimators: int,
    num_leaves: int,
    learning_rate: float,
    min_child_samples: int,
    max_categories: int,
    exclude: Iterable[str],
    seed: int,
) -> GbmFit:
    """Fit LightGBM (one thread, deterministic) on labelled inputs; pure, so it may run in any thread."""
    import lightgbm as lgb
    import numpy as np

    skip = frozenset(exclude)
    numeric_keys: set[str] = set()
    counts: dict[str, dict[str, int]] = {}
    for x in rows:
        for key, value in x.items():
            if not _usable(key, skip):
                continue
            if isinstance(value, str):
                field = counts.setdefault(key, {})
                field[value] = field.get(value, 0) + 1
            else:
                numeric_keys.add(key)
    numeric = tuple(sorted(numeric_keys - counts.keys()))
    categorical = tuple(sorted(counts))
    codes = {}
    for key in categorical:  # the most frequent values, ties by value: deterministic
        kept = sorted(counts[key].items(), key=lambda item: (-item[1], item[0]))[:max_categories]
        codes[key] = {value: i for i, (value, _) in enumerate(sorted(kept))}
    draft = GbmFit("", numeric, categorical, codes, {}, len(rows), sum(map(bool, labels)))
    matrix = draft.matrix(rows)
    medians = {}
    for i, key in enumerate(numeric):
        column = matrix[:, i]
        column = column[~np.isnan(column)]
        medians[key] = float(np.median(column)) if column.size else 0.0
    booster = lgb.train(
        {
            "objective": "binary",
            "learning_rate": learning_rate,
            "num_leaves": num_leaves,
            "min_data_in_leaf": min_child_samples,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "seed": seed,
            "verbose": -1,
        },
        lgb.Dataset(
            matrix,
            label=np.asarray(labels, dtype=np.float64),
            feature_name=[f"f{i}" for i in range(matrix.shape[1])],
            categorical_feature=list(range(len(numeric), matrix.shape[1])) or "auto",
            free_raw_data=True,
        ),
        num_boost_round=n_estimators,
    )
    return GbmFit(booster.model_to_string(), numeric, categorical, codes, medians, draft.n_rows, draft.n_bad)


class GbmCreditModel(snapshots.Snapshotted):
    """PD model of LightGBM trees refitted on a sliding window of labels.

    Parameters
    ----------
    name
        Model name, the prefix of :attr:`version`.
    window
        Labels kept for refits (the most recent).
    refit_every
        Labels between two refits (the first one too).
    min_class
        Bads and goods the window must hold before a refit.
    n_estimators, num_leaves, learning_rate, min_child_samples
        LightGBM's trees: small on purpose (bounded snapshot, fast refit).
    prior_pd
        PD scored before the first refit.
    exclude, max_categories, seed
        As the online model: inputs never used, category values kept per field, and the seed.

    >>> model = GbmCreditModel(refit_every=200, min_class=20, n_estimators=20)
    >>> xs = [{"util": float(i % 100)} for i in range(400)]
    >>> model.learn_many(xs, [abs(x["util"] - 50) > 35 for x in xs])  # a U: risky at both ends
    >>> model.refit_due, model.predict_proba_one({"util": 5.0}) == model.prior_pd  # not fitted yet
    (True, True)
    >>> model.refit()
    >>> low, mid, high = model.predict_proba_many([{"util": 5.0}, {"util": 50.0}, {"util": 95.0}])
    >>> min(low, high) > 0.5 > mid, model.version
    (True, 'gbm-n400-r1')
    """

    #: Scorers skip it while it is the challenger; the learner judges it (see the module docstring).
    judged_in_learner = True

    def __init__(
        self,
        *,
        name: str = "gbm",
        window: int = 5000,
        refit_every: int = 500,
        min_class: int = 50,
        n_estimators: int = 100,
        num_leaves: int = 15,
        learning_rate: float = 0.05,
        min_child_samples: int = 20,
        prior_pd: float = DEFAULT_PRIOR_PD,
        exclude: Iterable[str] = LENDER_PRICING,
        max_categories: int = 64,
        seed: int = 42,
    ) -> None:
        if not 0.0 < prior_pd < 1.0:
            raise ValueError(f"prior_pd: must be in (0, 1), got {prior_pd!r}")
        if min(window, refit_every, min_class, n_estimators, min_child_samples, max_categories) < 1:
            raise ValueError("window, refit_every, min_class, n_estimators, min_child_samples, max_categories: >= 1")
        if not 2 <= num_leaves <= 1024 or not 0.0 < learning_rate <= 1.0:
            raise ValueError(f"num_leaves in [2, 1024], learning_rate in (0, 1]: got {num_leaves}, {learning_rate}")
        if window < 2 * min_class:
            raise ValueError(f"window ({window}) must hold at least 2 * min_class ({min_class}) labels")
        self.name = name
        self.window_size = window
        self.refit_every = refit_every
        self.min_class = min_class
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.prior_pd = prior_pd
        self.exclude = tuple(exclude)
        self.max_categories = max_categories
        self.seed = seed
        self.window: deque[tuple[Inputs, bool]] = deque(maxlen=window)
        self.window_bad = 0
        self.n_learned = 0
        self.n_bad = 0
        self.since_refit = 0
        self.refits = 0
        self.fit: GbmFit | None = None
        self._booster: Any = None

    # -- parameters, identity, snapshots ---------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """The configuration's parameters: ``make_model(name, params)`` builds a fresh clone."""
        return {
            "family": FAMILY,
            "window": self.window_size,
            "refit_every": self.refit_every,
            "min_class": self.min_class,
            "n_estimators": self.n_estimators,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "prior_pd": self.prior_pd,
            "exclude": self.exclude,
            "max_categories": self.max_categories,
            "seed": self.seed,
        }

    def fit_params(self) -> dict[str, Any]:
        """The keyword arguments of :func:`fit_window`."""
        return {
            "n_estimators": self.n_estimators,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "max_categories": self.max_categories,
            "exclude": self.exclude,
            "seed": self.seed,
        }

    @property
    def version(self) -> str:
        """``<name>-n<labels learned>-r<refits>``: the trees change only with a refit."""
        return f"{self.name}-n{self.n_learned}-r{self.refits}"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_booster"] = None  # a C handle: rebuilt from the model text on first use
        return state

    def snapshot(self) -> bytes:
        """What scorers need, as canonical bytes: the trees and the encoding, not the window."""
        window = self.window
        self.window = deque(maxlen=self.window_size)
        try:
            return snapshots.dump(self)
        finally:
            self.window = window

    # -- learning and refits -----------------------------------------------------------

    def learn_many(self, xs: Sequence[Inputs], ys: list[bool]) -> None:
        """Add labels to the window; the trees change only with the next refit."""
        if len(xs) != len(ys):
            raise ValueError(f"learn_many: {len(xs)} inputs but {len(ys)} labels")
        window = self.window
        for x, y in zip(xs, ys, strict=True):
            if len(window) == window.maxlen:
                self.window_bad -= window[0][1]
            window.append((dict(x), bool(y)))
            self.window_bad += bool(y)
            self.n_bad += bool(y)
        self.n_learned += len(xs)
        self.since_refit += len(xs)

    @property
    def refit_due(self) -> bool:
        """``refit_every`` labels since the last refit, and both classes well enough in the window."""
        goods = len(self.window) - self.window_bad
        return self.since_refit >= self.refit_every and min(self.window_bad, goods) >= self.min_class

    def refit_job(self) -> Callable[[], GbmFit]:
        """The refit as a function of a copy of the window, for any thread (:mod:`riskmon.models.refits`);
        counting starts again for the next refit."""
        self.since_refit = 0
        rows, labels = [x for x, _ in self.window], [y for _, y in self.window]
        return functools.partial(fit_window, rows, labels, **self.fit_params())

    def install(self, fit: GbmFit) -> None:
        """Score with ``fit`` from now on (on the learner, between two batches)."""
        self.fit = fit
        self._booster = None
        self.refits += 1

    def refit(self) -> None:
        """Refit in line (offline use: the backtest, the benchmark, tests)."""
        self.install(self.refit_job()())

    # -- scoring and reasons ---------------------------------------------------------------

    def _model(self) -> Any:
        if self._booster is None:
            import lightgbm as lgb

            assert self.fit is not None
            self._booster = lgb.Booster(model_str=self.fit.model_text)
        return self._booster

    def predict_proba_many(self, xs: Sequence[Inputs]) -> list[float]:
        """PD of each input; the prior before the first refit."""
        if self.fit is None or not xs:
            return [self.prior_pd] * len(xs)
        return [float(p) for p in self._model().predict(self.fit.matrix(xs), num_threads=1)]

    def predict_proba_one(self, x: Inputs) -> float:
        """PD of one input."""
        return self.predict_proba_many([x])[0]

    def contributions_many(self, xs: Sequence[Inputs]) -> list[dict[str, float]]:
        """Per input, each field's effect on the log-odds (LightGBM's ``pred_contrib``, zeros left out)."""
        if self.fit is None or not xs:
            return [{} for _ in xs]
        fit = self.fit
        names = (*fit.numeric, *fit.categorical)
        matrix = self._model().predict(fit.matrix(xs), pred_contrib=True, num_threads=1)
        return [{name: float(c) for name, c in zip(names, row[:-1], strict=True) if c} for row in matrix]

    def explain_many(self, xs: Sequence[Inputs], *, top: int = 4) -> list[list[tuple[str, str, float]]]:
        """The factors that raised each input's PD, as ``(code, description, share)``.

        Contributions are summed per reason code; codes whose sum is positive
        are ranked by it and given their share of the positive total (rounded
        down to 4 decimals), as the online model's reasons are.
        """
        if self.fit is None or top <= 0:
            return [[] for _ in xs]
        medians = self.fit.medians
        out = []
        for x, terms in zip(xs, self.contributions_many(xs), strict=True):
            totals: dict[str, float] = {}
            lead: dict[str, tuple[float, str]] = {}
            for field, term in terms.items():
                code = _code(field)
                totals[code] = totals.get(code, 0.0) + term
                if code not in lead or term > lead[code][0]:
                    lead[code] = (term, field)
            positive = {code: total for code, total in totals.items() if total > 0}
            whole = sum(positive.values())
            ranked = sorted(positive.items(), key=lambda item: (-item[1], item[0]))[:top]
            out.append([(code, _describe(lead[code][1], x, medians), _share(t, whole)) for code, t in ranked])
        return out

    def explain_one(self, x: Inputs, *, top: int = 4) -> list[tuple[str, str, float]]:
        """:meth:`explain_many` of one input."""
        return self.explain_many([x], top=top)[0]


def _describe(field: str, x: Inputs, medians: Mapping[str, float]) -> str:
    """The description of ``field`` for this applicant's own value: high, low, the category, or missing."""
    value = x.get(field)
    if value is None:
        return reason_for(field + MISSING_SUFFIX)[1]
    if isinstance(value, str):
        return reason_for(field + ONE_HOT_SEP + value)[1]
    return reason_for(field, direction=1 if value >= medians.get(field, 0.0) else -1)[1]


@functools.lru_cache(maxsize=8192)
def _code(field: str) -> str:
    return entry_for(field).code


def _share(part: float, whole: float) -> float:
    return math.floor(part / whole * 10_000) / 10_000
