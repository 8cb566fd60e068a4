"""The small summaries the decision and label paths send to the portfolio watch.

Pure functions, shared by the live handlers (:mod:`riskmon.applications.handler`,
:mod:`riskmon.learning.repayments`), the shadow evaluation and the offline
backtest, so that all three feed :class:`riskmon.portfolio.watch.PortfolioWatch` exactly
the same fields. Identifiers and numbers only: no personal data.
"""

from __future__ import annotations

from typing import Any

from riskmon.detectors import epoch
from riskmon.schemas import Alert, Repayment, format_timestamp, parse_timestamp

__all__ = ["decision_summary", "repayment_summary", "observe_summary", "model_family"]


def model_family(model_version: str) -> str:
    """The deciding model's family: its version without the ``-n<labels>`` count.

    >>> model_family("logreg-n1520"), model_family("scorecard-v1")
    ('logreg', 'scorecard-v1')
    """
    return model_version.split("-n")[0]


def decision_summary(d: dict) -> dict:
    """A sent decision (its contract dict) as the portfolio watch reads it.

    >>> decision_summary({"decided_at": "2026-01-04T09:00:00.000Z", "decision_id": "dec-1", "application_id": "a",
    ...     "customer_id": "c", "outcome": "approve", "score": 0.04, "approved_amount": 5000.0, "latency_ms": 1.5,
    ...     "model_version": "logreg-n600"})["model"]
    'logreg'
    """
    return {
        "kind": "decision",
        "at": d["decided_at"],
        "decision_id": d["decision_id"],
        "application_id": d["application_id"],
        "customer_id": d["customer_id"],
        "outcome": d["outcome"],
        "score": d["score"],
        "approved_amount": d["approved_amount"],
        "latency_ms": d["latency_ms"],
        "model": model_family(d["model_version"]),
    }


def repayment_summary(repayment: Repayment) -> dict:
    """A valid repayment as the portfolio watch reads it."""
    return {
        "kind": "repayment",
        "at": format_timestamp(repayment.occurred_at),
        "event_id": repayment.event_id,
        "application_id": repayment.application_id,
        "customer_id": repayment.customer_id,
        "status": repayment.status,
        "days_past_due": repayment.days_past_due,
        "amount_paid": repayment.amount_paid,
    }


def observe_summary(watch: Any, event: dict, *, config_version: str) -> list[Alert]:
    """Feed one summary to a :class:`riskmon.portfolio.watch.PortfolioWatch`, at the time it carries.

    The time is read back from the summary's RFC 3339 text (millisecond
    precision), exactly as the portfolio worker reads it off its topic.
    """
    at = epoch(parse_timestamp(event["at"], "at"))
    if event["kind"] == "decision":
        return watch.on_decision(event, at, config_version=config_version)
    return watch.on_repayment(event, at, config_version=config_version)
