"""The live web console: what risk-ops staff watch in a browser, served by every worker.

Why in the worker: the worker already has the broker, Redis and the web port
(``/v1/alerts``, ``/v1/silences``), so the console needs no other process, and
an operator can open it on whichever worker they reach. Every worker tails the
same topics without a consumer group, so each console shows the whole
system, not one partition.

How it is used (pure code here; :mod:`riskmon.runtime.web.console` is the I/O shell)::

    risk.alerts ─────────────► AlertBoard.apply_feed(doc)       ─► alert feed (SSE "alerts")
    Redis <ns>:alerts:state ─► AlertBoard.reconcile(docs)         (start, and every minute)
    credit.decisions ────────► decision_view(doc)               ─► decision feed (SSE "decisions")
    risk.portfolio.events ───► IndicatorCentre.on_portfolio(doc) ┐
    risk.alerts ─────────────► IndicatorCentre.on_alert(doc)     ├► GET /console/api/indicators
    /metrics registry ───────► model_auc(registry) ─► on_auc()   ┘

* :mod:`~riskmon.console.feed`: what of an alert or a decision reaches the page
  (allow-lists: no field is shown unless named here), and the alert board.
* :mod:`~riskmon.console.series`: fixed-step time buckets for the charts.
* :mod:`~riskmon.console.indicators`: the portfolio watch's indicators,
  decision latency percentiles, alerts by level, model AUC and score PSI.
* :mod:`~riskmon.console.metric_values`: the one place that names the
  Prometheus metrics the console reads.
* ``static/``: the page itself (plain HTML, CSS and JavaScript, no network).
"""

from riskmon.console.feed import AlertBoard, DecisionRing, alert_view, decision_view
from riskmon.console.indicators import IndicatorCentre
from riskmon.console.metric_values import model_auc
from riskmon.console.series import Buckets

__all__ = ["AlertBoard", "DecisionRing", "alert_view", "decision_view", "IndicatorCentre", "model_auc", "Buckets"]
