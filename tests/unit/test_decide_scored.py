"""The one decision step the worker and the backtest share: a policy failure becomes a review,
never a lost application."""

from __future__ import annotations

from datetime import UTC, datetime

from riskmon.applications.decide import MODEL_VERSION, decide_scored, decision_snapshot
from riskmon.applications.scoring import Scored
from riskmon.config import load_config
from riskmon.schemas import Application
from riskmon.schemas.examples import example

AT = datetime(2026, 11, 29, 14, 38, 26, tzinfo=UTC)


def test_scorecard_decides_without_a_score_and_keeps_no_snapshot():
    config = load_config()
    app = Application.from_dict(example("application"))
    decision, error = decide_scored(app, config, None, decided_at=AT, latency_ms=1.5)
    assert error is None and decision.model_version == MODEL_VERSION and decision.stage == "automated"
    assert decision_snapshot(None, "t", decision.outcome) is None


def test_a_policy_failure_is_a_review_with_the_error_returned_for_the_dead_letter():
    config = load_config()
    app = Application.from_dict(example("application"))
    broken = Scored(
        model_score=("not a probability", ()),
        card_score=(0.1, ()),
        model_version="logreg-n600",
        snapshot={"features": {}},
    )
    decision, error = decide_scored(app, config, broken, decided_at=AT, latency_ms=1.5)
    assert error is not None and decision.outcome == "review"
    assert decision_snapshot(broken, "2026-11-29T14:38:26.000Z", "review") == {
        "features": {},
        "decided_at": "2026-11-29T14:38:26.000Z",
        "outcome": "review",
    }
