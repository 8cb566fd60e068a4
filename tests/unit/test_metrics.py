"""The worker's metrics: Prometheus naming conventions, bounded labels, and the
helpers that keep gauges truthful (series removed rather than left stale)."""

from __future__ import annotations

import pytest
from prometheus_client.metrics import MetricWrapperBase

from riskmon.pipeline.metrics import DEGRADED_REASONS, PORTFOLIO_RATIOS, WorkerMetrics, exported_names
from riskmon.runtime.sampling import partition_lag, sum_by_topic

# Labels whose values are unbounded or personal: never on a metric.
_FORBIDDEN_LABELS = {
    "application_id",
    "customer_id",
    "decision_id",
    "applicant",
    "name",
    "email",
    "national_id",
    "phone",
    "dedup_key",
    "key",
}


@pytest.fixture
def metrics() -> WorkerMetrics:
    return WorkerMetrics()


def _families(metrics: WorkerMetrics) -> dict:
    return {family.name: family for family in metrics.registry.collect()}


def test_names_follow_prometheus_conventions(metrics: WorkerMetrics) -> None:
    families = _families(metrics)
    assert families, "no metric registered"
    for name, family in families.items():
        assert name.startswith("riskmon_"), name
        if family.type == "counter":
            assert not name.endswith("_total"), f"{name}: prometheus_client adds _total itself"
        elif family.type == "histogram":
            assert name.endswith("_seconds"), f"{name}: durations are histograms in seconds"
        elif family.type == "gauge":
            assert not name.endswith(("_total", "_count", "_sum", "_bucket")), name
        assert "_ms" not in name and "millis" not in name, f"{name}: base units only"


def test_no_label_can_carry_an_identifier_or_personal_data(metrics: WorkerMetrics) -> None:
    collectors = [value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)]
    assert len(collectors) == len(_families(metrics))  # every metric is an attribute: none escapes this check
    for collector in collectors:
        labels = set(collector._labelnames)
        assert not labels & _FORBIDDEN_LABELS, (collector, labels)


def test_exported_names_include_every_series_of_a_histogram_and_unused_labelled_metrics(metrics: WorkerMetrics) -> None:
    names = exported_names(metrics.registry)
    for suffix in ("_bucket", "_sum", "_count"):
        assert "riskmon_decision_end_to_end_latency_seconds" + suffix in names
    assert "riskmon_decisions_total" in names
    assert "riskmon_consumer_lag_messages" in names  # no topic sampled yet, still a known name
    assert "riskmon_decisions" not in names


def test_outcomes_and_degraded_reasons_export_zero_before_any_event(metrics: WorkerMetrics) -> None:
    get = metrics.registry.get_sample_value
    for outcome in ("approve", "review", "reject"):
        assert get("riskmon_decisions_total", {"outcome": outcome}) == 0.0
    for reason in DEGRADED_REASONS:
        assert get("riskmon_degraded_decisions_total", {"reason": reason}) == 0.0
    metrics.decided("review")
    metrics.decided_degraded("redis_unavailable")
    assert get("riskmon_decisions_total", {"outcome": "review"}) == 1.0
    assert get("riskmon_degraded_decisions_total", {"reason": "redis_unavailable"}) == 1.0


def test_end_to_end_latency_ignores_missing_stamps_and_clamps_clock_skew(metrics: WorkerMetrics) -> None:
    metrics.delivered_end_to_end([100.0, None, 100.5, 102.0], acknowledged_at=101.0)
    get = metrics.registry.get_sample_value
    assert get("riskmon_decision_end_to_end_latency_seconds_count") == 3
    assert get("riskmon_decision_end_to_end_latency_seconds_sum") == pytest.approx(1.0 + 0.5 + 0.0)
    assert get("riskmon_decision_end_to_end_latency_seconds_bucket", {"le": "0.005"}) == 1  # the skewed one, as 0


def test_unknown_error_types_collapse_to_other(metrics: WorkerMetrics) -> None:
    metrics.deadlettered("credit.applications", "invalid_json")
    metrics.deadlettered("credit.applications", "something a bug invented")
    get = metrics.registry.get_sample_value
    assert get("riskmon_deadletters_total", {"source_topic": "credit.applications", "error_type": "invalid_json"}) == 1
    assert get("riskmon_deadletters_total", {"source_topic": "credit.applications", "error_type": "other"}) == 1


def test_lag_of_a_topic_no_longer_assigned_disappears(metrics: WorkerMetrics) -> None:
    metrics.set_consumer_lag({"a": 5, "b": 0}, {"a": 50, "b": 10})
    metrics.set_consumer_lag({"b": 7}, {"b": 17})
    get = metrics.registry.get_sample_value
    assert get("riskmon_consumer_lag_messages", {"topic": "a"}) is None
    assert get("riskmon_consumer_end_offset", {"topic": "a"}) is None
    assert get("riskmon_consumer_lag_messages", {"topic": "b"}) == 7
    assert get("riskmon_consumer_end_offset", {"topic": "b"}) == 17


def test_portfolio_gauges_follow_the_watch_and_vanish_when_it_moves(metrics: WorkerMetrics) -> None:
    get = metrics.registry.get_sample_value
    metrics.set_portfolio({"approval_rate": 0.6, "default_rate": None, "decision_latency_ms": 12.0}, 0.04, "scorecard")
    assert get("riskmon_portfolio_ratio", {"indicator": "approval_rate"}) == 0.6
    assert get("riskmon_portfolio_ratio", {"indicator": "default_rate"}) is None
    assert get("riskmon_portfolio_ratio", {"indicator": "decision_latency_ms"}) is None  # not a ratio
    assert get("riskmon_model_score_psi", {"model": "scorecard"}) == 0.04
    metrics.set_portfolio({"approval_rate": 0.5}, 0.2, "online-logreg")  # the champion took over
    assert get("riskmon_model_score_psi", {"model": "scorecard"}) is None
    assert get("riskmon_model_score_psi", {"model": "online-logreg"}) == 0.2
    metrics.set_portfolio({}, None, None)  # the portfolio partition went to another worker
    assert get("riskmon_portfolio_ratio", {"indicator": "approval_rate"}) is None
    assert get("riskmon_model_score_psi", {"model": "online-logreg"}) is None
    assert set(PORTFOLIO_RATIOS) >= {"approval_rate", "review_rate", "reject_rate", "overdue_rate", "default_rate"}


def test_redis_state_is_read_at_scrape_time(metrics: WorkerMetrics) -> None:
    state = {"degraded": None}
    metrics.watch_redis(lambda: state["degraded"])
    get = metrics.registry.get_sample_value
    assert get("riskmon_redis_degraded") == 0
    state["degraded"] = "ConnectionError: refused"
    assert get("riskmon_redis_degraded") == 1


@pytest.mark.parametrize(
    "highwater, read, committed, position, expected",
    [
        (10, 9, None, None, 0),  # read the last message: caught up (an off-by-one would say 1)
        (10, 4, 3, 10, 5),  # read offsets win over the commit (fresher) and the fetch position (prefetch)
        (10, None, 7, 10, 3),  # nothing read since the rebalance: the commit
        (10, None, None, 6, 4),  # nor committed: the fetch position
        (0, None, None, 0, 0),  # an empty partition
        (5, 9, None, None, 0),  # a stale highwater below what was read is not negative lag
        (None, 9, 3, 4, None),  # no fetch yet: unknown, not zero
        (10, None, None, None, None),
    ],
)
def test_partition_lag(highwater, read, committed, position, expected) -> None:
    assert partition_lag(highwater, read, committed, position) == expected


def test_sum_by_topic_sums_partitions_and_skips_unknown() -> None:
    assert sum_by_topic([("x", 1), ("x", None), ("y", None), ("x", 2)]) == {"x": 3}
    assert sum_by_topic([]) == {}
