"""The console's pure parts: what reaches the page, the alert board, the charts' buckets, the indicators,
the page's files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import orjson
import pytest

from riskmon.config import load_config
from riskmon.console import AlertBoard, Buckets, DecisionRing, IndicatorCentre, alert_view, decision_view, model_auc
from riskmon.console.metric_values import MODEL_AUC
from riskmon.detectors import PortfolioIndicators
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.runtime.web.console import _ASSETS

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "riskmon" / "console" / "static"


def alert(
    key: str = "cash_24h:customer:c-1",
    *,
    level: str = "warning",
    status: str = "firing",
    updated: str = "2026-01-01T00:05:00Z",
    started: str = "2026-01-01T00:00:00Z",
    **extra: object,
) -> dict:
    detector, kind, ident = key.split(":")
    return {
        "alert_id": f"alt-{updated}",
        "dedup_key": key,
        "level": level,
        "status": status,
        "detector": detector,
        "subject": {"kind": kind, "id": ident},
        "summary": f"{detector} on {ident}",
        "value": 1.0,
        "threshold": 1.0,
        "window": "1h",
        "started_at": started,
        "updated_at": updated,
        "count": 1,
        "labels": {},
        "runbook_url": None,
        **extra,
    }


# -- what reaches the page ---------------------------------------------------


def test_a_decision_reaches_the_page_without_personal_data_or_customer() -> None:
    decision = {
        "decision_id": "dec-1",
        "application_id": "app-1",
        "customer_id": "cust-7",
        "decided_at": "2026-01-01T00:00:00Z",
        "stage": "automated",
        "outcome": "review",
        "score": 0.2,
        "grade": "D",
        "approved_amount": None,
        "reasons": [{"code": f"R{i}", "description": "d", "contribution": 0.1, "value": "Jane"} for i in range(6)],
        "model_version": "scorecard-v1",
        "policy_version": "p",
        "latency_ms": 3.2,
        "applicant": {"name": "Jane Example", "national_id": "123-45-6789"},
        "features": {"income": 1},
    }
    view = decision_view(decision)
    assert "applicant" not in view and "customer_id" not in view and "features" not in view
    assert "Jane" not in repr(view) and "123-45-6789" not in repr(view)
    assert [r["code"] for r in view["reasons"]] == ["R0", "R1", "R2", "R3"]  # at most four, as the contract says
    assert view["outcome"] == "review" and view["grade"] == "D" and view["score"] == 0.2 and view["latency_ms"] == 3.2


def test_an_alert_keeps_contract_and_lifecycle_fields_only() -> None:
    view = alert_view(
        alert(
            acknowledged_by="ops-anna",
            applicant={"name": "Jane"},
            labels={"config_version": "abc"},
            subject={"kind": "customer", "id": "c-1", "name": "Jane"},
        )
    )
    assert view["acknowledged_by"] == "ops-anna" and view["labels"] == {"config_version": "abc"}
    assert "applicant" not in view and view["subject"] == {"kind": "customer", "id": "c-1"}
    assert alert_view({"dedup_key": "k", "subject": "c-1"})["subject"] == {
        "kind": "",
        "id": "",
    }  # the page can rely on it


# -- the alert board -----------------------------------------------------------


def test_the_feed_supersedes_and_redis_only_moves_forward() -> None:
    board = AlertBoard()
    board.apply_feed(alert(updated="2026-01-01T00:05:00Z"))
    # a late candidate published after the first: the feed is ordered per key, so it wins even with an older time
    board.apply_feed(alert(updated="2026-01-01T00:04:00Z", level="critical"))
    assert board.get("cash_24h:customer:c-1")["level"] == "critical"
    acked = alert(
        updated="2026-01-01T00:04:00Z",
        level="critical",
        acknowledged_by="ops-anna",
        acknowledged_at="2026-01-01T00:06:00Z",
    )
    # Redis: an older copy is ignored; the same alert acknowledged is further along and taken
    assert board.reconcile([alert(updated="2026-01-01T00:03:00Z")]) == []
    assert [a["acknowledged_by"] for a in board.reconcile([acked])] == ["ops-anna"]
    assert board.reconcile([acked]) == []  # nothing new the second time
    resolved = alert(updated="2026-01-01T00:04:00Z", level="critical", status="resolved")
    assert board.reconcile([resolved]) != []  # same time, but resolved is further along than firing
    # a key only Redis knows (published before the console's replay) appears
    assert [a["dedup_key"] for a in board.reconcile([alert("txn_velocity:customer:c-2")])] == [
        "txn_velocity:customer:c-2"
    ]


def test_board_orders_firing_by_severity_and_bounds_resolved() -> None:
    board = AlertBoard(keep_resolved=2)
    board.apply_feed(alert("a:customer:1", level="info"))
    board.apply_feed(alert("b:customer:2", level="critical"))
    for minute in range(5):
        board.apply_feed(alert(f"r:customer:{minute}", status="resolved", updated=f"2026-01-01T00:0{minute}:30Z"))
    keys = [a["dedup_key"] for a in board.alerts()]
    assert keys == ["b:customer:2", "a:customer:1", "r:customer:4", "r:customer:3"]  # the two newest resolved kept
    assert board.open_by_level() == {"info": 1, "warning": 0, "critical": 1}
    assert board.apply_feed({"dedup_key": "x", "level": "fatal"}) is None  # not an alert


# -- buckets -------------------------------------------------------------------


def test_buckets_carry_gauges_forward_past_the_window_and_drop_old_points() -> None:
    b = Buckets(step=10.0, capacity=3)
    b.set("rate", 5.0, 0.5)
    b.add("n", 5.0, 1)
    b.set("rate", 45.0, 0.7)  # buckets 0..1 fall out; the gauge's last value is carried
    b.add("n", 1.0, 1)  # older than the window: ignored
    b.add("n", 25.0, 2)
    out = b.to_dict(now=45.0)
    assert out["t"] == [20.0, 30.0, 40.0]
    assert out["series"]["rate"] == [0.5, 0.5, 0.7]
    assert out["series"]["n"] == [2, 0, 0]


def test_buckets_give_latency_quantiles_per_bucket() -> None:
    b = Buckets(step=10.0, capacity=10)
    for i in range(100):
        b.sample("latency_ms", 12.0, float(i + 1))
    b.sample("latency_ms", 31.0, 7.0)
    out = b.to_dict(now=31.0, quantiles={"latency_ms": (0.5, 0.95)})
    assert out["series"]["latency_ms_p50"] == [50.0, None, 7.0]
    assert out["series"]["latency_ms_p95"] == [95.0, None, 7.0]


# -- the indicator centre -------------------------------------------------------


def decision_event(
    i: int, outcome: str, *, model: str = "scorecard-v1", latency: float = 5.0, score: float = 0.1
) -> dict:
    return {
        "kind": "decision",
        "at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
        "decision_id": f"dec-{i}",
        "application_id": f"app-{i}",
        "customer_id": f"c-{i}",
        "outcome": outcome,
        "score": score,
        "approved_amount": None,
        "latency_ms": latency,
        "model": model,
    }


def test_indicators_are_the_portfolio_watchs_own_numbers() -> None:
    config = load_config(None)
    centre = IndicatorCentre(config.detectors)
    reference = PortfolioIndicators(decision_window=3600, decision_step=60, min_decisions=50, min_loans=100)
    outcomes = ["approve"] * 30 + ["review"] * 15 + ["reject"] * 15
    events = [decision_event(i, o, latency=float(i % 10 + 1)) for i, o in enumerate(outcomes)]
    centre.on_portfolio({"events": events[:30]}, t=1000.0)
    centre.on_portfolio({"events": events[30:]}, t=1010.0)
    for e in events:
        reference.observe(
            outcome=e["outcome"],
            at=float(e["at"][-3:-1]) + 60 * int(e["at"][-6:-4]),
            latency_ms=e["latency_ms"],
            decision_id=e["decision_id"],
        )
    snap = centre.snapshot(1015.0)
    assert snap["current"]["approval_rate"]["value"] == reference.value("approval_rate").value == 0.5
    assert snap["current"]["reject_rate"]["value"] == 0.25
    assert snap["t"] == [1000.0, 1010.0]
    assert snap["series"]["approval_rate"] == [None, 0.5]  # below the minimum sample after the first batch
    assert snap["series"]["latency_ms_p95"][-1] == 10.0 and snap["series"]["latency_ms_p50"][-1] == 5.0
    assert snap["current"]["default_rate"] == {
        "value": None,
        "n": 0,
        "window": "30d",
        "reason": "no loan rates from the portfolio watch yet",
    }
    assert {t["level"] for t in snap["thresholds"]["psi"]} == {"warning", "critical"}


def test_loan_rates_are_the_watchs_own_and_the_console_keeps_no_loan_window() -> None:
    """The console shows the loan rates the portfolio watch writes to Redis (as JSON), not a copy
    of its 30-day loan window: repayments it reads build no state of its own."""
    import orjson

    from riskmon.portfolio.handler import loan_rates_doc

    watch = PortfolioIndicators(min_loans=2)
    for i, (dpd, status) in enumerate([(0, "current"), (45, "late"), (200, "charged_off"), (0, "paid_off")]):
        watch.observe_loan(loan_id=f"L{i}", at=1000.0 + i, days_past_due=dpd, status=status)
    stored = {name: orjson.loads(raw) for name, raw in loan_rates_doc(watch).items()}  # as read back from Redis
    centre = IndicatorCentre(load_config(None).detectors)
    repayments = [
        {
            "kind": "repayment",
            "at": "2026-01-01T00:00:00Z",
            "event_id": f"r{i}",
            "application_id": f"L{i}",
            "customer_id": "c",
            "status": "late",
            "days_past_due": 40,
            "amount_paid": None,
        }
        for i in range(50)
    ]
    centre.on_portfolio({"events": repayments}, t=999.0)
    assert centre.indicators.loans_observed == 0 and centre.skipped == 0
    centre.on_loan_rates(stored, t=1000.0)
    snap = centre.snapshot(1005.0)
    assert snap["current"]["overdue_rate"]["value"] == watch.value("overdue_rate").value == 0.5
    assert snap["current"]["default_rate"]["value"] == 0.25 and snap["current"]["default_rate"]["n"] == 4
    assert snap["current"]["default_rate"]["reason"] == watch.value("default_rate").reason
    assert snap["series"]["overdue_rate"][-1] == 0.5


def test_psi_starts_a_new_reference_when_another_model_decides() -> None:
    centre = IndicatorCentre(load_config(None).detectors)
    centre.on_portfolio({"events": [decision_event(i, "approve") for i in range(5)]}, t=0.0)
    assert centre.snapshot(0.0)["current"]["psi"]["reason"].startswith("building reference: 5 of")
    centre.on_portfolio({"events": [decision_event(5, "approve", model="logreg")]}, t=10.0)
    psi = centre.snapshot(10.0)["current"]["psi"]
    assert psi["model"] == "logreg" and psi["reason"].startswith("building reference: 1 of")


def test_alerts_are_counted_once_per_episode_and_level() -> None:
    centre = IndicatorCentre(load_config(None).detectors)
    centre.on_alert(alert(level="warning"), 100.0)
    centre.on_alert(alert(level="warning", acknowledged_by="ops-anna"), 101.0)  # same episode, acknowledged: not new
    centre.on_alert(alert(level="critical"), 102.0)  # escalation: counted
    centre.on_alert(alert(level="critical", status="resolved"), 103.0)
    centre.on_alert(alert(level="warning", started="2026-01-01T01:00:00Z"), 104.0)  # a new episode
    series = centre.snapshot(104.0)["series"]
    assert series["alerts_warning"][-1] == 2 and series["alerts_critical"][-1] == 1 and series["alerts_info"][-1] == 0


def test_undecodable_decisions_are_skipped() -> None:
    ring = DecisionRing(size=3)
    for raw in (b'{"application_id": "a-1", "outcome": "approve"}', b"not json", b"[1]", b'{"application_id": "a-2"}'):
        ring.add(raw)
    assert [v["application_id"] for v in ring.views(orjson.loads)] == ["a-2"]  # newest first; a-1 fell out (size 3)


def test_unreadable_portfolio_events_are_skipped_not_fatal() -> None:
    centre = IndicatorCentre(load_config(None).detectors)
    centre.on_portfolio({"events": [{"kind": "decision"}, decision_event(1, "approve")]}, t=0.0)
    centre.on_portfolio({"nothing": 1}, t=0.0)
    assert centre.skipped == 2
    assert centre.snapshot(0.0)["current"]["approval_rate"]["n"] == 1


# -- the metrics the console reads -------------------------------------------------


def test_model_auc_is_read_from_the_workers_own_metrics() -> None:
    """Fails when ``riskmon_model_roc_auc`` is renamed without updating riskmon/console/metric_values.py."""
    metrics = WorkerMetrics()
    assert model_auc(metrics.registry) == {}
    metrics.model_evaluation(
        {"scorecard": {"auc": 0.61}, "comparison": {"champion": {"version": "logreg-n500", "auc": 0.7}}}
    )
    assert model_auc(metrics.registry) == {"scorecard": 0.61, "logreg": 0.7}
    assert MODEL_AUC.startswith("riskmon_")


def test_calibration_lights_reach_the_indicator_centre_from_the_workers_own_metrics() -> None:
    """The learner's published calibration (riskmon.models.calibration) as the console's tile reads it."""
    from riskmon.config import load_config
    from riskmon.console import IndicatorCentre
    from riskmon.console.metric_values import model_calibration

    metrics = WorkerMetrics()
    assert model_calibration(metrics.registry) == {}
    grades = [
        {"grade": "A", "light": "green"},
        {"grade": "B", "light": "red"},
        {"grade": "C", "light": "none"},  # too few labels: no light
    ]
    metrics.model_evaluation(
        {
            "scorecard": {"auc": 0.6},
            "comparison": {"champion": {"version": "logreg-n900", "auc": 0.7}},
            "calibration": {"champion": {"brier": 0.05, "grades": grades}, "scorecard": {"brier": 0.07, "grades": []}},
        }
    )
    lights = model_calibration(metrics.registry)
    assert lights == {"logreg": {"A": "green", "B": "red"}}
    centre = IndicatorCentre(load_config(None).detectors)
    centre.on_calibration(lights)
    assert centre.snapshot(1000.0)["current"]["calibration"] == {"logreg": {"A": "green", "B": "red"}}


# -- the page's files ------------------------------------------------------------


def test_the_page_loads_only_its_own_packaged_files() -> None:
    html = (STATIC / "index.html").read_text()
    referenced = set(re.findall(r'(?:src|href)="/console/assets/([^"]+)"', html))
    assert referenced == set(_ASSETS), "every asset the page loads is served, and nothing else"
    for text in [html, *((STATIC / name).read_text() for name in _ASSETS)]:
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), "no network at run time"
        assert "innerHTML" not in text, "server data goes in with textContent only"
    # the Content-Security-Policy forbids inline scripts and style attributes
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_the_page_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["riskmon"]
    for path in ["index.html", *_ASSETS]:
        relative = f"console/static/{path}"
        assert any(Path(relative).match(p) for p in patterns), f"{relative} is not in pyproject's package-data"


@pytest.mark.parametrize("name", ["index.html", *_ASSETS])
def test_every_packaged_file_exists(name: str) -> None:
    assert (STATIC / name).stat().st_size > 0
