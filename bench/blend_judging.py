"""How far the learner's judging of a blend challenger is from decision-time evidence.

    python -m bench.blend_judging credit_data|lending_club|taiwan_credit_cards|uci_credit_cards

A blend holding a LightGBM member is a challenger the scorers skip: the
learner scores each label's inputs just before learning it
(:mod:`riskmon.learning.learner`). Its trees change only at a refit, but its
online member learns every label, so that PD is not exactly the one the
blend gave at decision time. On the same stream as :mod:`bench.model_quality`
(labels 500 applications late; the members refitted in line when due)
this prints the second-half AUC of both PDs (second half up to the last
label learned) and the size of the blend's snapshot and of its pickled live
state (windows included).
"""

from __future__ import annotations

import pickle
import sys

from bench.credit_baselines import load_dataset
from bench.model_quality import InLine, measures
from riskmon.models.families import make_model


def main(argv: list[str] | None = None) -> None:
    name = (argv if argv is not None else sys.argv[1:] or ["credit_data"])[0]
    xs, ys = load_dataset(name)
    delay, half = 500, len(xs) // 2
    blend = InLine(make_model("blend", {"family": "blend"}))
    at_decision: list[float] = []
    at_label: list[float] = []
    for i, x in enumerate(xs):
        at_decision.append(blend.predict_proba_many([x])[0])
        j = i - delay
        if j >= 0:
            at_label.append(blend.predict_proba_many([xs[j]])[0])
            blend.learn_many([xs[j]], [ys[j]])
    end = len(at_label)
    decided = measures(at_decision[half:end], ys[half:end])["auc"]
    judged = measures(at_label[half:end], ys[half:end])["auc"]
    print(f"data={name} n={len(xs)} delay={delay} scored on [{half}:{end}]")
    print(f"blend AUC, PDs at decision time: {decided:.4f}")
    print(f"blend AUC, PDs at label time (as the learner judges it): {judged:.4f} ({judged - decided:+.4f})")
    model = blend.model
    snapshot_kb, state_mb = len(model.snapshot()) / 1e3, len(pickle.dumps(model)) / 1e6
    print(f"snapshot {snapshot_kb:.0f} KB, learner's pickled state of it {state_mb:.1f} MB")


if __name__ == "__main__":
    main()
