"""Prequential quality of the online credit models, beside batch and scorecard baselines.

    python -m bench.model_quality [--delay 500] [--batch 500] [--no-forest]
    python -m bench.model_quality --data credit_data|taiwan_credit_cards|lending_club [--delay 500]

On the real Lending Club records (``riskmon.demo.data``, in their order), each
application is scored by every candidate first, and its label is learned only
after ``delay`` more applications were scored (labels arrive later than
decisions). Every model is judged on the PD it gave at decision time
(ROC AUC, KS, log loss; ``riskmon.models.evaluation``).

Baselines computed in the same run, on the same second half of the stream:
scikit-learn's LogisticRegression (one-hot + StandardScaler) trained on the
first half; the hand-set scorecard of the default configuration
(``riskmon.decisioning.decide``); a constant PD at the prior. Lending Club's
own pricing (``int_rate``, ``sub_grade``) is left out of every model unless a
line says otherwise: it is the lender's decision, not an input a monitor
placed before it would have.

With ``--data`` the run is the short one on any data set of
:mod:`bench.credit_baselines`: the online champion, challenger and candidates
(prequential) beside batch logistic regression, batch gradient boosting
(LightGBM) and the fitted points scorecard, all fitted on the first half,
and the gaps the targets name. Without it, the full Lending Club report,
which ends with the same table.

Also measured, side by side in one process: the cost per event of scoring one
by one against ``predict_proba_many`` on batches, of learning, of explaining,
and of River's Pipeline wrapper against the direct hot path. Prints the
environment, the tables, and last a ``name: value`` line.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any, NotRequired, Protocol, TypedDict, Unpack, cast

from riskmon.config import Policy, load_config
from riskmon.decisioning import decide
from riskmon.demo.data import load_records
from riskmon.models import (
    DEFAULT_PRIOR_PD,
    LENDER_PRICING,
    ChampionChallenger,
    OnlineCreditModel,
    PrequentialEvaluator,
    PromotionRule,
    model_inputs,
)
from riskmon.models.binned import BinnedOnlineModel
from riskmon.models.families import make_model
from riskmon.models.online import Optimizer
from riskmon.models.reasons import base_name
from riskmon.schemas import Application

#: One application's model inputs (``model_inputs``), as the models take them.
Inputs = Mapping[str, float | str]


class ModelParams(TypedDict):
    """The ``OnlineCreditModel`` arguments a candidate sets (the others keep their defaults)."""

    name: str
    optimizer: Optimizer
    learning_rate: float
    l2: NotRequired[float]


class Candidate(Protocol):
    """What the prequential run needs of a model: an online model or a River classifier."""

    def predict_proba_many(self, xs: list[Inputs]) -> list[float]: ...

    def learn_many(self, xs: list[Inputs], ys: list[bool]) -> None: ...


#: The recommended pair (see docs/performance.md): the same model, the challenger learning
#: more slowly (expected to overtake as labels accumulate; promoted only on evidence).
CHAMPION = ModelParams(name="logreg", optimizer="sgd", learning_rate=0.005)
CHALLENGER = ModelParams(name="logreg-slow", optimizer="sgd", learning_rate=0.002)
#: Further online candidates, each in the same prequential run.
CANDIDATES = [
    ModelParams(name="logreg-sgd-0.01", optimizer="sgd", learning_rate=0.01),  # default_config.yaml's champion
    ModelParams(name="logreg-adagrad", optimizer="adagrad", learning_rate=0.05, l2=0.0001),  # ... and its challenger
    ModelParams(name="logreg-adam-0.001", optimizer="adam", learning_rate=0.001),
    ModelParams(name="logreg-sgd-0.02", optimizer="sgd", learning_rate=0.02),
    ModelParams(name="logreg-l2-0.01", optimizer="sgd", learning_rate=0.005, l2=0.01),
]


class InLine:
    """A model as the learner runs it, with every refit it asks for (riskmon.models.refits: LightGBM's trees,
    a binned model's exact window fit, a blend's members) done in line before the next application is scored;
    live, they run in a background thread between two batches."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba_many(self, xs: list[Inputs]) -> list[float]:
        return self.model.predict_proba_many(xs)

    def learn_many(self, xs: list[Inputs], ys: list[bool]) -> None:
        from riskmon.models.refits import refits_due

        self.model.learn_many(xs, ys)
        for model in refits_due([self.model]):
            model.refit()


class RiverClassifier:
    """Any River classifier behind the model interface (for the tree candidates only)."""

    def __init__(self, name: str, model: Any, exclude: tuple[str, ...] = LENDER_PRICING) -> None:
        self.name, self.model, self.exclude = name, model, set(exclude)
        self.n_learned = 0

    def _x(self, x: Inputs) -> dict[str, float | str]:
        return {k: v for k, v in x.items() if base_name(k) not in self.exclude}

    def predict_proba_many(self, xs: list[Inputs]) -> list[float]:
        if not self.n_learned:
            return [DEFAULT_PRIOR_PD] * len(xs)
        return [min(max(self.model.predict_proba_one(self._x(x)).get(True, 0.0), 0.0), 1.0) for x in xs]

    def learn_many(self, xs: list[Inputs], ys: list[bool]) -> None:
        for x, y in zip(xs, ys, strict=True):
            self.model.learn_one(self._x(x), y)
            self.n_learned += 1


# -- data ---------------------------------------------------------------------------


def load() -> tuple[list[Application], list[Inputs], list[bool]]:
    records = load_records("lending_club")
    apps = [Application.from_dict(r.application) for r in records]
    return apps, [model_inputs(a) for a in apps], [r.is_bad for r in records]


def without(x: Inputs, exclude: tuple[str, ...]) -> dict[str, float | str]:
    return {k: v for k, v in x.items() if base_name(k) not in exclude}


# -- measures -----------------------------------------------------------------------


def measures(pds: list[float], ys: list[bool]) -> dict[str, Any]:
    ev = PrequentialEvaluator()
    for p, y in zip(pds, ys, strict=True):
        ev.update(p, y)
    out = ev.summary()
    auc = out["auc"]
    assert auc is not None, "an AUC needs both bads and goods among the labels"
    out["se"] = auc_se(auc, ev.n_bad, ev.n_good)
    return out


def auc_se(auc: float, n_bad: int, n_good: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    return math.sqrt((auc * (1 - auc) + (n_bad - 1) * (q1 - auc**2) + (n_good - 1) * (q2 - auc**2)) / (n_bad * n_good))


# -- prequential run -----------------------------------------------------------------


def prequential(models: dict[str, Candidate], xs: list[Inputs], ys: list[bool], delay: int) -> dict[str, list[float]]:
    """Score each application with every model, learn label j after application j + delay was scored."""
    pds: dict[str, list[float]] = {name: [] for name in models}
    for i, x in enumerate(xs):
        for name, model in models.items():
            pds[name].append(model.predict_proba_many([x])[0])
        j = i - delay
        if j >= 0:
            for model in models.values():
                model.learn_many([xs[j]], [ys[j]])
    return pds


def champion_challenger(
    xs: list[Inputs], ys: list[bool], delay: int
) -> tuple[ChampionChallenger, list[float], list[float]]:
    """The same protocol through ChampionChallenger; remaining labels are delivered at the end."""
    cc = ChampionChallenger(OnlineCreditModel(**CHAMPION), OnlineCreditModel(**CHALLENGER))
    champion_pds: list[float] = []
    challenger_pds: list[float] = []
    for i, x in enumerate(xs):
        c, h = cc.score_many([x])
        champion_pds += c
        challenger_pds += h
        j = i - delay
        if j >= 0:
            cc.learn_many([xs[j]], [ys[j]], [champion_pds[j]], [challenger_pds[j]])
    rest = range(max(len(xs) - delay, 0), len(xs))
    cc.learn_many(
        [xs[j] for j in rest], [ys[j] for j in rest], [champion_pds[j] for j in rest], [challenger_pds[j] for j in rest]
    )
    return cc, champion_pds, challenger_pds


def frozen_at_half(xs: list[Inputs], ys: list[bool], half: int, **params: Unpack[ModelParams]) -> list[float]:
    """The online model after learning every first-half label, then frozen (like the batch model)."""
    model = OnlineCreditModel(**params)
    model.learn_many(xs[:half], ys[:half])
    return model.predict_proba_many(xs[half:])


def sklearn_batch(
    xs: list[Inputs], ys: list[bool], half: int, exclude: tuple[str, ...], *, c: float = 1.0, clip: float | None = None
) -> list[float]:
    """One-hot (DictVectorizer) + StandardScaler (+ optional clip) + LogisticRegression(C=c), fit on the first half."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    steps: list[Any] = [DictVectorizer(sparse=False), StandardScaler()]
    if clip is not None:
        steps.append(FunctionTransformer(np.clip, kw_args={"a_min": -clip, "a_max": clip}))
    model = make_pipeline(*steps, LogisticRegression(C=c, max_iter=3000))
    model.fit([without(x, exclude) for x in xs[:half]], ys[:half])
    return list(model.predict_proba([without(x, exclude) for x in xs[half:]])[:, 1])


# -- cost per event --------------------------------------------------------------------


def costs(xs: list[Inputs], ys: list[bool], batch: int, repeat: int = 5) -> dict[str, float]:
    """Best-of-``repeat`` µs per event of each way to score and learn, measured in turns.

    The candidates run one after the other inside each round, so a burst of
    load from a neighbour on this shared machine hits them alike.
    """
    train_x, train_y, test = xs[:5000], ys[:5000], xs[5000:]
    model = OnlineCreditModel(**CHAMPION, max_categories=None)  # None: the River pipeline is then identical
    model.learn_many(train_x, train_y)
    batches = [test[i : i + batch] for i in range(0, len(test), batch)]
    pipeline = model.pipeline
    # River's Pipeline is typed to take dicts: model_inputs gives dicts, typed Mapping only because the
    # models take a list[Mapping] (invariant), so the same lists are handed over as what they are
    river_train = cast(list[dict[str, float | str]], train_x)
    river_test = cast(list[dict[str, float | str]], test)

    def pipeline_learn() -> None:
        twin = OnlineCreditModel(**CHAMPION, max_categories=None).pipeline
        for x, y in zip(river_train, train_y, strict=True):
            twin.learn_one(x, y)

    candidates: dict[str, tuple[Callable[[], Any], int]] = {
        "predict one by one": (lambda: [model.predict_proba_one(x) for x in test], len(test)),
        f"predict_proba_many ({batch})": (lambda: [model.predict_proba_many(b) for b in batches], len(test)),
        f"explain_many ({batch})": (lambda: [model.explain_many(b) for b in batches], len(test)),
        "learn_one (direct)": (
            lambda: OnlineCreditModel(**CHAMPION, max_categories=None).learn_many(train_x, train_y),
            len(train_x),
        ),
        "River Pipeline predict_proba_one": (lambda: [pipeline.predict_proba_one(x) for x in river_test], len(test)),
        "River Pipeline learn_one": (pipeline_learn, len(train_x)),
    }
    best = {name: math.inf for name in candidates}
    for _ in range(repeat):
        for name, (fn, n) in candidates.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
    return best


# -- report ------------------------------------------------------------------------------


def row(name: str, scope: str, m: dict[str, Any]) -> str:
    return (
        f"{name:<34} {scope:<12} {m['auc']:>6.4f} ±{m['se']:.3f} {m['ks']:>6.4f} {m['log_loss']:>8.4f}"
        f" {m['mean_pd']:>8.4f} {m['n']:>6}"
    )


def online_runs(
    xs: list[Inputs], ys: list[bool], delay: int, forest_too: bool
) -> tuple[ChampionChallenger, dict[str, list[float]]]:
    """Every online candidate's decision-time PDs over the whole stream."""
    from river import forest, tree

    cc, champion_pds, challenger_pds = champion_challenger(xs, ys, delay)
    online = {"champion " + CHAMPION["name"]: champion_pds, "challenger " + CHALLENGER["name"]: challenger_pds}
    candidates: dict[str, Candidate] = {p["name"]: OnlineCreditModel(**p) for p in CANDIDATES}
    # default_config.yaml's champion: the same model with 10 quantile bins per numeric input
    candidates["logreg-binned (default champion)"] = BinnedOnlineModel(
        name="logreg-binned", bins=10, rebin_every=500, optimizer="sgd", learning_rate=0.005
    )
    # the same, with the exact L2 fit on its last 5,000 labels at each re-solve (window; not the default)
    candidates["logreg-binned, window refit"] = InLine(
        BinnedOnlineModel(
            name="logreg-binned-w", bins=10, rebin_every=500, optimizer="sgd", learning_rate=0.005, window=5000
        )
    )
    # LightGBM (riskmon.models.gbm): refitted every 500 labels on the last 5,000
    candidates["gbm-refitted (online LightGBM)"] = InLine(make_model("gbm", {"family": "lightgbm"}))
    # the two above as one model, the mean of their PDs (riskmon.models.blend): the default challenger
    candidates["blend (binned-window + gbm)"] = InLine(make_model("blend", {"family": "blend"}))
    candidates["hoeffding-adaptive-tree"] = RiverClassifier("hat", tree.HoeffdingAdaptiveTreeClassifier(seed=42))
    if forest_too:
        candidates["arf-10-trees"] = RiverClassifier("arf", forest.ARFClassifier(n_models=10, seed=42))
    online.update(prequential(candidates, xs, ys, delay))
    for other in (1, 2000):
        online[f"champion, delay {other}"] = prequential({"m": OnlineCreditModel(**CHAMPION)}, xs, ys, other)["m"]
    return cc, online


def report_quality(
    online: dict[str, list[float]], scorecard: list[float], xs: list[Inputs], ys: list[bool]
) -> dict[str, float]:
    """The main table; returns the two second-half AUCs the summary needs."""
    n, half = len(ys), len(ys) // 2
    second = ys[half:]
    prior = [DEFAULT_PRIOR_PD] * n
    print(f"\n{'model':<34} {'scored on':<12} {'AUC':>6} {'±SE':>6} {'KS':>6} {'log loss':>8} {'mean PD':>8} {'n':>6}")
    for name, pds in online.items():
        print(row(name, "all, preq.", measures(pds, ys)))
    print(row("scorecard (default config)", "all", measures(scorecard, ys)))
    print(row(f"constant prior PD {DEFAULT_PRIOR_PD}", "all", measures(prior, ys)))
    print()
    for name, pds in online.items():
        print(row(name, "2nd half", measures(pds[half:], second)))
    print(row("champion frozen after 1st half", "2nd half", measures(frozen_at_half(xs, ys, half, **CHAMPION), second)))
    batch = measures(sklearn_batch(xs, ys, half, LENDER_PRICING), second)
    print(row("sklearn LogisticRegression batch", "2nd half", batch))
    tuned = sklearn_batch(xs, ys, half, (*LENDER_PRICING, "addr_state"), c=0.01, clip=3.0)
    print(row("  same, tuned on the 2nd half (*)", "2nd half", measures(tuned, second)))
    print(row("scorecard (default config)", "2nd half", measures(scorecard[half:], second)))
    print(row(f"constant prior PD {DEFAULT_PRIOR_PD}", "2nd half", measures(prior[half:], second)))
    print("(*) C=0.01, scaled values clipped to ±3, addr_state left out: chosen by looking at the 2nd half,")
    print("    so an optimistic bound for the batch model")
    champion = measures(online["champion " + CHAMPION["name"]][half:], second)
    return {"champion": champion["auc"], "batch": batch["auc"]}


def report_with_pricing(xs: list[Inputs], ys: list[bool], delay: int) -> None:
    """Secondary: Lending Club's own pricing as inputs (it leaks the lender's decision)."""
    half = len(ys) // 2
    online = prequential({"m": OnlineCreditModel(**CHAMPION, exclude=())}, xs, ys, delay)["m"]
    print("\nwith int_rate and sub_grade (the lender's own pricing; not a fair input):")
    print(row("champion, pricing included", "2nd half", measures(online[half:], ys[half:])))
    print(row("sklearn batch, pricing included", "2nd half", measures(sklearn_batch(xs, ys, half, ()), ys[half:])))


def report_cold_start(champion_pds: list[float], scorecard: list[float], ys: list[bool], delay: int) -> None:
    """AUC of champion and scorecard by how many labels the champion had learned when it scored."""
    n = len(ys)
    print(f"\ncold start: AUC by labels the champion had learned when it scored (delay {delay}):")
    print(f"  {'labels learned':<16} {'apps':>5} {'bads':>5} {'champion':>9} {'scorecard':>10}")
    for lo, hi in ((0, 1), (1, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, n)):
        window = range(lo + delay if lo else 0, min(hi + delay, n))  # when app i is scored, i - delay are learned
        wy = [ys[i] for i in window]
        if not any(wy) or all(wy):
            continue
        champion = measures([champion_pds[i] for i in window], wy)["auc"]
        card = measures([scorecard[i] for i in window], wy)["auc"]
        label = "0 (the prior)" if hi == 1 else f"{lo}-{hi if hi < n else ''}"
        print(f"  {label:<16} {len(wy):>5} {sum(wy):>5} {champion:>9.3f} {card:>10.3f}")


def report_cutoffs(champion_pds: list[float], scorecard: list[float], ys: list[bool], policy: Policy) -> None:
    """Outcome mix of the default PD cut-offs on the 2nd half, and the champion at equal approval rate."""
    half = len(ys) // 2
    second = ys[half:]
    approve_below, reject_at = policy.approve_below, policy.reject_at_or_above
    print(f"\nthe default cut-offs (approve < {approve_below}, reject >= {reject_at}) on the 2nd half:")
    for name, pds in (("scorecard", scorecard[half:]), ("champion", champion_pds[half:])):
        approved = [y for p, y in zip(pds, second, strict=True) if p < approve_below]
        rejected = sum(p >= reject_at for p in pds)
        review = 1 - (len(approved) + rejected) / len(pds)
        print(
            f"  {name:<10} approve {len(approved) / len(pds):6.1%}  review {review:6.1%}  reject "
            f"{rejected / len(pds):6.1%}  bad rate among approved {sum(approved) / max(len(approved), 1):6.2%}"
        )
    share = sum(p < approve_below for p in scorecard[half:]) / len(second)
    ranked = sorted(zip(champion_pds[half:], second, strict=False))[: round(share * len(second))]
    print(
        f"  champion approving the same {share:.1%} (its PD < {ranked[-1][0]:.4f}): "
        f"bad rate among approved {sum(y for _, y in ranked) / len(ranked):6.2%}"
    )


def report_costs(xs: list[Inputs], ys: list[bool], batch: int) -> None:
    print(f"\ncost per event, one process, {batch}-event batches (µs, best of 5 rounds):")
    cost = costs(xs, ys, batch)
    for name, us in cost.items():
        print(f"  {name:<36} {us:>8.1f}")
    many = cost[f"predict_proba_many ({batch})"]
    direct = cost["predict one by one"] + cost["learn_one (direct)"]
    wrapped = cost["River Pipeline predict_proba_one"] + cost["River Pipeline learn_one"]
    print(f"  ratio predict one by one / predict_proba_many   = {cost['predict one by one'] / many:.2f}")
    print(f"  ratio River Pipeline / direct (predict + learn)  = {wrapped / direct:.2f}")


def scorecard_rows(
    xs: list[Inputs], ys: list[bool], ratios: tuple[str, ...] = ()
) -> tuple[dict[str, dict[str, Any]], Any]:
    """Batch LR and the fitted scorecard's rows (2nd half), and the default card's fit result.

    The card with the data set's declared ``ratios`` (``--ratio``) is the
    ``fitted points scorecard``; with ratios, the same card without them is
    shown as well."""
    from bench.credit_baselines import batch_logistic, fitted_scorecard

    half = len(ys) // 2
    second = ys[half:]
    card_pds, fit = fitted_scorecard(xs, ys, half, ratios=ratios)
    rows = {
        "batch logistic regression": measures(batch_logistic(xs, ys, half), second),
        "fitted points scorecard": measures(card_pds, second),
    }
    if ratios:
        rows["  without the declared ratios"] = measures(fitted_scorecard(xs, ys, half)[0], second)
    for trend, name in (("auto_asc_desc", "  monotonic bins only"), ("auto", "  peak/valley bins allowed")):
        rows[name] = measures(fitted_scorecard(xs, ys, half, trend=trend, ratios=ratios)[0], second)
    return rows, fit


def report_scorecard(rows: dict[str, dict[str, Any]], fit: Any) -> None:
    """The scorecard's rows and its gap to batch LR (target: >= -0.01)."""
    kept = [c.field for c in fit.card.characteristics]
    ratios = f"; declared ratios: {', '.join(fit.options.ratios)}" if fit.options.ratios else ""
    print(f"\nscorecard: {len(kept)} characteristics: {', '.join(kept)}{ratios}")
    chosen = max(fit.selection, key=fit.selection.__getitem__) if fit.selection else fit.options.trend
    print(f"  chosen by cross-validation in the 1st half: {chosen}; {fit.selection}")
    for name, m in rows.items():
        print(row(name, "2nd half", m))
    lr, card = rows["batch logistic regression"]["auc"], rows["fitted points scorecard"]["auc"]
    print(f"  fitted scorecard AUC - batch LR   = {card - lr:+.4f}  (target: >= -0.01)")


def report_batch_baselines(
    xs: list[Inputs], ys: list[bool], online: dict[str, list[float]], ratios: tuple[str, ...] = ()
) -> None:
    """Batch LR, batch GBM and the fitted scorecard (first half) beside the best online model (2nd half)."""
    from bench.credit_baselines import batch_gbm

    half = len(ys) // 2
    second = ys[half:]
    rows, fit = scorecard_rows(xs, ys, ratios)
    report_scorecard(rows, fit)
    gbm = measures(batch_gbm(xs, ys, half), second)
    print(row("batch gradient boosting (LightGBM)", "2nd half", gbm))
    best_name, best = max(
        ((name, measures(pds[half:], second)) for name, pds in online.items() if not name.startswith("champion, ")),
        key=lambda t: t[1]["auc"],
    )
    print(row(f"best online: {best_name}"[:34], "2nd half", best))
    lr = rows["batch logistic regression"]["auc"]
    print(f"  best online AUC - batch GBM AUC   = {best['auc'] - gbm['auc']:+.4f}  (target: >= -0.01)")
    print(f"  best online AUC - batch LR AUC    = {best['auc'] - lr:+.4f}  (target: > 0)")
    from bench.credit_baselines import gbm_scoring_cost

    print("LightGBM scoring cost (us per application, one thread, vectorising the inputs included):")
    for name, us in gbm_scoring_cost(xs, ys, half).items():
        print(f"  {name:<30} {us:>8.1f}")


def main_dataset(name: str, delay: int, forest_too: bool, only: str | None = None) -> None:
    """The short run on one data set of bench.credit_baselines (``only="scorecard"``: batch LR and the
    fitted scorecard's rows alone, without the online runs)."""
    from bench.credit_baselines import RATIOS, load_dataset

    xs, ys = load_dataset(name)
    n, half = len(xs), len(xs) // 2
    versions = " ".join(f"{p}={metadata.version(p)}" for p in ("river", "scikit-learn", "lightgbm", "optbinning"))
    print(f"cpus={os.cpu_count()} python={platform.python_version()} {versions}")
    print(f"data={name} n={n} bad_rate={sum(ys) / n:.4f} delay={delay} second_half=[{half}:{n}]", flush=True)
    if only == "scorecard":
        report_scorecard(*scorecard_rows(cast(list[Inputs], xs), ys, RATIOS.get(name, ())))
        return
    started = time.perf_counter()
    _, online = online_runs(cast(list[Inputs], xs), ys, delay, forest_too)
    print(f"prequential runs: {time.perf_counter() - started:.1f} s", flush=True)
    print(f"\n{'model':<34} {'scored on':<12} {'AUC':>6} {'±SE':>6} {'KS':>6} {'log loss':>8} {'mean PD':>8} {'n':>6}")
    for model, pds in online.items():
        print(row(model, "2nd half", measures(pds[half:], ys[half:])))
    report_batch_baselines(cast(list[Inputs], xs), ys, online, RATIOS.get(name, ()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=int, default=500, help="applications scored before a label arrives")
    parser.add_argument("--batch", type=int, default=500, help="batch size of the cost measurements")
    parser.add_argument("--no-forest", action="store_true", help="skip the (slow) adaptive random forest")
    parser.add_argument("--data", default=None, help="a data set of bench.credit_baselines (the short run)")
    parser.add_argument(
        "--only", choices=["scorecard"], default=None, help="with --data: only batch LR and the fitted scorecard"
    )
    args = parser.parse_args(argv)
    if args.data:
        main_dataset(args.data, args.delay, not args.no_forest, args.only)
        return

    versions = " ".join(f"{p}={metadata.version(p)}" for p in ("river", "scikit-learn", "numpy"))
    print(f"cpus={os.cpu_count()} python={platform.python_version()} {versions}")
    apps, xs, ys = load()
    n, half, delay = len(xs), len(xs) // 2, args.delay
    print(
        f"data=lending_club n={n} bad_rate={sum(ys) / n:.4f} delay={delay} second_half=[{half}:{n}] "
        f"excluded={','.join(LENDER_PRICING)}",
        flush=True,
    )

    started = time.perf_counter()
    cc, online = online_runs(xs, ys, delay, not args.no_forest)
    print(f"prequential runs: {time.perf_counter() - started:.1f} s", flush=True)
    policy = load_config().policy
    scorecard = [decide(a, policy).score for a in apps]
    champion_pds = online["champion " + CHAMPION["name"]]

    auc = report_quality(online, scorecard, xs, ys)
    report_batch_baselines(xs, ys, online)
    report_with_pricing(xs, ys, delay)
    report_cold_start(champion_pds, scorecard, ys, delay)
    report_cutoffs(champion_pds, scorecard, ys, policy)

    from sklearn.metrics import roc_auc_score

    exact = roc_auc_score(ys[half:], champion_pds[half:])
    print(f"\nstreaming AUC vs scikit-learn's exact AUC (champion, 2nd half): {auc['champion']:.6f} vs {exact:.6f}")
    decision, reason = cc.should_promote(PromotionRule())
    print(f"champion/challenger over {cc.promotion_evidence()['n']} labels: promote={decision}: {reason}")

    report_costs(xs, ys, args.batch)
    print(f"  ratio online champion AUC / sklearn batch AUC (2nd half) = {auc['champion'] / auc['batch']:.3f}")
    print(f"online_logreg_auc_second_half: {auc['champion']:.4f}")


if __name__ == "__main__":
    main()
