"""The rule-based policy: hard rules, score cut-offs, grades and ranked reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import yaml

from riskmon.config import default_config_text, parse_config
from riskmon.decisioning import Outcome, decide, field_value, grade_for
from riskmon.decisioning.policy import DEGRADED_CODE, MAX_REASONS
from tests.config_edit import hand_set_scorecard

# the linear (intercept + factors) form's arithmetic and reasons; the fitted points form: test_scorecard_fit.py
_DOC = yaml.safe_load(default_config_text())
hand_set_scorecard(_DOC)
POLICY = parse_config(_DOC).policy


@dataclass
class App:
    """The fields the policy reads, as a validated Application has them."""

    amount: float = 10_000.0
    term_months: int = 36
    annual_income: float = 80_000.0
    features: dict = field(default_factory=dict)


GOOD = dict(debt_to_income=8.0, delinquencies_2y=0, inquiries_6m=0, revol_util=20.0)

CASES = [
    # (application, expected outcome, first reason code or None)
    (App(features=GOOD), "approve", None),  # a modest loan, low debt: approved
    (App(amount=600_000, annual_income=900_000, features=GOOD), "reject", "POL_MAX_AMOUNT"),  # over the limit
    (App(term_months=180, features=GOOD), "reject", "POL_MAX_TERM"),  # term too long
    (App(annual_income=4_000, amount=1_000, features=GOOD), "reject", "POL_MIN_INCOME"),  # income too low
    (App(amount=200_000, annual_income=100_000, features=GOOD), "reject", "POL_LOAN_TO_INCOME"),  # 2x income
    (App(features={**GOOD, "debt_to_income": 50}), "reject", "POL_DEBT_TO_INCOME"),  # DTI over 45
    (App(amount=120_000, annual_income=400_000, features=GOOD), "review", "POL_LARGE_AMOUNT"),  # large: a person looks
    (App(features={**GOOD, "delinquencies_2y": 3}), "review", "POL_RECENT_DELINQUENCIES"),  # rule says review
    (App(features={**GOOD, "inquiries_6m": 6, "revol_util": 95}), "reject", "CREDIT_INQUIRIES"),  # the score rejects
    (App(features={**GOOD, "inquiries_6m": 6}), "review", "CREDIT_INQUIRIES"),  # the score is in the grey zone
]


@pytest.mark.parametrize("app,outcome,first", CASES)
def test_outcomes_and_first_reason(app: App, outcome: str, first: str | None) -> None:
    result = decide(app, POLICY)
    assert str(result.outcome) == outcome
    if first is not None:
        assert result.reasons[0].code == first
    assert len(result.reasons) <= MAX_REASONS
    assert (result.approved_amount == app.amount) == (outcome == "approve")


def test_the_most_severe_rule_comes_first() -> None:
    app = App(amount=600_000, annual_income=900_000, features={**GOOD, "delinquencies_2y": 4})
    codes = [r.code for r in decide(app, POLICY).reasons]
    assert codes.index("POL_MAX_AMOUNT") < codes.index("POL_RECENT_DELINQUENCIES")


def test_score_reasons_are_ranked_shares_of_the_risk() -> None:
    app = App(features={**GOOD, "inquiries_6m": 2, "revol_util": 60, "debt_to_income": 20})
    reasons = decide(app, POLICY).reasons
    shares = [r.contribution for r in reasons]
    assert shares == sorted(shares, reverse=True)
    assert 0.99 <= sum(shares) <= 1.0001  # every risk-raising factor is listed (3 here)
    assert [r.code for r in reasons] == ["CREDIT_INQUIRIES", "REVOLVING_UTILISATION", "DEBT_TO_INCOME"]


def test_factors_that_lower_risk_are_not_reasons() -> None:
    result = decide(App(amount=1_000, term_months=12, annual_income=100_000, features=GOOD), POLICY)
    assert result.reasons == ()
    assert str(result.outcome) == "approve"


def test_missing_features_neither_trigger_rules_nor_move_the_score() -> None:
    bare = decide(App(features={}), POLICY)
    centred = decide(App(features={"debt_to_income": 15, "revol_util": 30}), POLICY)
    assert bare.score == centred.score
    assert field_value(App(features={"x": "text"}), "features.x") is None
    assert field_value(App(features={"x": True}), "features.x") is None


def test_zero_income_gives_no_loan_to_income_but_is_rejected() -> None:
    app = App(annual_income=0.0, features=GOOD)
    assert field_value(app, "loan_to_income") is None
    assert decide(app, POLICY).reasons[0].code == "POL_MIN_INCOME"


def test_degraded_state_holds_approvals_for_review() -> None:
    result = decide(App(features=GOOD), POLICY, degraded="Redis unavailable")
    assert result.outcome is Outcome.REVIEW
    assert result.reasons[0].code == DEGRADED_CODE
    assert result.approved_amount is None
    rejected = decide(App(term_months=180, features=GOOD), POLICY, degraded="Redis unavailable")
    assert rejected.outcome is Outcome.REJECT  # a degraded store never softens a reject


@pytest.mark.parametrize(
    "score,grade",
    [(0.0, "A"), (0.0299, "A"), (0.03, "B"), (0.1, "C"), (0.2, "D"), (0.25, "E"), (0.99, "E")],
)
def test_grades_follow_the_configured_bounds(score: float, grade: str) -> None:
    assert grade_for(score, POLICY.grade_bounds) == grade


def test_score_is_a_probability_and_monotone_in_risk() -> None:
    low = decide(App(features=GOOD), POLICY).score
    high = decide(App(features={**GOOD, "delinquencies_2y": 2}), POLICY).score
    assert 0.0 < low < high < 1.0


def test_a_model_score_replaces_the_scorecard_but_not_the_rules() -> None:
    from riskmon.decisioning import ScoredFactor

    model = (0.02, (ScoredFactor("LOAN_TO_INCOME", "high loan to income", 0.7),))
    approved = decide(App(features=GOOD), POLICY, model_score=model)
    assert str(approved.outcome) == "approve" and approved.score == 0.02
    assert [r.code for r in approved.reasons] == ["LOAN_TO_INCOME"]  # the model's reasons, not the scorecard's
    held = decide(App(term_months=180, features=GOOD), POLICY, model_score=model)
    assert str(held.outcome) == "reject"  # a hard rule still wins over a confident model
    assert [r.code for r in held.reasons] == ["POL_MAX_TERM", "LOAN_TO_INCOME"]
    risky = decide(App(features=GOOD), POLICY, model_score=(0.5, ()))
    assert str(risky.outcome) == "reject" and risky.grade == "E"
