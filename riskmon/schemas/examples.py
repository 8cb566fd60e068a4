"""One valid, complete example of every event, in its normalised JSON shape.

Used by the tests, embedded in the exported JSON Schemas (``examples``), and
handy for demos. Timestamps are already in the form ``to_dict`` writes, so
``X.from_dict(example(n)).to_dict() == example(n)`` for the input events.
"""

from __future__ import annotations

import copy

__all__ = ["EXAMPLE_NAMES", "example"]

_EXAMPLES: dict[str, dict] = {
    "application": {
        "application_id": "app-2026-000123",
        "customer_id": "cust-000042",
        "submitted_at": "2026-11-29T14:38:26.123Z",
        "amount": 12000.0,
        "term_months": 36,
        "annual_income": 54000.0,
        "currency": "EUR",
        "product": "personal_loan",
        "channel": "web",
        "features": {
            "debt_to_income": 0.31,
            "delinquencies_2y": 0,
            "inquiries_6m": 2,
            "revol_util": 0.45,
            "home_ownership": "RENT",
            "has_guarantor": False,
            "months_since_last_delinq": None,
        },
        "applicant": {"name": "Ada Example", "national_id": "X1234567", "email": "ada@example.org"},
        "schema_version": 1,
    },
    "transaction": {
        "transaction_id": "tx-9f8e7d",
        "customer_id": "cust-000042",
        "occurred_at": "2026-11-29T14:40:01.500Z",
        "amount": 89.9,
        "type": "purchase",
        "currency": "EUR",
        "merchant_category": "5411",
        "channel": "card_present",
        "country": "DE",
        "features": {"mcc_risk": 0.1},
        "schema_version": 1,
    },
    "repayment": {
        "event_id": "rep-000777",
        "application_id": "app-2026-000123",
        "customer_id": "cust-000042",
        "occurred_at": "2026-12-29T09:00:00.000Z",
        "status": "late",
        "days_past_due": 12,
        "amount_due": 365.5,
        "amount_paid": 0.0,
        "currency": "EUR",
        "schema_version": 1,
    },
    "review": {
        "application_id": "app-2026-000123",
        "reviewer": "analyst.jdoe",
        "outcome": "approve",
        "reason": "Income verified with payslips; debt ratio acceptable.",
        "reviewed_at": "2026-11-29T16:02:10.000Z",
        "schema_version": 1,
    },
    "transaction_outcome": {
        "outcome_id": "out-000311",
        "transaction_id": "tx-9f8e7d",
        "customer_id": "cust-000042",
        "occurred_at": "2026-12-08T09:12:00.000Z",
        "outcome": "chargeback",
        "schema_version": 1,
    },
    "decision": {
        "decision_id": "dec-2c8c6b0fd0d2c8aa7b6e40b7a1ee9b3d",
        "application_id": "app-2026-000123",
        "customer_id": "cust-000042",
        "decided_at": "2026-11-29T14:38:26.140Z",
        "stage": "automated",
        "outcome": "review",
        "score": 0.18,
        "grade": "C",
        "approved_amount": None,
        "currency": "EUR",
        "reasons": [
            {"code": "DTI_HIGH", "description": "Debt-to-income ratio is high", "contribution": 0.42},
            {"code": "INQUIRIES", "description": "Several recent credit inquiries", "contribution": 0.17},
        ],
        "model_version": "scorecard-v1",
        "policy_version": "policy-2026-11",
        "latency_ms": 3.2,
    },
    "alert": {
        "alert_id": "alr-5d41402abc4b2a76",
        "dedup_key": "velocity:customer:cust-000042",
        "level": "warning",
        "status": "firing",
        "detector": "velocity",
        "subject": {"kind": "customer", "id": "cust-000042"},
        "summary": "7 cash withdrawals in 10 minutes (threshold 5)",
        "value": 7.0,
        "threshold": 5.0,
        "window": "10m",
        "started_at": "2026-11-29T14:41:00.000Z",
        "updated_at": "2026-11-29T14:45:12.250Z",
        "count": 3,
        "labels": {"team": "risk-ops", "topic": "credit.transactions"},
        "runbook_url": "https://runbooks.example.org/riskmon/velocity",
    },
    "deadletter": {
        "source_topic": "credit.applications",
        "partition": 2,
        "offset": 1841,
        "key": "app-2026-000124",
        "received_at": "2026-11-29T14:38:27.001Z",
        "error": {"type": "minimum", "message": "amount: must be a finite number > 0 (got -5)", "field": "amount"},
        "raw": "//4=",
        "raw_encoding": "base64",
    },
}

#: Names of all events, inputs first.
EXAMPLE_NAMES = tuple(_EXAMPLES)


def example(name: str) -> dict:
    """A fresh (deep) copy of the example for ``name``, one of :data:`EXAMPLE_NAMES`.

    >>> example("review")["outcome"]
    'approve'
    """
    return copy.deepcopy(_EXAMPLES[name])
