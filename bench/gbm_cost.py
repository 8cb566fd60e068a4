"""The LightGBM champion's cost on the decision path, against the default champion.

``python -m bench.gbm_cost``: Lending Club's first half trains the default
champion (``logreg-binned``), the previous challengers (``logreg-slow``, and the LightGBM model
``riskmon.models.gbm`` refitted on its window of the last 5,000 labels, the default challenger) and a blend; the
second half is scored by :meth:`riskmon.applications.scoring.ModelScorer.score`,
the decision path's own scoring step (inputs, both roles, the scorecard,
explanations of the deciding model), in batches of 1, 5 and 20. Three
set-ups, measured in alternating rounds, best of ``--rounds``:

* ``before``: champion ``logreg-binned``, challenger ``logreg-slow`` (scored in shadow), the previous default;
* ``gbm challenger``: champion ``logreg-binned``, challenger the GBM (not scored: the learner judges it),
  the default before the blend;
* ``gbm champion``: the GBM promoted, ``logreg-binned`` its challenger: the GBM scores and explains
  (``pred_contrib``) every application;
* ``blend challenger``: champion ``logreg-binned``, challenger the blend of ``riskmon.models.blend``
  (not scored: the learner judges it), the default now;
* ``blend champion``: the blend promoted: both its members score and explain every application.

Reported as us per application and as a ratio to ``before``, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from importlib import metadata

from riskmon.applications.scoring import ModelScorer
from riskmon.config import load_config
from riskmon.demo.data import load_records
from riskmon.models.blend import BlendModel
from riskmon.models.families import Model, make_model
from riskmon.models.features import model_inputs
from riskmon.models.gbm import GbmCreditModel
from riskmon.schemas import Application

#: The LightGBM challenger (default_config.yaml's).
GBM = {"family": "lightgbm", "window": 5000, "refit_every": 500, "min_class": 50, "n_estimators": 100}
#: The blend option, with its default members (``riskmon.models.blend.DEFAULT_MEMBERS``).
BLEND = {"family": "blend"}


def _setups(apps: list[Application], ys: list[bool]) -> dict[str, dict[str, Model]]:
    config = load_config()
    xs = [model_inputs(a) for a in apps]
    binned = make_model(config.models.champion.name, config.models.champion.params)
    slow = make_model("logreg-slow", {"optimizer": "sgd", "learning_rate": 0.002})
    gbm = make_model("gbm", GBM)
    blend = make_model("blend", BLEND)
    for model in (binned, slow, gbm, blend):
        model.learn_many(xs, ys)
    assert isinstance(gbm, GbmCreditModel) and isinstance(blend, BlendModel)
    for refitted in (gbm, *blend.refits_due()):
        refitted.refit()
    return {
        "before": {"champion": binned, "challenger": slow},
        "gbm challenger": {"champion": binned, "challenger": gbm},
        "gbm champion": {"champion": gbm, "challenger": binned},
        "blend challenger": {"champion": binned, "challenger": blend},
        "blend champion": {"champion": blend, "challenger": binned},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--applications", type=int, default=2000, help="second-half applications scored per round")
    args = parser.parse_args(argv)
    versions = " ".join(f"{p}={metadata.version(p)}" for p in ("river", "lightgbm", "numpy"))
    print(f"cpus={os.cpu_count()} python={platform.python_version()} {versions}")
    records = load_records("lending_club")
    apps = [Application.from_dict(r.application) for r in records]
    ys = [r.is_bad for r in records]
    half = len(apps) // 2
    setups = _setups(apps[:half], ys[:half])
    test = apps[half : half + args.applications]
    policy = load_config().model_policy
    best: dict[tuple[str, int], float] = {}
    for _ in range(args.rounds):
        for size in (1, 5, 20):
            batches = [test[i : i + size] for i in range(0, len(test), size)]
            for name, models in setups.items():
                scorer = ModelScorer(None, min_labels=0)
                scorer.models = dict(models)
                started = time.perf_counter()
                for batch in batches:
                    scorer.score(batch, policy)
                us = (time.perf_counter() - started) / len(test) * 1e6
                best[name, size] = min(best.get((name, size), us), us)
    print(f"\nModelScorer.score, us per application (best of {args.rounds} rounds of {len(test)} applications):")
    print(f"{'set-up':<16}" + "".join(f"{f'batch {s}':>12}{'ratio':>7}" for s in (1, 5, 20)))
    for name in setups:
        cells = "".join(f"{best[name, s]:>12.1f}{best[name, s] / best['before', s]:>7.2f}" for s in (1, 5, 20))
        print(f"{name:<16}{cells}")


if __name__ == "__main__":
    main()
