"""Detectors: pure, stateful watchers of customers, the portfolio, the models and the pipeline.

Every detector is a small class in the shape of River's: the constructor
stores and validates its parameters (a :class:`DetectorConfigError` names the
field at fault, ``levels.critical.enter``) and calls ``_reset()``; one
``update(...)`` observes an event and returns what changed, with a reason;
the state is read through read-only properties. Nothing here does I/O, logs,
reads the environment or the wall clock: time is event time, a ``float`` of
epoch seconds (:func:`epoch` converts a record's aware datetime), and the
caller keeps one instance per key (customer, topic, model) in its own tables.

How the family fits together::

    event ──► a measure ──► ThresholdDetector.update(value, at) ──► Transition ──► alert_candidate(...) ──► Alert
              TumblingWindow / SlidingWindow (count, sum, rate)      (levels, hysteresis,       (risk.alerts shape,
              ExposureTracker (utilisation)                           min duration / count)      deterministic ids)
              PortfolioIndicators (rates, DPD buckets)
              PSIMonitor (psi), IngestionLag (lag)
    event ──► TransactionAnomalyDetector ──► AnomalyResult (graded by score quantiles itself)
    label ──► ErrorDriftDetector ──► DriftResult (a detection: build_alert(...))

* :mod:`~riskmon.detectors.threshold`: multi-level thresholds with hysteresis.
* :mod:`~riskmon.detectors.windows`: event-time windows with lateness, exposure.
* :mod:`~riskmon.detectors.anomaly`: transaction anomaly scores graded by budgets (rarity or Half-Space Trees).
* :mod:`~riskmon.detectors.rarity`: the rarity of a transaction's attribute values and behaviour.
* :mod:`~riskmon.detectors.behaviour`: a customer's behaviour and a transaction's features against it.
* :mod:`~riskmon.detectors.portfolio`: portfolio early-warning indicators.
* :mod:`~riskmon.detectors.drift`: PSI, concept drift on errors, ingestion lag.
* :mod:`~riskmon.detectors.candidates`: transitions as ``risk.alerts`` candidates.

>>> from riskmon.detectors import SlidingWindow, ThresholdDetector, alert_candidate
>>> window = SlidingWindow(size=3600, step=60)
>>> velocity = ThresholdDetector({"warning": {"enter": 3, "exit": 2}, "critical": {"enter": 6, "exit": 4}})
>>> changes = [velocity.update(window.update(t).current.count, at=t) for t in (0, 60, 120, 130)]
>>> [str(c.level) if c else None for c in changes]
[None, None, 'warning', None]
>>> alert_candidate(changes[2], detector="txn_velocity", subject={"kind": "customer", "id": "cust-7"},
...                 config_version="abc123", window="1h").summary
'txn_velocity on customer cust-7: entered warning: 3 >= 3 for 1 observation'
"""

from riskmon.detectors.anomaly import AnomalyResult, TransactionAnomalyDetector, transaction_features
from riskmon.detectors.base import DetectorConfigError, epoch, format_duration, utc
from riskmon.detectors.candidates import alert_candidate, alert_id, alerts_on, build_alert, dedup_key
from riskmon.detectors.drift import (
    DriftResult,
    ErrorDriftDetector,
    IngestionLag,
    LagValue,
    PSIMonitor,
    PSIResult,
)
from riskmon.detectors.portfolio import INDICATORS, Indicator, Observation, PortfolioIndicators
from riskmon.detectors.recent import RecentIds
from riskmon.detectors.threshold import LevelSpec, ThresholdDetector, Transition
from riskmon.detectors.windows import SlidingWindow, TumblingWindow, WindowUpdate, WindowValue

__all__ = [
    # shared
    "DetectorConfigError",
    "epoch",
    "utc",
    "format_duration",
    # thresholds
    "LevelSpec",
    "ThresholdDetector",
    "Transition",
    # windows and exposure
    "TumblingWindow",
    "SlidingWindow",
    "WindowValue",
    "WindowUpdate",
    "RecentIds",
    # anomaly
    "TransactionAnomalyDetector",
    "AnomalyResult",
    "transaction_features",
    # portfolio
    "PortfolioIndicators",
    "Indicator",
    "Observation",
    "INDICATORS",
    # drift
    "PSIMonitor",
    "PSIResult",
    "ErrorDriftDetector",
    "DriftResult",
    "IngestionLag",
    "LagValue",
    # alert candidates
    "alert_candidate",
    "alerts_on",
    "build_alert",
    "dedup_key",
    "alert_id",
]
