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
from riskmon.detectors.base import fraction
from riskmon.schemas.vocab import Level

__all__ = ["DetectorsConfig", "parse_detectors", "DetectorSettingError", "DEFAULT_FRAUD_BUDGETS"]

T = TypeVar("T")

_SHAPE: dict[str, set[str]] = {
    "": {"customer", "transactions", "portfolio", "model", "pipeline"},
    "customer": {"txn_velocity", "cash_24h", "exposure"},
    "transactions": {"anomaly", "fraud"},
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

    def fraud_budgets(self) -> dict[str, float]:
        """``txn_fraud``'s budget per level (``detectors.transactions.fraud.levels``), validated.

        Each level ``{budget: share}``, a share strictly between 0 and 1,
        smaller for each more severe level. A configuration without the
        section (written before it existed) gets :data:`DEFAULT_FRAUD_BUDGETS`.
        """
        transactions = self.raw.get("transactions", {})
        if not isinstance(transactions, Mapping) or "fraud" not in transactions:
            return dict(DEFAULT_FRAUD_BUDGETS)
        return _build("detectors.transactions.fraud", lambda: _fraud_budgets(transactions["fraud"]))

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


#: ``txn_fraud``'s budgets when the configuration has none: about 2% of transactions info or
#: above, 0.5% warning or above, 0.1% critical.
DEFAULT_FRAUD_BUDGETS = {"info": 0.02, "warning": 0.005, "critical": 0.001}


def _fraud_budgets(raw: Any) -> dict[str, float]:
    if not isinstance(raw, Mapping) or set(raw) != {"levels"}:
        extra = sorted(set(raw) - {"levels"}) if isinstance(raw, Mapping) else []
        raise DetectorConfigError(extra[0] if extra else "levels", "is the only setting: levels of {budget: share}")
    levels = raw["levels"]
    if not isinstance(levels, Mapping) or not levels:
        raise DetectorConfigError("levels", "must be a non-empty mapping of level name to {budget: share}")
    out: dict[Level, float] = {}
    for name, spec in levels.items():
        try:
            level = Level.parse(name)
        except ValueError:
            raise DetectorConfigError(f"levels.{name}", "is not a level: expected info, warning or critical") from None
        if not isinstance(spec, Mapping) or set(spec) != {"budget"}:
            raise DetectorConfigError(f"levels.{level}", "must be {budget: share}, the share of transactions it flags")
        out[level] = fraction(spec["budget"], f"levels.{level}.budget")
    ordered = sorted(out.items())
    for (lo, b_lo), (hi, b_hi) in zip(ordered, ordered[1:], strict=False):
        if not b_hi < b_lo:
            raise DetectorConfigError(
                f"levels.{hi}.budget", f"must be below levels.{lo}.budget ({b_lo:g}), got {b_hi:g}"
            )
    return {str(level): budget for level, budget in ordered}


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
    config.fraud_budgets()
    config.portfolio()
    config.portfolio_thresholds()
    config.psi()
    config.psi_thresholds()
    config.error_drift()
    config.lag_thresholds()
    return config
