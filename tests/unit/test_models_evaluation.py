"""Prequential measures against hand-computed cases; champion/challenger promotion reasons."""

from __future__ import annotations

import math
import random

import pytest

from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator, PromotionRule
from riskmon.models.online import OnlineCreditModel


def evaluate(pairs: list[tuple[float, bool]], **kw) -> PrequentialEvaluator:
    ev = PrequentialEvaluator(**kw)
    for score, bad in pairs:
        ev.update(score, bad)
    return ev


CASES = [
    # (scores and labels, AUC, KS)
    ([(0.1, False), (0.2, False), (0.8, True), (0.9, True)], 1.0, 1.0),  # perfect separation
    ([(0.9, False), (0.8, False), (0.2, True), (0.1, True)], 0.0, 1.0),  # reversed: KS is a distance
    ([(0.5, False), (0.5, True), (0.5, False), (0.5, True)], 0.5, 0.0),  # all tied: no information
    # bads at 0.3 and 0.05, goods at 0.1, 0.15, 0.2: 3 of 6 pairs ordered; CDF gap 0.5 after 0.05 and after 0.2
    ([(0.1, False), (0.2, False), (0.3, True), (0.15, False), (0.05, True)], 0.5, 0.5),
    # one bad (0.4) above 2 of 3 goods (0.1, 0.3 | 0.6): AUC 2/3; gap 2/3 just below 0.4
    ([(0.1, False), (0.3, False), (0.6, False), (0.4, True)], 2 / 3, 2 / 3),
    # a tie across classes counts half: bad 0.5 vs goods 0.5 and 0.2 -> (0.5 + 1) / 2
    ([(0.5, False), (0.2, False), (0.5, True)], 0.75, 0.5),
]


@pytest.mark.parametrize("pairs,auc,ks", CASES)
def test_auc_and_ks_by_hand(pairs: list, auc: float, ks: float) -> None:
    ev = evaluate(pairs)
    assert ev.roc_auc == pytest.approx(auc)
    assert ev.ks == pytest.approx(ks)


def test_log_loss_bad_rate_and_mean_pd_by_hand() -> None:
    ev = evaluate([(0.8, True), (0.4, False)])
    assert ev.log_loss == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert ev.n == 2 and ev.n_bad == 1 and ev.bad_rate == 0.5 and ev.mean_score == pytest.approx(0.6)


def test_log_loss_clips_certain_mistakes() -> None:
    ev = evaluate([(0.0, True), (1.0, False)])
    assert ev.log_loss == pytest.approx(-math.log(1e-15), rel=1e-4)  # finite, not inf


def test_auc_matches_exact_pairwise_count() -> None:
    rng = random.Random(3)
    pairs = [(rng.random() ** 3, rng.random() < 0.2) for _ in range(400)]
    bads = [s for s, b in pairs if b]
    goods = [s for s, b in pairs if not b]
    exact = sum((b > g) + 0.5 * (b == g) for b in bads for g in goods) / (len(bads) * len(goods))
    assert evaluate(pairs).roc_auc == pytest.approx(exact, abs=1e-4)
    assert evaluate(pairs, n_bins=10).roc_auc != pytest.approx(exact, abs=1e-4)  # coarse bins tie more


@pytest.mark.parametrize("pairs", [[], [(0.3, True)], [(0.3, False), (0.4, False)]])
def test_undefined_measures_are_none(pairs: list) -> None:
    ev = evaluate(pairs)
    assert ev.roc_auc is None and ev.ks is None
    assert ev.summary()["auc"] is None


@pytest.mark.parametrize("score", [-0.1, 1.5, math.nan])
def test_scores_outside_zero_one_are_refused(score: float) -> None:
    with pytest.raises(ValueError, match="score"):
        PrequentialEvaluator().update(score, True)


def test_evaluator_snapshot_round_trip() -> None:
    ev = evaluate(CASES[3][0])
    again = PrequentialEvaluator.restore(ev.snapshot())
    assert again.summary() == ev.summary()


# -- champion / challenger --------------------------------------------------------------


def labelled(n: int, seed: int = 5) -> tuple[list[dict], list[bool]]:
    rng = random.Random(seed)
    xs = [{"inquiries_6m": float(rng.randint(0, 6))} for _ in range(n)]
    return xs, [rng.random() < 0.1 + 0.1 * x["inquiries_6m"] for x in xs]


def judged(champion_pds, challenger_pds, ys) -> ChampionChallenger:
    """A comparison fed with chosen decision-time PDs (the models learn, the PDs are ours)."""
    cc = ChampionChallenger(OnlineCreditModel(name="champ"), OnlineCreditModel(name="chall"))
    cc.learn_many([{"a": 1.0}] * len(ys), ys, champion_pds, challenger_pds)
    return cc


YS = [i % 4 == 0 for i in range(400)]  # a quarter bad
NOISE = [0.25] * 400  # the champion knows only the bad rate: AUC 0.5
SHARP = [0.6 if y else 0.1 for y in YS]  # ranks perfectly, roughly calibrated
SHY = [0.02 if y else 0.01 for y in YS]  # ranks perfectly, badly calibrated

RULE_CASES = [
    # (champion PDs, challenger PDs, labels, rule, promote?, reason fragment)
    (NOISE, SHARP, YS[:100], PromotionRule(min_labels=200), False, "not enough labels: 100 < min_labels 200"),
    (NOISE, SHARP, [False] * 400, PromotionRule(min_labels=200), False, "AUC undefined"),
    (SHARP, SHARP, YS, PromotionRule(min_labels=200), False, "gain below min_auc_gain 0.0100"),
    (NOISE, SHY, YS, PromotionRule(min_labels=200), False, "increase above max_logloss_increase"),
    (NOISE, SHARP, YS, PromotionRule(min_labels=200), True, "AUC 1.0000 vs champion 0.5000 (+0.5000)"),
    (NOISE, SHY, YS, PromotionRule(min_labels=200, max_logloss_increase=10.0), True, "promote"),
]


@pytest.mark.parametrize("champion,challenger,ys,rule,promote,reason", RULE_CASES)
def test_promotion_rule_gives_its_reason(champion, challenger, ys, rule, promote, reason) -> None:
    n = len(ys)
    decision, why = judged(champion[:n], challenger[:n], ys).should_promote(rule)
    assert decision is promote
    assert reason in why


def test_promote_swaps_roles_and_records_the_evidence() -> None:
    cc = judged(NOISE, SHARP, YS)
    evidence = cc.promotion_evidence()
    assert evidence["n"] == 400 and evidence["delta"]["auc"] == pytest.approx(0.5)
    assert evidence["champion"]["version"] == "champ-n400"
    record = cc.promote()
    assert record["champion"] == "chall-n400" and record["previous_champion"] == "champ-n400"
    assert record["evidence"] == evidence
    assert record["champion_snapshot_hash"] == cc.champion.snapshot_hash
    assert cc.champion.version == "chall-n400" and cc.promotions == [record]
    # a fresh comparison: the demoted model must prove itself again
    assert cc.promotion_evidence()["n"] == 0
    assert cc.should_promote(PromotionRule(min_labels=1)) == (False, "not enough labels: 0 < min_labels 1")


def test_comparison_snapshot_round_trip() -> None:
    cc = judged(NOISE, SHARP, YS)
    cc.promote()
    again = ChampionChallenger.restore(cc.snapshot())
    assert again.snapshot() == cc.snapshot()
    assert again.promotions == cc.promotions and again.champion.version == "chall-n400"
    xs = [{"a": 1.0}, {"a": 3.0}]
    assert again.score_many(xs) == cc.score_many(xs)


def test_prequential_order_scores_before_learning() -> None:
    """Scores come from the models before they learn the labels they are judged on."""
    xs, ys = labelled(600)
    cc = ChampionChallenger(OnlineCreditModel(), OnlineCreditModel(learning_rate=0.05))
    champion_pds, challenger_pds = cc.score_many(xs)
    assert champion_pds == challenger_pds == [OnlineCreditModel().prior_pd] * 600  # nothing learned yet
    cc.learn_many(xs, ys, champion_pds, challenger_pds)
    assert cc.champion.n_learned == cc.challenger.n_learned == 600
    assert cc.champion_eval.roc_auc == 0.5  # judged on the prior they gave
    later, _ = cc.score_many(xs)
    assert later != champion_pds


def test_learn_many_refuses_mismatched_lengths() -> None:
    cc = ChampionChallenger(OnlineCreditModel(), OnlineCreditModel())
    with pytest.raises(ValueError, match="same length"):
        cc.learn_many([{}], [True], [0.1], [])


@pytest.mark.parametrize("kw", [{"min_labels": 0}, {"min_auc_gain": math.nan}, {"max_logloss_increase": math.inf}])
def test_promotion_rule_validates(kw: dict) -> None:
    with pytest.raises(ValueError):
        PromotionRule(**kw)
