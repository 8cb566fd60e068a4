"""The learner's CPU per label with each challenger: its own step, and the refits it hands to its thread.

    python -m bench.learner_cost [--data lending_club] [--labels 8000] [--rounds 3]

The live learner (:mod:`riskmon.learning.learner`) judges and learns each
batch of labels on its event loop, then hands the refits due
(:mod:`riskmon.models.refits`) to a background thread. Here the same
``learn_examples`` runs on batches of 100 labels of a data set's stream,
with the configured champion and, in alternating rounds, each challenger;
the refits run in line and are timed apart. Process CPU time, microseconds
per label; the ceiling of one learner process is about 1e6 / (step +
refits) labels a second when it has a core of its own.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping
from typing import Any

from bench.credit_baselines import load_dataset
from riskmon.config import load_config
from riskmon.learning.learner import LearnerState, learn_examples, refits_due
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator
from riskmon.models.families import make_model

#: The challengers compared: the default and the LightGBM model alone (the challenger before).
CHALLENGERS: Mapping[str, Mapping[str, Any]] = {
    "gbm": {"family": "lightgbm"},
    "blend": {"family": "blend"},
}


def one_run(examples: list[dict], challenger: str, batch: int = 100) -> tuple[float, float]:
    """Microseconds of CPU per label: the learner's step, and the refits."""
    models = load_config().models
    state = LearnerState(
        ChampionChallenger(
            make_model(models.champion.name, models.champion.params),
            make_model(challenger, CHALLENGERS[challenger]),
        ),
        PrequentialEvaluator(),
    )
    step = refits = 0.0
    for start in range(0, len(examples), batch):
        t0 = time.process_time()
        learn_examples(state, examples[start : start + batch], clock=lambda: 0.0, config_version="bench")
        t1 = time.process_time()
        for model in refits_due(state):
            model.refit()
        t2 = time.process_time()
        step, refits = step + t1 - t0, refits + t2 - t1
    return step / len(examples) * 1e6, refits / len(examples) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="lending_club")
    parser.add_argument("--labels", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    xs, ys = load_dataset(args.data)
    champion = load_config().models.champion.name
    examples = [
        {"application_id": f"a{i}", "inputs": x, "label": y, "scores": {champion: 0.05}}
        for i, (x, y) in enumerate(zip(xs[: args.labels], ys[: args.labels], strict=True))
    ]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in CHALLENGERS}
    for round_ in range(args.rounds):
        for name in CHALLENGERS:
            results[name].append(one_run(examples, name))
            step, refits = results[name][-1]
            print(f"round {round_} {name:<6} step {step:6.0f} us/label  refits {refits:6.0f} us/label", flush=True)
    base = statistics.median(s + r for s, r in results["gbm"])
    print(f"\ndata={args.data} labels={len(examples)} rounds={args.rounds} (medians, CPU us per label)")
    for name, runs in results.items():
        step = statistics.median(s for s, _ in runs)
        refits = statistics.median(r for _, r in runs)
        total = statistics.median(s + r for s, r in runs)
        print(
            f"{name:<6} step {step:6.0f}  refits {refits:6.0f}  total {total:6.0f} ({total / base:.2f} of gbm)"
            f"  ceiling ~{1e6 / total:,.0f} labels/s"
        )


if __name__ == "__main__":
    main()
