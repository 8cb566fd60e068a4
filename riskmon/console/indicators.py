"""The console's indicator centre: the numbers risk-ops watch, now and over the last hour.

Decision indicators are recomputed here rather than asked of the portfolio
watch: that watch runs on one worker only (whichever holds
``risk.portfolio.events``) and keeps its state in memory. The console runs on
every worker, so each one reads the same single-partition topic without a
consumer group and feeds the same pure indicators
(:class:`~riskmon.detectors.PortfolioIndicators`, built from the same
configuration, so the numbers are the ones the detectors threshold on) and
the same score-drift monitor (:class:`~riskmon.detectors.drift.PSIMonitor`,
restarted when another model starts deciding, as the watch does). Their
windows are an hour of decisions: small.

Loan indicators (overdue, default) are not: their window is the latest event
of every loan repaid in 30 days, the largest state the watch keeps, and an
hour's replay would not rebuild it anyway. So the console shows the watch's
own loan rates, which it writes to Redis after each batch with repayments
(:meth:`on_loan_rates`, read every 10 s).

Series (:class:`~riskmon.console.series.Buckets`, keyed by Kafka record time):
decision latency p50/p95 (from each decision's ``latency_ms``), approval,
review and reject rates, overdue and default rates, score PSI, alerts raised
by level (a new episode or a change of level seen on ``risk.alerts``), and
each model's prequential AUC (read from the worker's metrics).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from riskmon.console.series import Buckets
from riskmon.detectors import epoch
from riskmon.detectors.config import DetectorsConfig
from riskmon.detectors.portfolio import LOAN_INDICATORS
from riskmon.schemas import parse_timestamp
from riskmon.schemas.vocab import LEVELS

__all__ = ["IndicatorCentre", "RATE_INDICATORS", "LATENCY_QUANTILES"]

#: The portfolio watch's indicators the console charts and shows.
RATE_INDICATORS = ("approval_rate", "review_rate", "reject_rate", "decision_latency_ms", "overdue_rate", "default_rate")
LATENCY_QUANTILES = (0.5, 0.95)
_SEEN_EPISODES = 10_000


class IndicatorCentre:
    """Feeds portfolio events, alerts and model AUC into current values and time series."""

    def __init__(self, detectors: DetectorsConfig, *, step: float = 10.0, capacity: int = 360) -> None:
        self._config = detectors
        self.indicators = detectors.portfolio()
        self.psi = detectors.psi()
        self._psi_reason = "no scores yet"
        self._psi_value: float | None = None
        self._psi_unread = False  # scores observed since _psi_value was read (_read_psi)
        self._model: str | None = None
        self.series = Buckets(step=step, capacity=capacity)
        self._episodes: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._thresholds = _thresholds(detectors)
        self._auc: dict[str, float] = {}
        self._calibration: dict[str, dict[str, str]] = {}
        self._loans: dict[str, dict[str, Any]] = {}  # the watch's loan indicators, by name
        self.skipped = 0  # portfolio events the console could not read

    def on_portfolio(self, doc: Mapping[str, Any], t: float) -> None:
        """One message of ``risk.portfolio.events`` (``{"events": [...]}``), recorded at time ``t``."""
        events = doc.get("events")
        if not isinstance(events, list):
            self.skipped += 1
            return
        for event in events:
            try:
                self._event(event, t)
            except (KeyError, TypeError, ValueError):
                self.skipped += 1
        self._read_psi()
        for name, indicator in self.indicators.values().items():
            if name in RATE_INDICATORS and name not in LOAN_INDICATORS:
                self.series.set(name, t, indicator.value)
        self.series.set("psi", t, self._psi_value)

    def _event(self, event: Mapping[str, Any], t: float) -> None:
        at = epoch(parse_timestamp(event["at"], "at"))
        if event["kind"] == "decision":
            self.indicators.observe(
                outcome=event["outcome"], at=at, latency_ms=event["latency_ms"], decision_id=event["decision_id"]
            )
            self.series.sample("latency_ms", t, float(event["latency_ms"]))
            self._score(event.get("model"), float(event["score"]))
        # repayments: the loan rates come from the watch (on_loan_rates), no loan window here

    def _score(self, model: str | None, score: float) -> None:
        if model is not None and model != self._model:
            # a new deciding model has a score distribution of its own: a new reference, not drift
            self._read_psi()
            self._model, self.psi, self._psi_value = model, self._config.psi(), None
        self.psi.observe(score)
        self._psi_unread = True

    def _read_psi(self) -> None:
        """The PSI and its reason after the scores observed since the last read.

        Read once per message and before a model change, not after every score: only
        the latest value is shown, and computing it (the PSI over the bins and its
        reason's text) per decision cost every worker's console about 9 us per decision."""
        if self._psi_unread:
            self._psi_unread = False
            result = self.psi.last_result()
            self._psi_value, self._psi_reason = result.psi, result.reason

    def on_loan_rates(self, values: Mapping[str, Mapping[str, Any]], t: float) -> None:
        """The portfolio watch's loan indicators (name -> ``{value, n, window, reason}``), read at ``t``."""
        for name in LOAN_INDICATORS:
            doc = values.get(name)
            if isinstance(doc, Mapping):
                self._loans[name] = {k: doc.get(k) for k in ("value", "n", "window", "reason")}
                if name in RATE_INDICATORS:
                    self.series.set(name, t, doc.get("value"))

    def on_alert(self, doc: Mapping[str, Any], t: float) -> None:
        """A message of ``risk.alerts``: counted once per episode and level it fires at."""
        level = doc.get("level")
        if doc.get("status") != "firing" or level not in LEVELS:
            return
        episode = (str(doc.get("dedup_key")), str(doc.get("started_at")), str(level))
        if episode in self._episodes:
            return
        self._episodes[episode] = None
        if len(self._episodes) > _SEEN_EPISODES:
            self._episodes.popitem(last=False)
        self.series.add(f"alerts_{level}", t, 1)

    def on_auc(self, values: Mapping[str, float], t: float) -> None:
        """Each model's prequential AUC, as the worker's metrics have it now."""
        self._auc = dict(values)
        for model, value in values.items():
            self.series.set(f"auc:{model}", t, value)

    def on_calibration(self, lights: Mapping[str, Mapping[str, str]]) -> None:
        """Each model's calibration traffic light per grade, as the worker's metrics have it now."""
        self._calibration = {model: dict(grades) for model, grades in lights.items()}

    def snapshot(self, now: float, *, open_alerts: Mapping[str, int] | None = None) -> dict[str, Any]:
        """Current values (with the reason when there is none yet), series and thresholds, as JSON."""
        values = self.indicators.values()
        current: dict[str, Any] = {
            name: values[name].to_dict() for name in RATE_INDICATORS if name not in LOAN_INDICATORS
        }
        for name in RATE_INDICATORS:
            if name in LOAN_INDICATORS:
                current[name] = self._loans.get(name) or {
                    "value": None,
                    "n": 0,
                    "window": values[name].window,
                    "reason": "no loan rates from the portfolio watch yet",
                }
        current["psi"] = {"value": self._psi_value, "model": self._model, "reason": self._psi_reason}
        current["auc"] = dict(self._auc)
        current["calibration"] = {model: dict(grades) for model, grades in self._calibration.items()}
        out = self.series.to_dict(now, quantiles={"latency_ms": LATENCY_QUANTILES})
        for level in LEVELS:  # every chart has its series, even before the first alert
            out["series"].setdefault(f"alerts_{level}", [0] * len(out["t"]))
        return {
            "now": now,
            "current": current,
            "open_alerts": dict(open_alerts or {}),
            "thresholds": self._thresholds,
            **out,
        }


def _thresholds(detectors: DetectorsConfig) -> dict[str, list[dict[str, Any]]]:
    """Where each charted indicator enters its levels (for dashed lines on the charts)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, detector in detectors.portfolio_thresholds().items():
        if name in RATE_INDICATORS:
            out[name] = [
                {"level": str(level), "enter": spec.enter, "direction": detector.direction}
                for level, spec in detector.levels
            ]
    psi = detectors.psi_thresholds()
    out["psi"] = [{"level": str(level), "enter": spec.enter, "direction": psi.direction} for level, spec in psi.levels]
    return out
