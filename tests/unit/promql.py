"""The metric names a PromQL expression reads, and the names the worker exports.

Why not ask Prometheus: the dashboard and rules are files checked without a
server (the integration test evaluates them on a real one). PromQL's
identifiers are few enough to tell apart with a tokenizer: strings, label
matchers, ranges and grouping clauses are removed first, then every remaining
identifier that is not a function call, keyword or number is a metric name.
"""

from __future__ import annotations

import re

from riskmon.alerting.metrics import AlertMetrics
from riskmon.pipeline.metrics import WorkerMetrics, exported_names

__all__ = ["metric_names", "known_metric_names", "grafana_to_promql"]

#: Series Prometheus itself writes for every target.
PROMETHEUS_METRICS = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Metric names read by ``expr``.

    >>> expr = 'sum by (le) (rate(a_bucket{x="b c", y=~"d|e"}[5m])) / ignoring (z) group_left () b > 0.5'
    >>> sorted(metric_names(expr + ' and on () absent(c)'))
    ['a_bucket', 'b', 'c']
    >>> sorted(metric_names('label_replace(rate(m_total[1m]), "dst", "$1", "src", "(.*)") or vector(0)'))
    ['m_total']
    >>> metric_names('histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[5m]))) > 1e3')
    {'x_seconds_bucket'}
    """
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS or re.fullmatch(r"\d.*", name):
            continue
        names.add(name)
    return names


def known_metric_names() -> set[str]:
    """Every series a rule or panel may read: the worker's and its alerting
    pipeline's (registered on the same registry, as ``create_app`` does), Prometheus's own."""
    registry = WorkerMetrics().registry
    AlertMetrics(registry)
    return exported_names(registry) | PROMETHEUS_METRICS


def grafana_to_promql(expr: str, rate_interval: str = "1m") -> str:
    """A panel's query with Grafana's variables replaced, as Prometheus would receive it.

    >>> grafana_to_promql('rate(x{instance=~"$instance"}[$__rate_interval])')
    'rate(x{instance=~".*"}[1m])'
    """
    for variable, value in (
        ("$__rate_interval", rate_interval),
        ("$__interval", "15s"),
        ("$__range", "1h"),
        ("$instance", ".*"),
    ):
        expr = expr.replace(variable, value)
    return expr
