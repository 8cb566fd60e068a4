"""Calibration per grade (Jeffreys traffic lights, model alerts) and the cut-off strategy."""

from __future__ import annotations

import random

import pytest

from riskmon.decisioning.cutoffs import strategy_curve, suggest_cutoffs
from riskmon.learning.learner import LearnerState, learn_examples
from riskmon.models.calibration import CalibrationTracker, jeffreys_p_value, light_for
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator
from riskmon.models.online import OnlineCreditModel


def test_jeffreys_flags_pds_that_are_too_low_or_too_high_and_passes_right_ones() -> None:
    assert light_for(jeffreys_p_value(400, 20, 0.05)[0]) == "green"  # 5% predicted, 5% observed
    p, direction = jeffreys_p_value(400, 40, 0.05)  # 10% observed: PDs too low
    assert light_for(p) == "red" and direction == "too low"
    p, direction = jeffreys_p_value(400, 5, 0.05)  # 1.25% observed: PDs too high (the hand-set card's fault)
    assert light_for(p) == "red" and direction == "too high"
    assert light_for(jeffreys_p_value(400, 29, 0.05)[0]) == "yellow"


def test_the_tracker_grades_by_pd_and_needs_enough_labels_per_grade() -> None:
    rng = random.Random(1)
    tracker = CalibrationTracker((0.03, 0.06, 0.12, 0.25))
    for _ in range(2000):
        pd = rng.choice([0.02, 0.05, 0.10])
        tracker.update(pd, rng.random() < pd)  # calibrated
    for _ in range(10):
        tracker.update(0.5, True)  # grade E: too few to judge
    by_grade = {c.grade: c for c in tracker.checks()}
    assert [by_grade[g].light for g in "ABC"] == ["green", "green", "green"]
    assert by_grade["D"].n == 0 and by_grade["D"].light == "none"
    assert by_grade["E"].light == "none" and by_grade["E"].direction == "too few labels"
    assert by_grade["B"].expected == pytest.approx(0.05)
    assert 0.0 < tracker.summary()["brier"] < 0.1


def _examples(n: int, pd: float, bad_rate: float, rng: random.Random, start: int = 0) -> list[dict]:
    return [
        {
            "application_id": f"a{start + i}",
            "inputs": {"amount": 1000.0 + i},
            "label": rng.random() < bad_rate,
            "scores": {"scorecard": pd, "logreg": pd, "logreg-slow": pd},
        }
        for i in range(n)
    ]


def test_the_learner_raises_a_calibration_alert_when_a_grade_turns_red_and_resolves_it() -> None:
    rng = random.Random(3)
    state = LearnerState(
        ChampionChallenger(OnlineCreditModel(name="logreg"), OnlineCreditModel(name="logreg-slow")),
        PrequentialEvaluator(),
    )
    # grade B (PD 0.05) while 20% go bad: every model's PDs are too low there
    alerts = learn_examples(state, _examples(300, 0.05, 0.20, rng), clock=lambda: 1000.0, config_version="v")
    calibration = [a for a in alerts if a.detector == "calibration"]
    assert {a.subject.id for a in calibration} == {"scorecard:grade-B", "champion:grade-B", "challenger:grade-B"}
    assert all(a.level == "critical" and a.status == "firing" for a in calibration)
    assert "PDs too low" in calibration[0].summary and calibration[0].labels["grade"] == "B"
    # nothing changed: no new alert
    assert not [a for a in learn_examples(state, [], clock=lambda: 1001.0, config_version="v")]
    # then many loans behave as predicted: the light goes green and the alert resolves
    later = learn_examples(state, _examples(6000, 0.05, 0.05, rng, start=300), clock=lambda: 2000.0, config_version="v")
    resolved = [a for a in later if a.detector == "calibration"]
    assert resolved and all(a.status == "resolved" for a in resolved)
    assert state.calibration is not None and state.calibration.summary()["champion"]["worst_light"] == "green"


def test_the_strategy_curve_trades_approvals_for_bad_rate() -> None:
    rng = random.Random(5)
    pds = [rng.random() * 0.3 for _ in range(5000)]
    bad = [rng.random() < p for p in pds]
    curve = strategy_curve(pds, bad, points=20)
    rates = [c.approval_rate for c in curve]
    assert rates == sorted(rates) and rates[-1] == 1.0
    assert curve[0].bad_rate_approved < curve[-1].bad_rate_approved


def test_suggested_cutoffs_meet_both_targets_and_report_what_they_give() -> None:
    rng = random.Random(6)
    pds = [rng.random() * 0.3 for _ in range(5000)]
    bad = [rng.random() < p for p in pds]
    s = suggest_cutoffs(pds, bad, max_bad_rate=0.06, max_review_rate=0.2)
    assert s.feasible and s.bad_rate_approved <= 0.06 and s.review_rate <= 0.2
    assert s.approve_below <= s.reject_at_or_above
    assert s.approval_rate + s.review_rate + s.reject_rate == pytest.approx(1.0)
    # the rates are what those cut-offs give
    approved = [y for p, y in zip(pds, bad, strict=True) if p < s.approve_below]
    assert s.approval_rate == pytest.approx(len(approved) / len(pds))
    assert s.bad_rate_approved == pytest.approx(sum(approved) / len(approved))
    # approving any more would break the bad-rate target
    looser = suggest_cutoffs(pds, bad, max_bad_rate=0.08, max_review_rate=0.2)
    assert looser.approval_rate > s.approval_rate


def test_hard_rules_count_and_impossible_targets_say_why() -> None:
    pds = [0.01] * 50 + [0.2] * 50
    bad = [False] * 50 + [True] * 50
    forced = [1] * 30 + [0] * 70  # a rule sends 30 low-PD applications to review
    s = suggest_cutoffs(pds, bad, max_bad_rate=0.05, max_review_rate=0.5, forced=forced)
    assert s.feasible and s.approval_rate == pytest.approx(0.2) and s.review_rate == pytest.approx(0.3)
    impossible = suggest_cutoffs(pds, bad, max_bad_rate=0.05, max_review_rate=0.1, forced=forced)
    assert not impossible.feasible and "review" in impossible.note
    assert not suggest_cutoffs([0.5, 0.6], [True, True], max_bad_rate=0.1, max_review_rate=1.0).feasible
