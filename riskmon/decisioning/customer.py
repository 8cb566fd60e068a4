"""The policy's rules on the customer's live risk profile: pure, one function per rule.

Why here and not in the scorecard: these are the lender's policy, like the
hard rules. A customer whose card is being cashed out right now, or whose
existing loan is 60 days past due, is not auto-approved for a new loan, however
well the application alone scores. Each hit carries its outcome and a reason
an approval service can show; none carries personal data.

>>> from riskmon.config import CustomerRules
>>> from riskmon.profile import CustomerProfile
>>> rules = CustomerRules(alert_level="critical", delinquency_review_days=30, delinquency_reject_days=90)
>>> hits = customer_hits(10_000.0, 50_000.0, CustomerProfile(current_dpd=95, open_alerts={"cash_24h": "critical"}),
...                      rules)
>>> [(str(h.outcome), h.reason.code) for h in hits]
[('reject', 'EXISTING_DELINQUENCY'), ('review', 'CUSTOMER_ALERT')]
"""

from __future__ import annotations

from dataclasses import dataclass

from riskmon.config import CustomerRules
from riskmon.decisioning.factors import ScoredFactor
from riskmon.decisioning.outcomes import Outcome
from riskmon.profile import CustomerProfile
from riskmon.schemas.vocab import LEVELS

__all__ = ["STALE_PARTS", "CustomerHit", "customer_hits"]

#: The profile writers whose delay the staleness rule watches (the application path's own
#: part, the last decision and recent approvals, feeds holds, not rules).
STALE_PARTS = ("transactions", "repayments", "alerts")


@dataclass(frozen=True, slots=True)
class CustomerHit:
    """A customer rule that held: the outcome it forces and the reason to show (decisive: contribution 1)."""

    outcome: Outcome
    reason: ScoredFactor


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _alert(profile: CustomerProfile, rules: CustomerRules) -> list[CustomerHit]:
    if rules.alert_level is None:
        return []
    floor = LEVELS.index(rules.alert_level)
    hot = sorted(d for d, level in profile.open_alerts.items() if level in LEVELS and LEVELS.index(level) >= floor)
    if not hot:
        return []
    worst = profile.worst_alert
    text = f"Held while a {worst} alert is open on the customer ({', '.join(hot)})"
    return [CustomerHit(Outcome.parse(rules.alert_outcome), ScoredFactor("CUSTOMER_ALERT", text, 1.0))]


def _delinquency(profile: CustomerProfile, rules: CustomerRules) -> list[CustomerHit]:
    dpd = profile.current_dpd
    text = f"An existing loan is {dpd} days past due"
    if rules.delinquency_reject_days is not None and dpd >= rules.delinquency_reject_days:
        return [CustomerHit(Outcome.REJECT, ScoredFactor("EXISTING_DELINQUENCY", text, 1.0))]
    if rules.delinquency_review_days is not None and dpd >= rules.delinquency_review_days:
        return [CustomerHit(Outcome.REVIEW, ScoredFactor("EXISTING_DELINQUENCY", text, 1.0))]
    return []


def _exposure(amount: float, income: float, profile: CustomerProfile, rules: CustomerRules) -> list[CustomerHit]:
    total = profile.exposure + amount
    limits = []
    if rules.exposure_limit is not None:
        limits.append(rules.exposure_limit)
    if rules.exposure_income_multiple is not None and income > 0:
        limits.append(rules.exposure_income_multiple * income)
    if not limits or total <= min(limits):
        return []
    text = f"Outstanding exposure plus this loan ({_money(total)}) is above the limit ({_money(min(limits))})"
    return [CustomerHit(Outcome.parse(rules.exposure_outcome), ScoredFactor("EXPOSURE_LIMIT", text, 1.0))]


def _stale(profile: CustomerProfile, rules: CustomerRules) -> list[CustomerHit]:
    limit = rules.max_profile_delay_seconds
    if limit is None:
        return []
    behind = sorted(p for p in STALE_PARTS if profile.delays.get(p, 0.0) > limit)
    if not behind:
        return []
    text = f"The customer's risk profile may be out of date: {', '.join(behind)} running behind"
    return [CustomerHit(Outcome.REVIEW, ScoredFactor("PROFILE_STALE", text, 1.0))]


def customer_hits(
    amount: float, annual_income: float, profile: CustomerProfile | None, rules: CustomerRules
) -> list[CustomerHit]:
    """The customer rules that hold for an application of ``amount``, most severe first.

    ``profile`` None means it could not be read (Redis down): no rule holds
    then, and the degraded path holds approvals for review instead.
    """
    if profile is None:
        return []
    hits = [
        *_delinquency(profile, rules),
        *_alert(profile, rules),
        *_exposure(amount, annual_income, profile, rules),
        *_stale(profile, rules),
    ]
    hits.sort(key=lambda h: h.outcome, reverse=True)
    return hits
