"""The ``detectors`` section of the configuration file, validated by building it.

Why build to validate: each detector already checks its own parameters and
names the field at fault (``levels.critical.enter``); building every detector
once at load time turns those checks into configuration errors with the full
path (``detectors.customer.txn_velocity.thresholds.levels.critical.enter``),
before a worker starts. The same factories then give each customer, topic
or model its own fresh instance at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from riskmon.detectors import (
    INDICATORS,
    DetectorConfigError,
    ErrorDriftDetector,
    PortfolioIndicators,
    PSIMonitor,
    SlidingWindow,
    ThresholdDetector,
    TransactionAnomalyDetector,
)

__all__ = ["DetectorsConfig", "parse_detectors", "DetectorSettingError"]

T = TypeVar("T")

_SHAPE: dict[str, set[str]] = {
    "": {"customer", "transactions", "portfolio", "model", "pipeline"},
    "customer": {"txn_velocity", "cash_24h", "exposure"},
    "transactions": {"anomaly"},
    "portfolio": {"indicators", "thresholds"},
    "model": {"psi", "psi_thresholds", "error_drift"},
    "pipeline": {"ingestion_lag_thresholds"},
}


class DetectorSettingError(ValueError):
    """A detector setting is wrong; ``field`` is its full dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _build(path: str, factory: Callable[[], T]) -> T:
    try:
        return factory()
    except DetectorConfigError as exc:
        field = f"{path}.{exc.field}" if exc.field else path
        raise DetectorSettingError(field, exc.message) from None
    except TypeError as exc:  # an unknown keyword argument
        raise DetectorSettingError(path, f"unknown setting ({exc})") from None


def _section(raw: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    node: Any = raw
    for part in [p for p in path.split(".") if p]:
        if not isinstance(node, Mapping) or part not in node:
            raise DetectorSettingError(f"detectors.{path}", "is required")
        node = node[part]
    if not isinstance(node, Mapping):
        raise DetectorSettingError(f"detectors.{path}", "must be a mapping")
    return node


@dataclass(frozen=True)
class DetectorsConfig:
    """Factories of fresh detectors, from a validated ``detectors`` section."""

    raw: Mapping[str, Any]

    def _get(self, path: str) -> Mapping[str, Any]:
        return _section(self.raw, path)

    def window(self, name: str) -> SlidingWindow:
        return _build(
            f"detectors.customer.{name}.window", lambda: SlidingWindow(**self._get(f"customer.{name}.window"))
        )

    def customer_thresholds(self, name: str) -> ThresholdDetector:
        path = f"customer.{name}.thresholds"
        return _build(f"detectors.{path}", lambda: ThresholdDetector.from_config(self._get(path)))

    def anomaly(self) -> TransactionAnomalyDetector:
        return _build(
            "detectors.transactions.anomaly", lambda: TransactionAnomalyDetector(**self._get("transactions.anomaly"))
        )

    def portfolio(self) -> PortfolioIndicators:
        return _build(
            "detectors.portfolio.indicators", lambda: PortfolioIndicators(**self._get("portfolio.indicators"))
        )

    def portfolio_thresholds(self) -> dict[str, ThresholdDetector]:
        blocks = self._get("portfolio.thresholds")
        out = {}
        for name in blocks:
            if name not in INDICATORS:
                raise DetectorSettingError(
                    f"detectors.portfolio.thresholds.{name}", f"is not an indicator; known: {', '.join(INDICATORS)}"
                )
            out[name] = _build(
                f"detectors.portfolio.thresholds.{name}", partial(ThresholdDetector.from_config, blocks[name])
            )
        return out

    def psi(self) -> PSIMonitor:
        return _build("detectors.model.psi", lambda: PSIMonitor(**self._get("model.psi")))

    def psi_thresholds(self) -> ThresholdDetector:
        return _build(
            "detectors.model.psi_thresholds", lambda: ThresholdDetector.from_config(self._get("model.psi_thresholds"))
        )

    def error_drift(self) -> ErrorDriftDetector:
        return _build("detectors.model.error_drift", lambda: ErrorDriftDetector(**self._get("model.error_drift")))

    def lag_thresholds(self) -> ThresholdDetector:
        path = "pipeline.ingestion_lag_thresholds"
        return _build(f"detectors.{path}", lambda: ThresholdDetector.from_config(self._get(path)))


def parse_detectors(raw: Any) -> DetectorsConfig:
    """Validate the ``detectors`` section by building every detector once."""
    if not isinstance(raw, Mapping):
        raise DetectorSettingError("detectors", "must be a mapping")
    for section, allowed in _SHAPE.items():
        node = _section(raw, section) if section else raw
        extra = sorted(set(node) - allowed)
        if extra:
            where = f"detectors.{section}.{extra[0]}" if section else f"detectors.{extra[0]}"
            raise DetectorSettingError(where, "is not a known setting (check its spelling)")
    config = DetectorsConfig(raw)
    for name in ("txn_velocity", "cash_24h"):
        config.window(name)
    for name in ("txn_velocity", "cash_24h", "exposure"):
        config.customer_thresholds(name)
    config.anomaly()
    config.portfolio()
    config.portfolio_thresholds()
    config.psi()
    config.psi_thresholds()
    config.error_drift()
    config.lag_thresholds()
    return config
