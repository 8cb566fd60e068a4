"""INTAKE_UNCERTAIN: a scanned application with uncertain fields goes to a person."""

from __future__ import annotations

import yaml

from riskmon.config import default_config_text, parse_config
from riskmon.decisioning import Outcome, decide, field_value
from riskmon.schemas import Application

POLICY = parse_config(yaml.safe_load(default_config_text())).policy
BASE = {
    "application_id": "lc-000001",
    "customer_id": "cust-lc-000001",
    "submitted_at": "2026-01-04T09:00:00Z",
    "amount": 10000.0,
    "term_months": 36,
    "annual_income": 80000.0,
    "features": {"debt_to_income": 8.0, "delinquencies_2y": 0, "inquiries_6m": 0, "revol_util": 20.0},
}


def _intake(uncertain: list[dict]) -> dict:
    return {"document": "sha256:ab", "template": "riskmon-application-v1", "uncertain": uncertain}


def test_a_sure_scan_is_decided_like_any_application():
    app = Application.from_dict({**BASE, "intake": _intake([])})
    result = decide(app, POLICY)
    assert result.outcome is Outcome.APPROVE
    assert field_value(app, "intake_uncertain") == 0.0


def test_an_uncertain_field_sends_the_application_to_review_with_the_reason_code_first():
    app = Application.from_dict({**BASE, "intake": _intake([{"field": "amount", "confidence": 61.0}])})
    result = decide(app, POLICY)
    assert result.outcome is Outcome.REVIEW
    assert result.reasons[0].code == "INTAKE_UNCERTAIN"
    assert result.approved_amount is None


def test_applications_that_were_not_scanned_never_hit_the_rule():
    app = Application.from_dict(BASE)
    assert field_value(app, "intake_uncertain") is None
    assert all(r.code != "INTAKE_UNCERTAIN" for r in decide(app, POLICY).reasons)
