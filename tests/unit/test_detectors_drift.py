"""Drift: PSI grading, ADWIN / Page-Hinkley on error streams, ingestion lag."""

from __future__ import annotations

import random

import pytest

from riskmon.detectors import DetectorConfigError, ErrorDriftDetector, IngestionLag, PSIMonitor
from riskmon.detectors.drift import psi
from riskmon.schemas import Level

# -- PSI -----------------------------------------------------------------------------

PSI_CASES = [
    # (expected proportions, actual proportions, PSI rounded to 4 places)
    ([0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25], 0.0),  # identical
    ([0.5, 0.5], [0.6, 0.4], 0.0405),  # 0.1 ln 1.2 + 0.1 ln 1.25
    ([0.5, 0.5], [1.0, 0.0], 4.6043),  # an empty bin is smoothed to epsilon (1e-4), not infinite
    ([0.1] * 10, [0.19] + [0.09] * 9, 0.0672),  # one bin gains
]


@pytest.mark.parametrize("expected,actual,value", PSI_CASES)
def test_psi_formula(expected, actual, value) -> None:
    assert round(psi(expected, actual), 4) == value


def run_psi(shift: float, seed: int, n: int = 2000):
    rng = random.Random(seed)
    m = PSIMonitor(reference_size=n, window_size=n)
    for _ in range(n):
        m.update(rng.gauss(0.3, 0.1))
    for _ in range(n):
        r = m.update(rng.gauss(0.3 + shift, 0.1))
    return r


GRADING_CASES = [
    # (shift of the mean in score units (sd 0.1), seed, expected level, PSI bounds)
    (0.0, 1, None, (0.0, 0.05)),  # same distribution, fresh draws: sampling noise only
    (0.0, 2, None, (0.0, 0.05)),
    (0.04, 1, Level.WARNING, (0.1, 0.25)),  # 0.4 sd: moderate shift
    (0.04, 3, Level.WARNING, (0.1, 0.25)),
    (0.1, 1, Level.CRITICAL, (0.25, 5.0)),  # 1 sd: strong shift
    (-0.1, 2, Level.CRITICAL, (0.25, 5.0)),  # either direction
]


@pytest.mark.parametrize("shift,seed,level,bounds", GRADING_CASES)
def test_psi_grading(shift, seed, level, bounds) -> None:
    r = run_psi(shift, seed)
    assert r.level == level, r.reason
    assert bounds[0] <= r.psi < bounds[1]
    assert r.n == 2000


def test_psi_is_zero_for_the_reference_itself() -> None:
    rng = random.Random(9)
    values = [rng.betavariate(2, 5) for _ in range(1000)]
    m = PSIMonitor(window_size=1000)
    m.set_reference(values)
    for v in values:
        r = m.update(v)
    assert r.psi == pytest.approx(0.0, abs=1e-12) and r.level is None
    assert r.reason.startswith("psi 0 < warning 0.1: stable")


def test_psi_phases_and_rolling_window() -> None:
    m = PSIMonitor(reference_size=4, window_size=3, n_bins=2)
    assert [m.update(v).reason for v in (0.1, 0.2, 0.8, 0.9)] == [
        "building reference: 1 of 4",
        "building reference: 2 of 4",
        "building reference: 3 of 4",
        "reference fixed: 4 values, 2 bins",
    ]
    assert m.edges == (0.5,)
    assert m.update(0.1).reason == "filling current window: 1 of 3"
    m.update(0.9)
    assert m.update(0.1).psi == pytest.approx(psi([0.5, 0.5], [2 / 3, 1 / 3]))
    m.update(0.9)  # the first 0.1 leaves the window of 3
    assert m.psi == pytest.approx(psi([0.5, 0.5], [1 / 3, 2 / 3]))


def test_observing_scores_then_reading_the_last_result_is_what_update_returns() -> None:
    """The console observes a batch's scores and reads the result once: the same result, every phase."""
    rng = random.Random(4)
    scores = [rng.betavariate(2, 5) for _ in range(40)]
    updated = PSIMonitor(reference_size=10, window_size=8, n_bins=4)
    observed = PSIMonitor(reference_size=10, window_size=8, n_bins=4)
    for i, score in enumerate(scores):
        expected = updated.update(score)
        observed.observe(score)
        if i % 3 == 0 or i in (9, 10):  # read now and then, and right at the reference's completion
            assert observed.last_result() == expected
    assert observed.last_result() == updated.last_result()
    assert observed.last_result().psi is not None  # the window filled: a PSI, not a phase


def test_psi_reference_with_ties_keeps_distinct_bins() -> None:
    m = PSIMonitor(n_bins=10)
    m.set_reference([0.0] * 900 + [0.5] * 50 + [1.0] * 50)  # most scores identical
    assert m.edges == pytest.approx((0.0, 0.05))  # nine deciles collapse onto 0.0; the 90th interpolates
    assert len(m._expected) == 3 and sum(m._expected) == pytest.approx(1.0)


# -- concept drift on errors ------------------------------------------------------------


def errors(seed: int, n: int, p_before: float, p_after: float, change_at: int):
    rng = random.Random(seed)
    return [float(rng.random() < (p_before if i < change_at else p_after)) for i in range(n)]


DRIFT_CASES = [
    # (method, seed, error rate before, after, expected detection index range or None)
    ("adwin", 0, 0.1, 0.4, (2000, 2200)),  # abrupt rise from 10% to 40% errors: found within 200 labels
    ("adwin", 1, 0.1, 0.4, (2000, 2200)),
    ("adwin", 2, 0.3, 0.05, (2000, 2300)),  # a fall is drift too (ADWIN is two-sided)
    ("page_hinkley", 0, 0.1, 0.4, (2000, 2300)),  # Page-Hinkley, watching rises
    ("adwin", 0, 0.1, 0.1, None),  # stationary: no drift over 6000 labels
    ("adwin", 5, 0.25, 0.25, None),
    ("page_hinkley", 3, 0.1, 0.1, None),
]


@pytest.mark.parametrize("method,seed,before,after,window", DRIFT_CASES)
def test_error_drift(method, seed, before, after, window) -> None:
    kwargs = {"threshold": 20.0} if method == "page_hinkley" else {}
    det = ErrorDriftDetector(method, **kwargs)
    found = [i for i, e in enumerate(errors(seed, 6000, before, after, 2000)) if det.update(e, at=float(i)).detected]
    if window is None:
        assert found == [] and det.detections == 0
    else:
        assert found and window[0] <= found[0] < window[1], found


def test_drift_result_says_what_moved() -> None:
    det = ErrorDriftDetector()
    for i, e in enumerate(errors(0, 4000, 0.1, 0.4, 2000)):
        r = det.update(e, at=1000.0 + i)
        if r.detected:
            break
    assert (r.detected, r.level, r.at, r.n) == (True, Level.WARNING, 1000.0 + 2079, 2080)
    assert r.before < 0.12 < r.estimate
    assert r.reason == (
        "drift detected by ADWIN after 2080 errors: mean error 0.1088 over the 1664 dropped, 0.149 over the 416 kept"
    )
    quiet = det.update(0.0)
    assert (quiet.detected, quiet.level, quiet.reason) == (False, None, "no drift (ADWIN, 417 errors)")


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(method="ddm"), "method"),  # not offered
        (dict(delta=0), "delta"),
        (dict(method="page_hinkley", mode="sideways"), "mode"),
        (dict(level="loud"), "level"),
    ],
)
def test_drift_config_errors_name_the_field(kwargs, field) -> None:
    with pytest.raises(DetectorConfigError) as info:
        ErrorDriftDetector(**kwargs)
    assert info.value.field == field


# -- ingestion lag -----------------------------------------------------------------------

LAG_CASES = [
    # ((event time, processing time) rows, expected (lag, max lag) after each)
    ([(98, 100), (101, 110), (129, 130)], [(2, 2), (9, 9), (1, 9)]),  # max over the last 60 s
    ([(98, 100), (170, 175)], [(2, 2), (5, 5)]),  # 75 s later the first lag has left the window
    ([(105, 100)], [(-5, -5)]),  # event time ahead of processing time (clock skew) is reported as is
    ([(0, 100), (150, 140)], [(100, 100), (-10, 100)]),  # processing time going back is taken as the latest
]


@pytest.mark.parametrize("rows,expected", LAG_CASES)
def test_ingestion_lag(rows, expected) -> None:
    lag = IngestionLag(window=60, buckets=60)
    got = []
    for et, pt in rows:
        v = lag.update(event_time=et, processing_time=pt)
        got.append((v.lag, v.max_lag))
    assert got == expected
    assert (lag.lag, lag.max_lag) == got[-1]


def test_ingestion_lag_memory_is_bounded() -> None:
    lag = IngestionLag(window=300, buckets=30)
    rng = random.Random(1)
    for i in range(30_000):
        pt = i * 0.1  # 3000 s of processing time: ten windows
        lag.update(event_time=pt - rng.expovariate(1.0), processing_time=pt)
        assert len(lag._maxima) <= 31
    assert lag.n == 30_000 and lag.max_lag > lag.lag
