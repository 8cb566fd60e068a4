"""An online logistic credit-scoring model on River, with its explanations.

Why this model: a probability of default must be calibrated (it feeds cut-offs
and grades), must keep learning as repayment labels arrive, and must explain
each score with the factors actually scored. A logistic regression on scaled
inputs does all three: its log-odds are a sum of per-input terms, so the
reasons of a decision are read off the very sum that produced its score. Each
field's term is measured from the average applicant learned from (``weight *
scaled value`` for numerics, ``weight * (x - frequency)`` for one-hot keys and
missing indicators), like the scorecard's ``weight * (value - center)``:
otherwise a category that every applicant shares, whose weight soaks up part
of the intercept, would be named as a reason for everyone.

The River pipeline is::

    TransformerUnion(
        FuncTransformer(numeric part) | StandardScaler | FuncTransformer(clip),
        FuncTransformer(binary part: one-hot categoricals, missing indicators),
    ) | LogisticRegression

Binary inputs bypass the scaler on purpose: River's sparse inputs only carry
the keys that are present, so a one-hot key would always be seen as 1.0, get a
variance of zero and scale to nothing. Scaled values are clipped (default
±5 standard deviations) so that one extreme value (a USD 500k delinquent
amount) cannot throw the weights around in a single SGD step.

The hot path calls the same ``StandardScaler`` and ``LogisticRegression``
objects directly instead of going through ``Pipeline`` (River's pipeline
machinery costs about as much as the model itself, see docs/performance.md);
:attr:`OnlineCreditModel.pipeline` assembles the equivalent River pipeline
around those objects and the tests check that both give the same scores and
the same learned weights. Scoring never changes the model's state, so a
snapshot depends only on the labels learned.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Self

from river import compose, linear_model, optim, preprocessing

from riskmon.models import snapshots
from riskmon.models.features import LENDER_PRICING, MISSING_SUFFIX, ONE_HOT_SEP, OTHER_CATEGORY
from riskmon.models.reasons import base_name, entry_for, reason_for

__all__ = ["OnlineCreditModel", "DEFAULT_PRIOR_PD"]

#: Bad rate of the Lending Club demo data (517 of 9,857): the PD scored before any label.
DEFAULT_PRIOR_PD = 0.0525

Optimizer = Literal["sgd", "adagrad", "adam"]


def _make_optimizer(kind: str, learning_rate: float) -> optim.base.Optimizer:
    if kind == "sgd":
        return optim.SGD(learning_rate)
    if kind == "adagrad":
        return optim.AdaGrad(learning_rate)
    if kind == "adam":
        return optim.Adam(learning_rate)
    raise ValueError(f"optimizer: must be one of sgd, adagrad, adam, got {kind!r}")


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class OnlineCreditModel(snapshots.Snapshotted):
    """Online logistic regression PD model with adverse-action explanations.

    Parameters
    ----------
    name
        Model family name, the prefix of :attr:`version`.
    seed
        Kept for the interface shared with randomised learners; this model is
        deterministic (weights start at zero).
    prior_pd
        PD scored while no label has been learned, and the starting intercept
        (its log-odds), so early scores start from the portfolio's bad rate
        instead of 0.5.
    optimizer, learning_rate
        River optimizer of the weights (``sgd``, ``adagrad`` or ``adam``).
    intercept_lr
        Learning rate of the intercept (plain SGD, as River does).
    l2
        L2 penalty, which keeps weights of rare inputs small.
    clip
        Scaled numeric values are clipped to ``[-clip, clip]`` (None: no clip).
    exclude
        Input fields never used (their one-hot keys and missing indicators
        too). Default: Lending Club's own pricing (``int_rate``,
        ``sub_grade``), which would leak the lender's decision.
    max_categories
        Distinct learned values kept per categorical field; later values
        share :data:`OTHER_CATEGORY`, so a free-text field cannot grow the
        model without bound (None: no limit).

    Examples
    --------
    >>> model = OnlineCreditModel(learning_rate=0.1)
    >>> model.predict_proba_one({"amount": 1000.0})  # no label yet: the prior
    0.0525
    >>> xs = [{"inquiries_6m": float(i % 5), "channel": "web"} for i in range(200)]
    >>> model.learn_many(xs, [x["inquiries_6m"] >= 3 for x in xs])
    >>> model.version, round(model.predict_proba_one({"inquiries_6m": 4.0}), 3)
    ('logreg-n200', 0.823)
    >>> model.explain_one({"inquiries_6m": 4.0, "channel": "web"})  # every input was web: not a reason
    [('CREDIT_INQUIRIES', 'Many recent credit inquiries', 1.0)]
    """

    def __init__(
        self,
        *,
        name: str = "logreg",
        seed: int = 42,
        prior_pd: float = DEFAULT_PRIOR_PD,
        optimizer: Optimizer = "sgd",
        learning_rate: float = 0.005,
        intercept_lr: float = 0.01,
        l2: float = 0.0,
        clip: float | None = 5.0,
        exclude: Iterable[str] = LENDER_PRICING,
        max_categories: int | None = 64,
    ) -> None:
        if not 0.0 < prior_pd < 1.0:
            raise ValueError(f"prior_pd: must be in (0, 1), got {prior_pd!r}")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip: must be > 0 or None, got {clip!r}")
        if max_categories is not None and max_categories < 1:
            raise ValueError(f"max_categories: must be >= 1 or None, got {max_categories!r}")
        self.name = name
        self.seed = seed
        self.prior_pd = prior_pd
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.intercept_lr = intercept_lr
        self.l2 = l2
        self.clip = clip
        self.exclude = tuple(exclude)
        self.max_categories = max_categories
        _make_optimizer(optimizer, learning_rate)  # fail early on a bad name
        self._reset()

    def _reset(self) -> None:
        self.scaler = preprocessing.StandardScaler()
        self.linear = linear_model.LogisticRegression(
            optimizer=_make_optimizer(self.optimizer, self.learning_rate),
            l2=self.l2,
            intercept_init=_logit(self.prior_pd),
            intercept_lr=self.intercept_lr,
        )
        self.n_learned = 0
        self.n_bad = 0
        # binary input -> times learned: its frequency is the reference of explanations
        self._binary_counts: dict[str, int] = {}
        # field -> {value: None}: insertion-ordered (a set would pickle in hash order)
        self._categories: dict[str, dict[str, None]] = {}
        # inputs left out; a dict, not a set, for the same reason
        self._skip = dict.fromkeys([*self.exclude, *(name + MISSING_SUFFIX for name in self.exclude)])

    # -- parameters, identity, snapshots --------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """The constructor's arguments: ``type(m)(**m.params)`` is a fresh clone."""
        return {
            "name": self.name,
            "seed": self.seed,
            "prior_pd": self.prior_pd,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "intercept_lr": self.intercept_lr,
            "l2": self.l2,
            "clip": self.clip,
            "exclude": self.exclude,
            "max_categories": self.max_categories,
        }

    def clone(self) -> Self:
        """A fresh, untrained model with the same parameters."""
        return type(self)(**self.params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @property
    def version(self) -> str:
        """``<name>-n<labels learned>``: deterministic, changes with every label."""
        return f"{self.name}-n{self.n_learned}"

    def snapshot(self) -> bytes:
        """The whole state as bytes (a canonical pickle, :mod:`riskmon.models.snapshots`).

        Equal learning histories give equal bytes, whatever was scored in
        between. Only restore snapshots from a store you trust: unpickling
        runs code. Keep :attr:`snapshot_hash` beside the bytes (the audit
        trail records it) and check it on load.
        """
        return snapshots.dump(self)

    # -- encoding ---------------------------------------------------------------

    def _split(self, x: Mapping[str, float | str]) -> tuple[dict[str, float], dict[str, float]]:
        """Numeric values to scale, and binary keys (one-hot, missing) at 1.0."""
        numeric: dict[str, float] = {}
        binary: dict[str, float] = {}
        skip = self._skip
        cats = self._categories
        cap = self.max_categories
        for key, value in x.items():
            if key in skip:
                continue
            if isinstance(value, str):
                if cap is not None and value not in cats.get(key, ()):
                    value = OTHER_CATEGORY
                binary[key + ONE_HOT_SEP + value] = 1.0
            elif key.endswith(MISSING_SUFFIX):
                if value:
                    binary[key] = 1.0
            else:
                numeric[key] = float(value)
        return numeric, binary

    def _register(self, x: Mapping[str, float | str]) -> None:
        """Learn categorical values, up to ``max_categories`` per field."""
        if self.max_categories is None:
            return
        for key, value in x.items():
            if isinstance(value, str) and key not in self._skip:
                seen = self._categories.setdefault(key, {})
                if value not in seen and len(seen) < self.max_categories:
                    seen[value] = None

    def _scale(self, numeric: Mapping[str, float]) -> dict[str, float]:
        """StandardScaler's transform, then the clip; never adds keys to the scaler."""
        means = self.scaler.means
        variances = self.scaler.vars
        clip = self.clip
        out: dict[str, float] = {}
        for key, value in numeric.items():
            var = variances.get(key, 0.0)
            z = (value - means.get(key, 0.0)) / var**0.5 if var else 0.0
            if clip is not None:
                z = -clip if z < -clip else clip if z > clip else z
            out[key] = z
        return out

    def transform_one(self, x: Mapping[str, float | str]) -> dict[str, float]:
        """What the linear model sees for ``x``: scaled numerics and binary keys."""
        numeric, binary = self._split(x)
        scaled = self._scale(numeric)
        scaled.update(binary)
        return scaled

    @property
    def pipeline(self) -> compose.Pipeline:
        """The equivalent River pipeline, built around this model's scaler and linear model.

        Learning through it updates this model's scaler and weights (but not
        :attr:`n_learned` nor the category registry); the hot path does not use it.
        """
        numeric = compose.FuncTransformer(functools.partial(_numeric_part, self))
        scaled = numeric | self.scaler
        if self.clip is not None:
            scaled |= compose.FuncTransformer(functools.partial(_clip_part, self.clip))
        binary = compose.FuncTransformer(functools.partial(_binary_part, self))
        return compose.TransformerUnion(scaled, binary) | self.linear

    # -- scoring ------------------------------------------------------------------

    def predict_proba_many(self, xs: Sequence[Mapping[str, float | str]]) -> list[float]:
        """Probability of default of each input, in order; the prior before any label."""
        if self.n_learned == 0:
            return [self.prior_pd] * len(xs)
        weights = self.linear.weights  # one copy per batch, then plain dict lookups
        intercept = self.linear.intercept
        means = self.scaler.means
        variances = self.scaler.vars
        clip = self.clip
        skip = self._skip
        cats = self._categories
        capped = self.max_categories is not None
        inv_std: dict[str, float] = {}
        out: list[float] = []
        # The encoding of _split and _scale, inlined: this loop is the worker's hot path.
        for x in xs:
            z = intercept
            for key, value in x.items():
                if key in skip:
                    continue
                if isinstance(value, str):
                    if capped and value not in cats.get(key, ()):
                        value = OTHER_CATEGORY
                    z += weights.get(key + ONE_HOT_SEP + value, 0.0)
                elif key.endswith(MISSING_SUFFIX):
                    if value:
                        z += weights.get(key, 0.0)
                else:
                    w = weights.get(key)
                    if not w:
                        continue
                    s = inv_std.get(key)
                    if s is None:
                        var = variances.get(key, 0.0)
                        s = inv_std[key] = 1.0 / var**0.5 if var else 0.0
                    v = (value - means.get(key, 0.0)) * s
                    if clip is not None:
                        v = -clip if v < -clip else clip if v > clip else v
                    z += w * v
            out.append(_sigmoid(z))
        return out

    def predict_proba_one(self, x: Mapping[str, float | str]) -> float:
        """Probability of default of one input."""
        return self.predict_proba_many([x])[0]

    def _reference(self, weights: Mapping[str, float]) -> dict[str, float]:
        """Per field, the average applicant's log-odds term from its binary inputs.

        A binary input's mean over the labels learned is its frequency, so the
        reference is ``sum(weight * count / n_learned)``. Scaled numerics
        average zero by construction (they are centred on the running mean).
        """
        n = self.n_learned
        reference: dict[str, float] = {}
        for key, count in self._binary_counts.items():
            w = weights.get(key, 0.0)
            if w:
                field = base_name(key)
                reference[field] = reference.get(field, 0.0) + w * count / n
        return reference

    def _field_terms(
        self, x: Mapping[str, float | str], weights: Mapping[str, float], reference: Mapping[str, float]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Each field's term of the log-odds minus the average applicant's, and the scaled numerics."""
        numeric, binary = self._split(x)
        scaled = self._scale(numeric)
        terms = {field: -ref for field, ref in reference.items()}
        for key, z in scaled.items():
            w = weights.get(key)
            if w:
                terms[key] = terms.get(key, 0.0) + w * z
        for key in binary:
            w = weights.get(key)
            if w:
                field = base_name(key)
                terms[field] = terms.get(field, 0.0) + w
        return terms, scaled

    def contributions_one(self, x: Mapping[str, float | str]) -> dict[str, float]:
        """Each field's effect on the log-odds, relative to the average applicant learned from.

        For a numeric field it is ``weight * scaled value`` (the scaler centres
        values on their running mean); for a categorical field or a missing
        indicator it is ``weight * (x - frequency)`` summed over its one-hot
        keys, which is the exact additive split of a linear model's score
        (linear SHAP with independent inputs). The terms sum to the input's
        log-odds minus the average applicant's, so they are the factors
        actually scored, each measured from a centre, like the scorecard's
        ``weight * (value - center)``. Zero terms are left out.
        """
        if self.n_learned == 0:
            return {}
        weights = self.linear.weights
        terms, _ = self._field_terms(x, weights, self._reference(weights))
        return {field: term for field, term in terms.items() if term}

    def explain_one(self, x: Mapping[str, float | str], *, top: int = 4) -> list[tuple[str, str, float]]:
        """The factors that raised this input's PD, as ``(code, description, share)``.

        The field terms of :meth:`contributions_one` are summed per reason
        code; codes whose sum is positive (they raised the risk) are ranked by
        it and given their share of the positive total, so shares lie in
        [0, 1] and sum to at most 1, as in :mod:`riskmon.decisioning.policy`
        (shares are rounded down to 4 decimals). A code is described by its
        largest field and by this applicant's own value of it: above or below
        the typical value, the category given, or not provided. Ties rank by
        code. An untrained model has no factors.
        """
        return self.explain_many([x], top=top)[0]

    def explain_many(
        self, xs: Sequence[Mapping[str, float | str]], *, top: int = 4
    ) -> list[list[tuple[str, str, float]]]:
        """:meth:`explain_one` for each input, reading the weights once."""
        if self.n_learned == 0 or top <= 0:
            return [[] for _ in xs]
        weights = self.linear.weights
        reference = self._reference(weights)
        out = []
        for x in xs:
            terms, scaled = self._field_terms(x, weights, reference)
            totals: dict[str, float] = {}
            lead: dict[str, tuple[float, str]] = {}
            for field, term in terms.items():
                if not term:
                    continue
                code = _code(field)
                totals[code] = totals.get(code, 0.0) + term
                if code not in lead or term > lead[code][0]:
                    lead[code] = (term, field)
            positive = {code: total for code, total in totals.items() if total > 0}
            whole = sum(positive.values())
            ranked = sorted(positive.items(), key=lambda item: (-item[1], item[0]))[:top]
            out.append(
                [(code, self._describe(lead[code][1], x, scaled), _share(total, whole)) for code, total in ranked]
            )
        return out

    def _describe(self, field: str, x: Mapping[str, float | str], scaled: Mapping[str, float]) -> str:
        """The description of ``field`` for this applicant's own value of it."""
        if field in scaled:
            return _reason(field, 1 if scaled[field] >= 0 else -1)[1]
        value = x.get(field)
        if isinstance(value, str):
            if self.max_categories is not None and value not in self._categories.get(field, ()):
                value = OTHER_CATEGORY
            return _reason(field + ONE_HOT_SEP + value, 1)[1]
        return _reason(field + MISSING_SUFFIX, 1)[1]  # flagged missing, or absent

    # -- learning -------------------------------------------------------------------

    def learn_one(self, x: Mapping[str, float | str], y: bool) -> None:
        """Learn one final label (True = the loan went bad)."""
        self._register(x)
        numeric, binary = self._split(x)
        self.scaler.learn_one(numeric)
        scaled = self._scale(numeric)
        scaled.update(binary)
        self.linear.learn_one(scaled, bool(y))
        counts = self._binary_counts
        for key in binary:
            counts[key] = counts.get(key, 0) + 1
        self.n_learned += 1
        self.n_bad += bool(y)

    def learn_many(self, xs: Sequence[Mapping[str, float | str]], ys: list[bool]) -> None:
        """Learn labels in order, one SGD step each (exactly ``learn_one`` in a loop).

        River's own ``learn_many`` takes one averaged step per batch, so the
        model would depend on how labels happened to be batched; per-label
        steps keep equal label histories giving equal snapshots, and labels
        arrive slowly enough for them to be cheap (see docs/performance.md).
        """
        if len(xs) != len(ys):
            raise ValueError(f"learn_many: {len(xs)} inputs but {len(ys)} labels")
        for x, y in zip(xs, ys, strict=True):
            self.learn_one(x, y)


@functools.lru_cache(maxsize=8192)
def _reason(key: str, direction: int) -> tuple[str, str]:
    return reason_for(key, direction=direction)


@functools.lru_cache(maxsize=8192)
def _code(field: str) -> str:
    return entry_for(field).code


def _share(part: float, whole: float) -> float:
    """``part / whole`` rounded down to 4 decimals, so that shares never sum above 1."""
    return math.floor(part / whole * 10_000) / 10_000


def _numeric_part(model: OnlineCreditModel, x: dict) -> dict:
    return model._split(x)[0]


def _binary_part(model: OnlineCreditModel, x: dict) -> dict:
    return model._split(x)[1]


def _clip_part(clip: float, x: dict) -> dict:
    return {k: -clip if v < -clip else clip if v > clip else v for k, v in x.items()}
