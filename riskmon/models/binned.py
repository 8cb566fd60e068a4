"""The online logistic model with binned numeric inputs: non-linear effects, still explained.

Why: a logistic regression on scaled values can only say "more is riskier" (or
less); utilisation, delinquency counts or a payment status often matter in
steps or in a U. Risk teams bin such fields. This model keeps the online
model's linear term for every numeric input and adds, for each numeric input
with enough history, a one-hot key for the quantile bin its value falls in
(``revol_util=q3``), learned by the same logistic regression: the linear term
gives the trend, the bins the steps around it.

The bins are streaming quantiles: each numeric input keeps a bounded
reservoir sample of the values learned (seeded, so equal label histories give
equal snapshots), and every ``rebin_every`` labels the learner re-solves the
cut points from it. That happens in :meth:`learn_one`, on the learner, never
on the decision path: scorers only read the published snapshot's bins. When
the cut points move, each new bin takes the weight of the old bin holding its
middle, so a re-solve does not throw the learned steps away.

Reasons still name the factors actually scored: a bin key's term is added to
its field's (``base_name("revol_util=q3") == "revol_util"``), so the field's
reason code carries its linear and its bin term together.

With ``window`` set, the model also keeps its last ``window`` labels and, at
each re-solve of the bins, asks for a refit (:mod:`riskmon.models.refits`):
the L2 logistic regression solved exactly on the window
(:func:`riskmon.models.window_fit.fit_logistic`, on the inputs as the model
encoded them when the refit began), whose weights it then takes. One SGD
step per label stays short of that solution; the learner, off the decision
path, can afford to reach it. The live learner runs the fit (about 0.3 s on
5,000 labels) in its background thread, encoding included, on a frozen copy
of the model; labels learned while it runs are stepped again on the new
weights when it is installed, so the result is the in-line one (for a plain
SGD optimiser; an adaptive one's step statistics count those labels twice).
A fit whose bins moved before it was installed is dropped (the move asked for
a new one). The window is left out of the snapshot scorers load (like the
LightGBM model's); the learner's own saved state keeps it.
"""

from __future__ import annotations

import bisect
import functools
import math
import pickle
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from river import utils

from riskmon.models import snapshots
from riskmon.models.features import MISSING_SUFFIX, ONE_HOT_SEP, OTHER_CATEGORY
from riskmon.models.online import OnlineCreditModel
from riskmon.models.reasons import base_name
from riskmon.models.window_fit import fit_logistic

__all__ = ["BinnedOnlineModel", "make_online_model"]


def make_online_model(name: str, params: Mapping[str, Any]) -> OnlineCreditModel:
    """The configured online model: binned when ``params`` has ``bins``, else the plain one."""
    if "bins" in params:
        return BinnedOnlineModel(name=name, **params)
    return OnlineCreditModel(name=name, **params)


#: State only the learner uses, left out of the snapshot scorers load (see :meth:`BinnedOnlineModel.snapshot`).
LEARNER_ONLY = ("_window", "_samples", "_seen")


class BinnedOnlineModel(OnlineCreditModel):
    """:class:`OnlineCreditModel` plus one-hot quantile bins of each numeric input.

    Parameters (besides the online model's)
    ----------
    bins
        Quantile bins per numeric input (2 to 50).
    rebin_every
        Labels between two re-solves of the cut points (the first solve too).
    sample_size
        Values kept per input for the quantiles (a reservoir sample).
    window
        Labels kept for the exact fit at each re-solve (0: no exact fit, SGD only).
    window_c
        Inverse L2 strength of that fit (scikit-learn's ``C``).

    >>> model = BinnedOnlineModel(bins=4, rebin_every=100, learning_rate=0.05)
    >>> xs = [{"util": float(i % 100)} for i in range(400)]
    >>> model.learn_many(xs, [abs(x["util"] - 50) > 35 for x in xs])  # a U: risky at both ends
    >>> sorted(model.edges["util"])
    [25.0, 50.0, 75.0]
    >>> ends = model.predict_proba_many([{"util": 5.0}, {"util": 95.0}])
    >>> min(ends) > model.predict_proba_one({"util": 50.0})
    True
    """

    #: Class defaults, so a model pickled before the window existed still loads and learns (without one).
    window = 0
    window_c = 0.03
    _window: deque[tuple[dict[str, float | str], bool]] = deque(maxlen=1)
    #: A refit is asked for (set at a re-solve of the bins, cleared when one begins).
    _fit_due = False
    #: While a refit runs: the encoded inputs and labels learned since it began, stepped again at install.
    _replay: list[tuple[dict[str, float], bool]] | None = None
    #: Re-solves of the bins so far; a refit begun at another count is stale when it comes back.
    _resolves = 0
    _refit_resolves = -1

    def __init__(
        self,
        *,
        bins: int = 10,
        rebin_every: int = 500,
        sample_size: int = 2000,
        window: int = 0,
        window_c: float = 0.03,
        **params: Any,
    ) -> None:
        if not 2 <= bins <= 50:
            raise ValueError(f"bins: must be in [2, 50], got {bins!r}")
        if rebin_every < 1 or sample_size < bins:
            raise ValueError(f"rebin_every must be >= 1 and sample_size >= bins, got {rebin_every}, {sample_size}")
        if window < 0 or not window_c > 0:
            raise ValueError(f"window must be >= 0 and window_c > 0, got {window}, {window_c}")
        self.bins = bins
        self.rebin_every = rebin_every
        self.sample_size = sample_size
        self.window = window
        self.window_c = window_c
        super().__init__(**params)

    def _reset(self) -> None:
        super()._reset()
        self.edges: dict[str, list[float]] = {}  # input -> cut points (bin i: edges[i-1] <= x < edges[i])
        self._samples: dict[str, list[float]] = {}
        self._seen: dict[str, int] = {}
        self._rng = random.Random(self.seed)
        self._names: dict[str, list[str]] = {}  # input -> its bins' keys (``revol_util=q3``), set with the edges
        self._window: deque[tuple[dict[str, float | str], bool]] = deque(maxlen=self.window or 1)

    @property
    def params(self) -> dict[str, Any]:
        binned: dict[str, Any] = {"bins": self.bins, "rebin_every": self.rebin_every, "sample_size": self.sample_size}
        if self.window:
            binned |= {"window": self.window, "window_c": self.window_c}
        return {**super().params, **binned}

    def snapshot(self) -> bytes:
        """What scorers need, as canonical bytes: the weights, scaler and bins.

        Left out, as only the learner uses them (its own saved state keeps
        them): the window of labels, and the quantile samples the bins are
        re-solved from, which were 95% of a snapshot's bytes (360 of 379 KB at
        the defaults on Lending Club). Every publication is stored for the
        audit trail's retention and loaded by every scorer, so its size is
        paid in Redis memory and in each scorer's swap.
        """
        kept = {name: self.__dict__[name] for name in LEARNER_ONLY if name in self.__dict__}
        blanks: dict[str, Any] = {"_window": deque(maxlen=self.window or 1), "_samples": {}, "_seen": {}}
        self.__dict__.update({name: blanks[name] for name in kept})
        try:
            return snapshots.dump(self)
        finally:
            self.__dict__.update(kept)

    # -- encoding: the online model's, plus the bin of each numeric input ---------------

    def _split(self, x: Mapping[str, float | str]) -> tuple[dict[str, float], dict[str, float]]:
        numeric, binary = super()._split(x)
        edges, names = self.edges, self._names
        for key, value in numeric.items():
            cuts = edges.get(key)
            if cuts is not None:
                binary[names[key][bisect.bisect_right(cuts, value)]] = 1.0
        return numeric, binary

    def _bin_weights(self) -> dict[str, tuple[list[float], list[float]]]:
        """Per binned input: its cut points and each bin's weight; built once per model state.

        Scorers hold a restored snapshot that never learns, so the table is
        built at the first score and kept; learning drops it. It is left out
        of the snapshot (:meth:`__getstate__`), which depends on labels only.
        """
        cache: dict[str, tuple[list[float], list[float]]] | None = self.__dict__.get("_bin_cache")
        if cache is None:
            weights = self.linear.weights
            cache = {
                key: (cuts, [weights.get(f"{key}{ONE_HOT_SEP}q{i}", 0.0) for i in range(len(cuts) + 1)])
                for key, cuts in self.edges.items()
            }
            self.__dict__["_bin_cache"] = cache
        return cache

    def _reference(self, weights: Mapping[str, float]) -> dict[str, float]:
        """The online model's reference terms, kept while the model does not learn (many more binary keys)."""
        cache: dict[str, float] | None = self.__dict__.get("_reference_cache")
        if cache is None:
            cache = self.__dict__["_reference_cache"] = super()._reference(weights)
        return cache

    def _field_terms(
        self, x: Mapping[str, float | str], weights: Mapping[str, float], reference: Mapping[str, float]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """The online model's field terms (its own encoding), with each numeric input's bin weight added to
        its field: the bin is part of that field's effect, so the field's reason carries it."""
        numeric, binary = OnlineCreditModel._split(self, x)
        scaled = self._scale(numeric)
        terms = {field: -ref for field, ref in reference.items()}
        bin_weights = self._bin_weights()
        for key, z in scaled.items():
            term = weights.get(key, 0.0) * z
            binned = bin_weights.get(key)
            if binned is not None:
                term += binned[1][bisect.bisect_right(binned[0], numeric[key])]
            if term:
                terms[key] = terms.get(key, 0.0) + term
        for key in binary:
            w = weights.get(key)
            if w:
                field = base_name(key)
                terms[field] = terms.get(field, 0.0) + w
        return terms, scaled

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_bin_cache", None)
        state.pop("_reference_cache", None)
        if state.pop("_replay", None) is not None:  # a refit under way is not saved: a copy asks for it again
            state["_fit_due"] = True
        state.pop("_refit_resolves", None)
        return state

    def predict_proba_many(self, xs: Sequence[Mapping[str, float | str]]) -> list[float]:
        """Probability of default of each input: the online model's sum plus each numeric input's bin weight.

        One pass, like the online model's hot path (the same encoding inlined).
        """
        if self.n_learned == 0:
            return [self.prior_pd] * len(xs)
        weights = self.linear.weights
        intercept = self.linear.intercept
        means = self.scaler.means
        variances = self.scaler.vars
        clip = self.clip
        skip = self._skip
        cats = self._categories
        capped = self.max_categories is not None
        bin_weights = self._bin_weights()
        inv_std: dict[str, float] = {}
        out: list[float] = []
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
                    binned = bin_weights.get(key)
                    if binned is not None:
                        z += binned[1][bisect.bisect_right(binned[0], value)]
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
            out.append(1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z)))
        return out

    # -- learning: the reservoir, and the re-solve every rebin_every labels --------------

    def learn_one(self, x: Mapping[str, float | str], y: bool) -> None:
        numeric, _ = OnlineCreditModel._split(self, x)
        for key, value in numeric.items():
            self._sample(key, value)
        self.__dict__.pop("_bin_cache", None)  # the weights change
        self.__dict__.pop("_reference_cache", None)
        super().learn_one(x, y)
        if self._replay is not None:  # a refit is under way: this step is taken again on its weights
            self._replay.append((self.transform_one(x), bool(y)))
        if self.window:
            self._window.append((dict(x), bool(y)))
        if self.n_learned % self.rebin_every == 0:
            self.resolve_bins()
            if self.window:
                self._fit_due = True

    # -- the exact fit on the window (riskmon.models.refits) ------------------------------

    @property
    def refit_due(self) -> bool:
        """A re-solve asked for the exact fit, and the window holds both outcomes."""
        if not (self.window and self._fit_due):
            return False
        bad = sum(y for _, y in self._window)
        return 0 < bad < len(self._window)

    def refit_job(self) -> Callable[[], tuple[dict[str, float], float]]:
        """The exact fit as a function of copies (for any thread): the window, and this model frozen as the
        encoder, so the rows are encoded as the model scores now (its scaler, its bins)."""
        self._fit_due = False
        encoder = pickle.loads(self.snapshot())  # without the window; a few ms against the fit's tenths of a second
        self._replay = []
        self._refit_resolves = self._resolves
        return functools.partial(_fit_encoded, encoder, list(self._window), self.window_c)

    def install(self, result: tuple[dict[str, float], float]) -> None:
        """Take the fitted weights, then step again the labels learned while the fit ran.

        A fit begun before the latest re-solve of the bins is dropped: its
        weights are for bins that moved, and that re-solve asked for a new fit.
        """
        replay, self._replay = self._replay, None
        if replay is None or self._refit_resolves != self._resolves:
            return
        weights, intercept = result
        self.linear._weights = utils.VectorDict(weights)  # River's weight store, as its optimiser keeps it
        self.linear.intercept = intercept
        for scaled, y in replay:
            self.linear.learn_one(scaled, y)
        self.__dict__.pop("_bin_cache", None)
        self.__dict__.pop("_reference_cache", None)

    def refit(self) -> None:
        """The exact fit in line (offline use: the backtest, the benchmark, tests)."""
        self.install(self.refit_job()())

    def _sample(self, key: str, value: float) -> None:
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        sample = self._samples.setdefault(key, [])
        if len(sample) < self.sample_size:
            sample.append(value)
        else:
            j = self._rng.randrange(seen)
            if j < self.sample_size:
                sample[j] = value

    def resolve_bins(self) -> None:
        """Re-solve every input's cut points from its sample; carry the learned bin weights over."""
        self._resolves += 1
        for key, sample in self._samples.items():
            ordered = sorted(sample)
            n = len(ordered)
            cuts = sorted({ordered[min(n - 1, (n * i) // self.bins)] for i in range(1, self.bins)})
            if len(cuts) < 1 or len(set(ordered)) < 2:
                continue
            old = self.edges.get(key)
            self.edges[key] = cuts
            self._names[key] = [f"{key}{ONE_HOT_SEP}q{i}" for i in range(len(cuts) + 1)]
            self.__dict__.pop("_bin_cache", None)
            self._carry(key, old, cuts, ordered)

    def _carry(self, key: str, old: list[float] | None, new: list[float], ordered: list[float]) -> None:
        """New bins' weights and frequencies from the old bins holding their middles."""
        weights = self.linear._weights  # River's weight store: set in place, as its optimiser does
        bounds = [ordered[0], *new, ordered[-1]]
        old_w = {} if old is None else {i: weights.get(f"{key}{ONE_HOT_SEP}q{i}", 0.0) for i in range(len(old) + 1)}
        counts = self._binary_counts
        for i in range(len(old or []) + 1):
            counts.pop(f"{key}{ONE_HOT_SEP}q{i}", None)
        for i in range(len(new) + 1):
            name = f"{key}{ONE_HOT_SEP}q{i}"
            middle = (bounds[i] + bounds[i + 1]) / 2
            weights[name] = old_w.get(bisect.bisect_right(old, middle), 0.0) if old is not None else 0.0
            lo = bisect.bisect_left(ordered, bounds[i]) if i else 0
            hi = bisect.bisect_left(ordered, new[i]) if i < len(new) else len(ordered)
            counts[name] = round(self.n_learned * (hi - lo) / len(ordered))


def _fit_encoded(
    encoder: BinnedOnlineModel, window: Sequence[tuple[Mapping[str, float | str], bool]], c: float
) -> tuple[dict[str, float], float]:
    """Encode the window with ``encoder`` (a frozen copy of the model) and solve the regression on it."""
    rows = [encoder.transform_one(x) for x, _ in window]
    return fit_logistic(rows, [y for _, y in window], c=c)
