"""What every detector must do (after River's shared estimator checks): pickle, reset, repr, determinism."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from riskmon.detectors import (
    ErrorDriftDetector,
    IngestionLag,
    PortfolioIndicators,
    PSIMonitor,
    SlidingWindow,
    ThresholdDetector,
    TransactionAnomalyDetector,
    TumblingWindow,
)
from riskmon.detectors.anomaly import features
from riskmon.portfolio.exposure import ExposureTracker


def _values(seed: int, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.random() for _ in range(n)]


# (name, factory, step(detector, i, x) -> comparable result); x is a seeded uniform in [0, 1)
DETECTORS = [
    (
        "threshold",
        lambda: ThresholdDetector({"warning": {"enter": 0.7, "exit": 0.5, "min_count": 2}}),
        lambda d, i, x: d.update(x, at=float(i)),
    ),
    ("tumbling", lambda: TumblingWindow(size=10, allowed_lateness=5), lambda d, i, x: d.update(i - 8 * x, x)),
    ("sliding", lambda: SlidingWindow(size=20, step=5, allowed_lateness=10), lambda d, i, x: d.update(i - 12 * x, x)),
    (
        "exposure",
        lambda: ExposureTracker(limit=100),
        lambda d, i, x: d.approve(f"a{i}", 10 * x) if i % 2 else d.repay(f"a{i - 1}", 5 * x, event_id=f"e{i}"),
    ),
    (
        "anomaly",
        lambda: TransactionAnomalyDetector(warmup=60, window_size=50, n_trees=3, height=4),
        lambda d, i, x: d.update(features(amount=10 + 100 * x, type="purchase", hour=24 * x)),
    ),
    (
        "portfolio",
        lambda: PortfolioIndicators(min_decisions=1, min_loans=1),
        lambda d, i, x: (
            d.observe(outcome=("approve", "review", "reject")[int(3 * x)], at=float(i), latency_ms=x),
            d.observe_loan(loan_id=f"L{i % 7}", at=float(i), days_past_due=int(100 * x), status="late"),
            d.values(),
        ),
    ),
    ("psi", lambda: PSIMonitor(reference_size=30, window_size=20), lambda d, i, x: d.update(x * (1 + i / 100))),
    ("adwin", lambda: ErrorDriftDetector(), lambda d, i, x: d.update(float(x < (0.1 if i < 100 else 0.6)))),
    (
        "page_hinkley",
        lambda: ErrorDriftDetector("page_hinkley", threshold=5),
        lambda d, i, x: d.update(float(x < (0.1 if i < 100 else 0.6))),
    ),
    ("lag", lambda: IngestionLag(window=10), lambda d, i, x: d.update(event_time=i - 5 * x, processing_time=float(i))),
]
IDS = [d[0] for d in DETECTORS]


def _run(det, step, xs, offset=0):
    return [step(det, offset + i, x) for i, x in enumerate(xs)]


@pytest.mark.parametrize("name,factory,step", DETECTORS, ids=IDS)
def test_pickled_state_continues_identically(name, factory, step) -> None:
    xs = _values(1, 200)
    det = factory()
    _run(det, step, xs[:100])
    clone = pickle.loads(pickle.dumps(det))
    assert _run(clone, step, xs[100:], 100) == _run(det, step, xs[100:], 100)


@pytest.mark.parametrize("name,factory,step", DETECTORS, ids=IDS)
def test_reset_gives_a_fresh_detector(name, factory, step) -> None:
    xs = _values(2, 150)
    det = factory()
    first = _run(det, step, xs)
    det._reset()
    assert _run(det, step, xs) == first  # also: same inputs, same outputs (seeded, no clock)
    assert _run(factory(), step, xs) == first


@pytest.mark.parametrize("name,factory,step", DETECTORS, ids=IDS)
def test_repr_and_deepcopy(name, factory, step) -> None:
    det = factory()
    assert type(det).__name__ in repr(det)
    _run(det, step, _values(3, 10))
    assert repr(copy.deepcopy(det)) == repr(det)
