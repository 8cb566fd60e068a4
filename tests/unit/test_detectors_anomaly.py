"""Transaction anomaly scores: features in [0, 1], quantile grading, warm-up, protection from flagged points."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from riskmon.detectors import DetectorConfigError, TransactionAnomalyDetector, transaction_features
from riskmon.detectors.anomaly import features
from riskmon.schemas import Level, Transaction

DAY = datetime(2026, 11, 29, tzinfo=UTC)
OUTLIER = features(amount=5000.0, type="cash_withdrawal", hour=3.0, channel="atm")


def normal(rng: random.Random) -> dict[str, float]:
    """An ordinary purchase: about 50, in the daytime, online or in a shop."""
    return features(
        amount=max(1.0, rng.gauss(50, 15)),
        type="purchase",
        hour=rng.uniform(8, 22),
        channel=rng.choice(["web", "mobile", "pos"]),
    )


def tx(**kw) -> Transaction:
    base = dict(
        transaction_id="t-1", customer_id="c-1", occurred_at="2026-11-29T03:30:00Z", amount=5000, type="cash_withdrawal"
    )
    return Transaction.from_dict({**base, **kw})


FEATURE_CASES = [
    # (transaction overrides, expected features subset)
    ({}, {"type_cash_withdrawal": 1.0, "type_purchase": 0.0, "cash": 1.0, "channel_other": 0.0}),  # cash at night
    ({"type": "purchase", "amount": 49.0}, {"cash": 0.0, "type_purchase": 1.0, "amount_log": 0.2427}),  # log10(50) / 7
    ({"type": "purchase", "merchant_category": "6011"}, {"cash": 1.0}),  # cash via the merchant category
    ({"channel": "atm", "type": "transfer"}, {"channel_atm": 1.0, "cash": 1.0}),  # ATM channel counts as cash
    ({"channel": "carrier-pigeon"}, {"channel_other": 1.0, "channel_web": 0.0}),  # unknown channel
    ({"occurred_at": "2026-11-29T18:00:00+00:00"}, {"hour_sin": 0.0, "hour_cos": 0.5}),  # 18:00: sin = -1, cos = 0
    ({"occurred_at": "2026-11-29T00:00:00+00:00"}, {"hour_sin": 0.5, "hour_cos": 1.0}),  # midnight
    ({"amount": 1e12}, {"amount_log": 1.0}),  # clipped at max_amount
]


@pytest.mark.parametrize("overrides,expected", FEATURE_CASES)
def test_transaction_features(overrides, expected) -> None:
    x = transaction_features(tx(**overrides))
    assert {k: x[k] for k in expected} == expected
    assert all(0.0 <= v <= 1.0 for v in x.values())


def test_hour_is_taken_in_the_given_time_zone() -> None:
    x = transaction_features(tx(occurred_at="2026-11-29T17:00:00Z"), tz=timezone(timedelta(hours=1)))
    assert (x["hour_sin"], x["hour_cos"]) == (0.0, 0.5)  # 18:00 local


def synthetic(seed: int, n: int, outliers_every: int, start: int):
    """(is outlier, features): normal purchases with a cash withdrawal of 5000 at 3am every ``outliers_every``."""
    rng = random.Random(seed)
    for i in range(n):
        yield (
            (i >= start and i % outliers_every == 0),
            (OUTLIER if i >= start and i % outliers_every == 0 else normal(rng)),
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_injected_outliers_are_graded_above_normal_points(seed) -> None:
    det = TransactionAnomalyDetector(seed=seed)
    graded = {True: Counter(), False: Counter()}
    scores = {True: [], False: []}
    for is_outlier, x in synthetic(seed, n=4000, outliers_every=200, start=1500):
        r = det.update(x)
        if not det.warming_up:
            graded[is_outlier][r.level] += 1
            scores[is_outlier].append(r.score)
            if is_outlier:
                assert r.level is not None and r.level >= Level.WARNING, r.reason
                assert r.learned is False
    n_normal = sum(graded[False].values())
    assert sum(graded[True].values()) == 12  # at 1600, 1800, ..., 3800
    assert min(scores[True]) > max(scores[False])  # the trees separate them completely
    assert graded[True][Level.CRITICAL] >= 11  # outliers are (nearly) all critical...
    assert graded[False][Level.CRITICAL] <= 0.002 * n_normal  # ...normal points almost never
    # quantile grading: about 1% of normal points reach warning by construction (q0.99), 5% info (q0.95)
    assert graded[False][Level.WARNING] + graded[False][Level.CRITICAL] <= 0.015 * n_normal
    assert graded[False][None] >= 0.93 * n_normal
    assert det.n_learned + det.n_flagged == det.n_seen == 4000


def test_does_not_learn_from_flagged_points() -> None:
    """A burst of the same outlier: the protected model keeps finding it odd, an unprotected one learns it."""
    probes = {}
    for protect in (Level.WARNING, None):
        rng = random.Random(1)
        det = TransactionAnomalyDetector(protect_from=protect, seed=7)
        for _ in range(1500):
            det.update(normal(rng))
        before = det.score_one(OUTLIER).score
        for _ in range(300):
            det.update(OUTLIER)
            det.update(normal(rng))
        probes[protect] = (before, det.score_one(OUTLIER).score)
    (p_before, p_after), (u_before, u_after) = probes[Level.WARNING], probes[None]
    assert p_before > 0.95 and u_before > 0.95
    assert p_after > 0.95  # still an outlier to the protected trees
    assert u_after < 0.6  # learned as normal by the unprotected ones


def test_warm_up_grades_nothing_and_learns_everything() -> None:
    det = TransactionAnomalyDetector(warmup=400, window_size=100)
    rng = random.Random(4)
    for i in range(400):
        r = det.update(OUTLIER if i % 50 == 0 else normal(rng))
        assert r.level is None and r.learned and r.reason == f"warming up: {i} of 400 observations"
    assert det.n_learned == 400 and not det.warming_up


def test_score_one_changes_nothing() -> None:
    det = TransactionAnomalyDetector(warmup=300, window_size=100)
    rng = random.Random(8)
    for _ in range(600):
        det.update(normal(rng))
    seen, thresholds = det.n_seen, det.thresholds
    first = det.score_one(OUTLIER)
    assert det.score_one(OUTLIER) == first and det.n_seen == seen and det.thresholds == thresholds
    assert first.level == Level.CRITICAL and first.learned is False
    assert first.reason.startswith("critical: score 0.9")


def test_min_score_floor_keeps_a_quiet_stream_quiet() -> None:
    """Quantiles alone flag the top 1% of a stream with no outliers; a floor stops that."""
    levels = {"warning": {"quantile": 0.99, "min_score": 0.9}, "critical": {"quantile": 0.999, "min_score": 0.95}}
    det = TransactionAnomalyDetector(levels, seed=2)
    rng = random.Random(2)
    flagged = sum(det.update(normal(rng)).level is not None for _ in range(2500))
    assert flagged == 0
    assert det.update(OUTLIER).level == Level.CRITICAL


def test_rolling_quantiles_are_deterministic() -> None:
    def run() -> list:
        det = TransactionAnomalyDetector(quantile_window=200, warmup=300, window_size=100, seed=3)
        return [(r.score, r.level, r.learned) for r in (det.update(x) for _, x in synthetic(3, 1200, 97, 400))]

    first = run()
    assert first == run()
    assert sum(learned is False for _, _, learned in first) >= 8  # the outliers at 485, 582, ... were flagged


CONFIG_CASES = [
    # (kwargs, field named)
    (dict(levels={"warning": 0.999, "critical": 0.99}), "levels.critical.quantile"),  # out of order
    (dict(levels={"warning": 1.5}), "levels.warning"),  # not a quantile
    (dict(levels={"warning": {"quantile": 0.99, "min": 0.5}}), "levels.warning.min"),  # misspelt key
    (dict(levels={"warning": {"min_score": 0.5}}), "levels.warning.quantile"),  # required
    (dict(levels={"loud": 0.99}), "levels.loud"),  # not a level
    (dict(warmup=200, window_size=250), "warmup"),  # warm-up shorter than the trees' first window
    (dict(protect_from="sometimes"), "protect_from"),
    (dict(quantile_window=3), "quantile_window"),
]


@pytest.mark.parametrize("kwargs,field", CONFIG_CASES)
def test_config_errors_name_the_field(kwargs, field) -> None:
    with pytest.raises(DetectorConfigError) as info:
        TransactionAnomalyDetector(**kwargs)
    assert info.value.field == field
