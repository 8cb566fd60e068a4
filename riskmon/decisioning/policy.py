"""The first decision policy: hard rules, then a transparent scorecard.

Why this shape: an approval service needs an outcome it can act on and reasons
it can show the applicant. Hard rules (maximum amount, minimum income...) are
the lender's policy and always win; the scorecard turns the contract's fields
into a probability of default (PD) whose cut-offs give approve, review or
reject. The more severe of the two decides.

Reasons are the factors that were actually scored, ranked:

* a hard rule that held comes first, with ``contribution`` 1.0 (decisive);
* then the scorecard factors that raised the PD, each with its share of the
  risk-raising weight (``weight * (value - center)`` over the sum of the
  positive terms), so contributions lie in [0, 1].

At most four reasons are kept, as adverse-action notices require. The online
models of the decisioning issue replace the scorecard; the rules stay.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskmon.config import Policy, Rule
from riskmon.decisioning.customer import customer_hits
from riskmon.decisioning.factors import ScoredFactor
from riskmon.decisioning.intake_flags import intake_uncertain
from riskmon.decisioning.outcomes import Outcome, most_severe
from riskmon.decisioning.points import points_score
from riskmon.profile import CustomerProfile
from riskmon.ratio_fields import ratio_of, split_ratio

__all__ = [
    "PolicyResult",
    "ScoredFactor",
    "decide",
    "rule_hits",
    "scorecard",
    "grade_for",
    "field_value",
    "MAX_REASONS",
]

MAX_REASONS = 4
GRADES = ("A", "B", "C", "D", "E")

_OPS: Mapping[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

#: Reason used when shared state is unavailable and approvals are held.
DEGRADED_CODE = "SYS_DEGRADED"


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """What the policy decided, before it becomes a decision event."""

    outcome: Outcome
    score: float
    grade: str
    approved_amount: float | None
    reasons: tuple[ScoredFactor, ...]


def field_value(application: Any, ref: str) -> float | None:
    """Read a numeric field that a rule or factor names; None when missing.

    ``loan_to_income`` is derived (amount / annual_income; missing when the
    income is zero); so is ``intake_uncertain`` (the uncertain fields of a
    scanned form, missing for other applications). Feature values that are not numbers (strings, booleans,
    null) count as missing for numeric rules. A ratio ref (``amount/features.goods_price``)
    divides one field by the other (:mod:`riskmon.ratio_fields`).
    """
    ratio = split_ratio(ref)
    if ratio is not None:
        return ratio_of(field_value(application, ratio[0]), field_value(application, ratio[1]))
    if ref == "loan_to_income":
        income = application.annual_income
        return application.amount / income if income > 0 else None
    if ref == "intake_uncertain":
        return intake_uncertain(application)
    if ref.startswith("features."):
        value = application.features.get(ref[len("features.") :])
    else:
        value = getattr(application, ref, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def grade_for(score: float, bounds: tuple[float, float, float, float]) -> str:
    """Grade A (best) to E (worst) from the upper PD bounds of A..D.

    >>> grade_for(0.01, (0.03, 0.06, 0.12, 0.25)), grade_for(0.5, (0.03, 0.06, 0.12, 0.25))
    ('A', 'E')
    """
    for grade, bound in zip(GRADES, bounds, strict=False):
        if score < bound:
            return grade
    return GRADES[-1]


def _rule_holds(rule: Rule, application: Any) -> bool:
    value = field_value(application, rule.field)
    return value is not None and _OPS[rule.op](value, rule.value)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def rule_hits(application: Any, policy: Policy) -> list[Rule]:
    """The hard rules that hold, most severe outcome first (config order within a level)."""
    held = [r for r in policy.rules if _rule_holds(r, application)]
    held.sort(key=lambda r: Outcome.parse(r.outcome), reverse=True)
    return held


def scorecard(application: Any, policy: Policy) -> tuple[float, tuple[ScoredFactor, ...]]:
    """The scorecard's PD and its risk-raising factors, ranked, as shares.

    A fitted points scorecard (``policy.points``) ranks the characteristics
    that lost the most points against their best bin instead.
    """
    if policy.points is not None:
        return points_score(application, policy.points)
    logit = policy.intercept
    terms: list[tuple[float, int, str, str]] = []
    for index, factor in enumerate(policy.factors):
        value = field_value(application, factor.field)
        if value is None:
            continue
        term = factor.weight * (value - factor.center)
        logit += term
        if term > 0:
            terms.append((term, index, factor.code, factor.description))
    positive = sum(t[0] for t in terms)
    terms.sort(key=lambda t: (-t[0], t[1]))
    reasons = tuple(ScoredFactor(code, text, round(term / positive, 4)) for term, _, code, text in terms)
    return _sigmoid(logit), reasons


def decide(
    application: Any,
    policy: Policy,
    *,
    degraded: str | None = None,
    model_score: tuple[float, Sequence[ScoredFactor]] | None = None,
    profile: CustomerProfile | None = None,
) -> PolicyResult:
    """Apply ``policy`` to a validated application.

    ``model_score`` is a (PD, ranked reasons) pair from a learned model; without
    it the configured scorecard scores. Hard rules apply either way, and so do
    the customer rules on ``profile``, the customer's live risk profile (None:
    it could not be read). ``degraded`` names a missing dependency (for
    example the state store): an approval is then held for manual review,
    never granted blind.
    """
    held = rule_hits(application, policy)
    customer = customer_hits(application.amount, application.annual_income, profile, policy.customer)
    score, score_reasons = model_score if model_score is not None else scorecard(application, policy)

    if score >= policy.reject_at_or_above:
        score_outcome = Outcome.REJECT
    elif score >= policy.approve_below:
        score_outcome = Outcome.REVIEW
    else:
        score_outcome = Outcome.APPROVE
    outcome = most_severe(
        [score_outcome, *(Outcome.parse(r.outcome) for r in held), *(hit.outcome for hit in customer)]
    )

    reasons = [ScoredFactor(r.code, r.description, 1.0) for r in held]
    reasons += [hit.reason for hit in customer]
    if degraded and outcome is Outcome.APPROVE:
        outcome = Outcome.REVIEW
        reasons.insert(0, ScoredFactor(DEGRADED_CODE, f"Held for manual review: {degraded}", 1.0))
    reasons.extend(score_reasons)

    return PolicyResult(
        outcome=outcome,
        score=round(score, 6),
        grade=grade_for(score, policy.grade_bounds),
        approved_amount=application.amount if outcome is Outcome.APPROVE else None,
        reasons=tuple(reasons[:MAX_REASONS]),
    )
