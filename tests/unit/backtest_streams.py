"""Small recorded streams for the backtest's unit tests: contract events in, ``Parsed`` events out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from riskmon.backtest.recorded import Parsed, RecordedEvent, infer_topic, parse_event
from riskmon.config import RiskConfig
from riskmon.schemas import dumps
from tests.config_edit import Edit, edited_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSONAL = {"name": "Jane Example", "national_id": "123-45-6789", "email": "jane@example.org"}


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def application(i: int, *, at: float | None = None, **overrides: Any) -> dict:
    doc = {
        "application_id": f"app-{i:04d}",
        "customer_id": f"cust-{i:04d}",
        "submitted_at": ts(10 * i if at is None else at),
        "amount": 5_000 + 500 * (i % 7),
        "term_months": 36,
        "annual_income": 45_000 + 2_000 * (i % 5),
        "features": {"debt_to_income": 5 + i % 20, "inquiries_6m": i % 3, "revol_util": 20 + i % 50},
        "applicant": PERSONAL,
    }
    doc.update(overrides)
    return doc


def repayment(i: int, *, bad: bool, at: float) -> dict:
    return {
        "event_id": f"rp-{i}",
        "application_id": f"app-{i:04d}",
        "customer_id": f"cust-{i:04d}",
        "occurred_at": ts(at),
        "status": "default" if bad else "paid_off",
        "days_past_due": 95 if bad else 0,
    }


def transaction(
    i: int, *, customer: str, at: float, amount: float = 25.0, type: str = "purchase", incident: str | None = None
) -> dict:
    doc = {
        "transaction_id": f"tx-{customer}-{i}",
        "customer_id": customer,
        "occurred_at": ts(at),
        "amount": amount,
        "type": type,
    }
    if incident:
        doc["features"] = {"incident": incident}
    return doc


def burst(customer: str, *, start: float, n: int = 25, incident: str | None = "velocity") -> list[dict]:
    """``n`` purchases four seconds apart: velocity warning at 10, critical at 20 with the defaults."""
    return [transaction(k, customer=customer, at=start + 4 * k, incident=incident) for k in range(n)]


def parsed(*docs: dict | bytes, topic: str | None = None) -> list[Parsed]:
    """Events as the backtest reads them from a file (bytes: a raw line on ``topic``)."""
    out = []
    for line, doc in enumerate(docs, start=1):
        if isinstance(doc, bytes):
            assert topic is not None
            out.append(parse_event(RecordedEvent(line, topic, doc)))
        else:
            out.append(parse_event(RecordedEvent(line, infer_topic(doc) or "", dumps(doc))))
    return out


def config(*edits: Edit) -> RiskConfig:
    """The packaged configuration with ``edits`` ({dotted path: value} or a function changing the
    parsed document) applied to its structure, validated."""
    return edited_config(*edits)
