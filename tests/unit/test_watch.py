"""Detector compositions per subject: events in, alert candidates out (no broker)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import yaml

from riskmon.config import default_config_text, parse_config
from riskmon.portfolio.watch import PortfolioWatch
from riskmon.runtime.lag import LagWatch
from riskmon.schemas import Transaction
from riskmon.transactions.watch import CustomerWatch

DOC = yaml.safe_load(default_config_text())
CONFIG = parse_config(DOC)
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def tx(
    i: int, *, seconds: float, amount: float = 40.0, type: str = "purchase", customer: str = "cust-1"
) -> Transaction:
    return Transaction.from_dict(
        {
            "transaction_id": f"tx-{i}",
            "customer_id": customer,
            "occurred_at": (T0 + timedelta(seconds=seconds)).isoformat(),
            "amount": amount,
            "type": type,
        }
    )


def test_velocity_escalates_then_resolves_with_hysteresis() -> None:
    watch = CustomerWatch.fresh(CONFIG.detectors)
    levels = []
    for i in range(25):  # 25 purchases in 25 minutes: warning at 10, critical at 20
        for alert in watch.observe(tx(i, seconds=60 * i), T0.timestamp() + 60 * i, config_version="v1"):
            levels.append((i + 1, alert.level, alert.status))
    assert [(n, str(level), status) for n, level, status in levels] == [
        (10, "warning", "firing"),
        (20, "critical", "firing"),
    ]
    # two hours later the window has emptied: one resolution
    late = watch.observe(tx(99, seconds=60 * 25 + 7200), T0.timestamp() + 60 * 25 + 7200, config_version="v1")
    assert [(a.status, a.detector, a.subject.id) for a in late] == [("resolved", "txn_velocity", "cust-1")]
    assert all(a.labels["config_version"] == "v1" for a in late)


def test_cash_out_counts_only_cash_withdrawals() -> None:
    watch = CustomerWatch.fresh(CONFIG.detectors)
    alerts = []
    for i in range(3):
        alerts += watch.observe(
            tx(i, seconds=i, amount=900.0, type="cash_withdrawal"), T0.timestamp() + i, config_version="v"
        )
        alerts += watch.observe(
            tx(10 + i, seconds=i, amount=5000.0, type="purchase"), T0.timestamp() + i, config_version="v"
        )
    assert [(a.detector, str(a.level), a.value) for a in alerts] == [("cash_24h", "warning", 2700.0)]


def test_late_events_beyond_the_allowed_lateness_leave_the_windows_alone() -> None:
    watch = CustomerWatch.fresh(CONFIG.detectors)
    watch.observe(tx(1, seconds=10_000), T0.timestamp() + 10_000, config_version="v")
    assert watch.observe(tx(2, seconds=0), T0.timestamp(), config_version="v") == []  # 10,000 s late > 300 s allowed
    assert watch.late_dropped == 1


def test_exposure_and_reject_rate_from_the_portfolio_stream() -> None:
    doc = copy.deepcopy(DOC)
    doc["detectors"]["portfolio"]["thresholds"]["reject_rate"]["levels"]["warning"]["min_duration"] = 0
    doc["detectors"]["portfolio"]["indicators"]["min_decisions"] = 10
    watch = PortfolioWatch(parse_config(doc).detectors)
    alerts = []
    for i in range(12):  # 40% rejects over 12 decisions: warning (0.35), not critical (0.50)
        outcome = "reject" if i % 5 in (0, 1) else "approve"
        event = {
            "decision_id": f"d{i}",
            "application_id": f"a{i}",
            "customer_id": "big",
            "outcome": outcome,
            "score": 0.1,
            "latency_ms": 5.0,
            "approved_amount": 60_000.0 if outcome == "approve" else None,
        }
        alerts += watch.on_decision(event, T0.timestamp() + i, config_version="v")
    kinds = [(a.detector, str(a.level), a.subject.kind) for a in alerts]
    assert ("portfolio_reject_rate", "warning", "portfolio") in kinds
    assert ("exposure", "warning", "customer") in kinds  # 180k outstanding > 150k
    assert ("exposure", "critical", "customer") in kinds  # 420k > 300k
    repaid = []
    for loan in ("a2", "a3"):  # 360k -> 300k (still critical: exit is 250k) -> 240k (back to warning)
        repaid.append(
            watch.on_repayment(
                {
                    "application_id": loan,
                    "customer_id": "big",
                    "status": "paid_off",
                    "days_past_due": 0,
                    "amount_paid": 60_000.0,
                    "event_id": f"r-{loan}",
                },
                T0.timestamp() + 20,
                config_version="v",
            )
        )
    assert repaid[0] == []
    assert [(a.detector, str(a.level), a.value) for a in repaid[1]] == [("exposure", "warning", 240_000.0)]


def test_the_exposure_book_keeps_only_customers_with_open_loans() -> None:
    """Memory follows the open book: a customer whose last loan closes (paid off or
    charged off) leaves it, and reads as 0 outstanding; the book's total follows."""
    watch = PortfolioWatch(CONFIG.detectors)
    at = T0.timestamp()
    for i, customer in enumerate(("c1", "c1", "c2")):
        watch.on_decision(
            {
                "decision_id": f"d{i}",
                "application_id": f"a{i}",
                "customer_id": customer,
                "outcome": "approve",
                "score": 0.1,
                "latency_ms": 1.0,
                "approved_amount": 1_000.0,
            },
            at + i,
            config_version="v",
        )
    assert sorted(watch.exposure) == ["c1", "c2"] and watch.total_outstanding == 3_000.0

    def repay(loan: str, customer: str, status: str, event_id: str) -> None:
        watch.on_repayment(
            {
                "application_id": loan,
                "customer_id": customer,
                "status": status,
                "days_past_due": 180 if status == "charged_off" else 0,
                "event_id": event_id,
            },
            at + 10,
            config_version="v",
        )

    repay("a0", "c1", "paid_off", "r0")
    assert "c1" in watch.exposure and watch.outstanding("c1") == 1_000.0  # one loan still open
    repay("a1", "c1", "charged_off", "r1")
    repay("a2", "c2", "default", "r2")
    assert list(watch.exposure) == ["c2"]  # a default keeps its exposure; c1's book is closed
    assert watch.outstanding("c1") == 0.0 and watch.total_outstanding == 1_000.0
    repay("a1", "c1", "charged_off", "r1")  # re-delivered after c1 left: still nothing
    assert "c1" not in watch.exposure and watch.total_outstanding == 1_000.0
    watch.on_decision(
        {
            "decision_id": "d0",
            "application_id": "a0",
            "customer_id": "c1",
            "outcome": "approve",
            "score": 0.1,
            "latency_ms": 1.0,
            "approved_amount": 1_000.0,
        },
        at + 20,
        config_version="v",
    )
    assert "c1" not in watch.exposure and watch.total_outstanding == 1_000.0  # a replayed approval of a closed loan


def test_the_last_loan_closing_resolves_the_exposure_alert_as_the_customer_leaves() -> None:
    watch = PortfolioWatch(CONFIG.detectors)
    at = T0.timestamp()
    for i in range(3):  # 180k outstanding: warning (150k)
        watch.on_decision(
            {
                "decision_id": f"d{i}",
                "application_id": f"a{i}",
                "customer_id": "big",
                "outcome": "approve",
                "score": 0.1,
                "latency_ms": 1.0,
                "approved_amount": 60_000.0,
            },
            at + i,
            config_version="v",
        )
    assert str(watch.exposure_levels["big"].level) == "warning"
    alerts = []
    for i in range(3):
        alerts += watch.on_repayment(
            {
                "application_id": f"a{i}",
                "customer_id": "big",
                "status": "paid_off",
                "days_past_due": 0,
                "event_id": f"r{i}",
            },
            at + 10,
            config_version="v",
        )
    assert [(a.detector, a.status) for a in alerts] == [("exposure", "resolved")]
    assert "big" not in watch.exposure  # the resolution is published before the customer is dropped


def test_ingestion_lag_alerts_on_the_pipeline() -> None:
    watch = LagWatch("credit.transactions", CONFIG.detectors.lag_thresholds())
    assert watch.observe(1000.0, 1005.0, config_version="v") == []
    alerts = []
    for t in range(0, 200, 10):  # a steady 400 s lag for over a minute: warning, then critical
        alerts += watch.observe(1000.0 + t, 1400.0 + t, config_version="v")
    assert [str(a.level) for a in alerts] == ["critical"] and alerts[0].subject.kind == "pipeline"


def test_a_new_deciding_model_restarts_the_psi_reference_instead_of_alerting() -> None:
    doc = copy.deepcopy(DOC)
    doc["detectors"]["model"]["psi"] = {"reference_size": 50, "window_size": 50, "n_bins": 5}
    doc["detectors"]["model"]["psi_thresholds"]["levels"]["warning"]["min_count"] = 1
    doc["detectors"]["model"]["psi_thresholds"]["levels"]["critical"]["min_count"] = 1
    watch = PortfolioWatch(parse_config(doc).detectors)

    def feed(model: str, scores: list[float], start: int) -> list:
        out = []
        for i, score in enumerate(scores):
            event = {
                "decision_id": f"d{start + i}",
                "application_id": f"a{start + i}",
                "customer_id": "c",
                "outcome": "review",
                "score": score,
                "latency_ms": 1.0,
                "approved_amount": None,
                "model": model,
            }
            out += watch.on_decision(event, T0.timestamp() + start + i, config_version="v")
        return [a for a in out if a.detector == "score_psi"]

    scorecard = [0.08 + 0.002 * (i % 50) for i in range(100)]
    assert feed("scorecard-v1", scorecard, 0) == []
    calibrated = [0.02 + 0.0008 * (i % 50) for i in range(100)]  # the champion's lower, calibrated PDs
    assert feed("logreg", calibrated, 100) == []  # a switch of model is not drift
    shifted = [0.2 + 0.002 * (i % 50) for i in range(100)]  # the same model's scores move: drift
    alerts = feed("logreg", shifted, 200)
    assert alerts and str(alerts[-1].level) == "critical" and watch.model_critical


def test_the_books_total_follows_every_approval_repayment_and_duplicate() -> None:
    """The running total the alert manager grades by must equal the sum of customers' exposures."""
    import random

    rng = random.Random(7)
    watch = PortfolioWatch(CONFIG.detectors)
    approved: list[tuple[str, str]] = []
    for i in range(2_000):
        customer = f"c{rng.randrange(40)}"
        if approved and rng.random() < 0.4:
            loan, owner = rng.choice(approved)
            status = rng.choice(["current", "current", "paid_off", "default"])
            event_id = f"r{rng.randrange(1_500)}"  # some repayment events arrive twice
            watch.on_repayment(
                {
                    "application_id": loan,
                    "customer_id": owner,
                    "status": status,
                    "days_past_due": 0,
                    "amount_paid": round(rng.uniform(10, 900), 2),
                    "event_id": event_id,
                },
                T0.timestamp() + i,
                config_version="v",
            )
        else:
            loan = f"a{rng.randrange(1_800)}"  # some approvals are re-delivered
            watch.on_decision(
                {
                    "decision_id": f"d-{loan}",
                    "application_id": loan,
                    "customer_id": customer,
                    "outcome": "approve",
                    "score": 0.2,
                    "latency_ms": 3.0,
                    "approved_amount": round(rng.uniform(500, 20_000), 2),
                },
                T0.timestamp() + i,
                config_version="v",
            )
            approved.append((loan, customer))
    exact = sum(t.outstanding for t in watch.exposure.values())
    assert exact > 0
    assert abs(watch.total_outstanding - exact) < 1e-6 * exact
