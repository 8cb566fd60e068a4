"""The linked response's pure parts: the profile read from Redis, the customer rules, their configuration, holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskmon.config import ConfigError, CustomerRules, load_config
from riskmon.decisioning import decide
from riskmon.decisioning.customer import customer_hits
from riskmon.profile import EMPTY, CustomerProfile, profile_from_redis
from riskmon.profile.holds import hold_id, holds_for
from riskmon.schemas import Alert, AlertSubject, Application
from tests.config_edit import edited_config, hand_set_scorecard

DEFAULT = load_config(None)
RULES = DEFAULT.policy.customer


def app(amount: float = 5_000.0, income: float = 90_000.0) -> Application:
    return Application(
        "a-1",
        "c-1",
        datetime(2026, 1, 1, tzinfo=UTC),
        amount=amount,
        term_months=36,
        annual_income=income,
        features={"debt_to_income": 5, "inquiries_6m": 0, "revol_util": 10},
    )


def test_the_default_configuration_turns_every_customer_rule_on() -> None:
    assert (
        CustomerRules(
            alert_level="critical",
            alert_outcome="review",
            delinquency_review_days=30,
            delinquency_reject_days=90,
            exposure_limit=500_000.0,
            exposure_income_multiple=2.0,
            exposure_outcome="review",
            max_profile_delay_seconds=120.0,
            hold_window_hours=24.0,
        )
        == RULES
    )


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        # nothing known of the customer: nothing holds
        (EMPTY, []),
        # an open critical alert: review
        (CustomerProfile(open_alerts={"cash_24h": "critical"}), [("review", "CUSTOMER_ALERT")]),
        # an open warning only: below the configured level
        (CustomerProfile(open_alerts={"txn_velocity": "warning"}), []),
        # a loan 29 / 30 / 90 days past due: nothing, review, reject
        (CustomerProfile(current_dpd=29), []),
        (CustomerProfile(current_dpd=30), [("review", "EXISTING_DELINQUENCY")]),
        (CustomerProfile(current_dpd=90), [("reject", "EXISTING_DELINQUENCY")]),
        # a worst-ever 120 on a loan since brought current: the rule reads the current standing
        (CustomerProfile(worst_dpd=120), []),
        # exposure + 5,000 above 2 x 90,000 income
        (CustomerProfile(exposure=176_000.0), [("review", "EXPOSURE_LIMIT")]),
        (CustomerProfile(exposure=175_000.0), []),
        # the transaction path ran 10 minutes behind
        (CustomerProfile(delays={"transactions": 600.0}), [("review", "PROFILE_STALE")]),
        # the application path's own delay does not make the profile stale
        (CustomerProfile(delays={"decisions": 600.0}), []),
        # several at once: the most severe first
        (
            CustomerProfile(current_dpd=95, open_alerts={"cash_24h": "critical"}),
            [("reject", "EXISTING_DELINQUENCY"), ("review", "CUSTOMER_ALERT")],
        ),
    ],
)
def test_each_customer_rule(profile: CustomerProfile, expected: list[tuple[str, str]]) -> None:
    hits = customer_hits(5_000.0, 90_000.0, profile, RULES)
    assert [(str(h.outcome), h.reason.code) for h in hits] == expected


def test_an_unreadable_profile_holds_nothing_the_degraded_path_holds_approvals_instead() -> None:
    assert customer_hits(5_000.0, 90_000.0, None, RULES) == []
    result = decide(app(), DEFAULT.policy, profile=None, degraded="Redis unavailable")
    assert (str(result.outcome), result.reasons[0].code) == ("review", "SYS_DEGRADED")


def test_rules_off_hold_nothing() -> None:
    off = CustomerRules()
    profile = CustomerProfile(current_dpd=200, open_alerts={"x": "critical"}, exposure=1e9, delays={"alerts": 1e6})
    assert customer_hits(5_000.0, 90_000.0, profile, off) == []


def test_the_policy_puts_customer_rules_after_hard_rules_and_before_score_reasons() -> None:
    clean = decide(app(), DEFAULT.policy, profile=EMPTY)
    assert str(clean.outcome) == "approve"
    held = decide(app(), DEFAULT.policy, profile=CustomerProfile(open_alerts={"cash_24h": "critical"}))
    assert str(held.outcome) == "review" and held.reasons[0].code == "CUSTOMER_ALERT"
    assert held.approved_amount is None and held.score == clean.score  # the score itself is unchanged
    ruled = decide(app(amount=600_000.0, income=10_000_000.0), DEFAULT.policy, profile=CustomerProfile(current_dpd=95))
    assert [r.code for r in ruled.reasons] == [
        "POL_MAX_AMOUNT",  # hard rules first, most severe first
        "POL_LARGE_AMOUNT",
        "EXISTING_DELINQUENCY",  # then the customer rules, most severe first
        "EXPOSURE_LIMIT",  # 600,000 above the 500,000 limit
    ]
    assert "Jane" not in repr(held.reasons)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"policy.customer_rules.alert.level": "severe"}, "policy.customer_rules.alert.level"),
        ({"policy.customer_rules.alert.outcome": "approve"}, "policy.customer_rules.alert.outcome"),
        ({"policy.customer_rules.delinquency.reject_days": 10}, "policy.customer_rules.delinquency.reject_days"),
        ({"policy.customer_rules.delinquency.review_days": 0}, "policy.customer_rules.delinquency.review_days"),
        ({"policy.customer_rules.exposure.limit": -1}, "policy.customer_rules.exposure.limit"),
        ({"policy.customer_rules.max_profile_delay_seconds": 0}, "policy.customer_rules.max_profile_delay_seconds"),
        ({"policy.customer_rules.hold_window_hours": -1}, "policy.customer_rules.hold_window_hours"),
    ],
)
def test_a_bad_customer_rule_is_refused_naming_its_field(edit: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        edited_config(edit)
    assert str(caught.value).startswith(field + ":")


def test_an_exposure_rule_needs_a_limit_and_null_turns_a_rule_off() -> None:
    def no_limits(doc: dict) -> None:
        doc["policy"]["customer_rules"]["exposure"] = {"outcome": "review"}

    with pytest.raises(ConfigError, match="policy.customer_rules.exposure: needs limit"):
        edited_config(no_limits)

    def alert_off(doc: dict) -> None:
        doc["policy"]["customer_rules"]["alert"] = None

    assert edited_config(alert_off).policy.customer.alert_level is None


def test_the_profile_is_read_whatever_redis_holds() -> None:
    fields = {
        b"tx_count_24h": b"12",
        b"cash_24h": b"3400.5",
        b"dpd:loan-1": b"40",
        b"dpd:loan-2": b"0",
        b"worst_dpd": b"40",
        b"default:loan-0": b"1",
        b"alerts": b'{"cash_24h": "critical", "txn_velocity": "warning", "odd": "loud"}',
        b"approvals": b'[{"decision_id": "dec-1", "application_id": "a-1", "at": 1.0}, 7]',
    }
    clock = {b"transactions": b"[0.25, 1800000000.0]", b"alerts": b"not json"}
    p = profile_from_redis(fields, exposure=b"12500.0", clock=clock, last_decision=b'{"decision_id": "dec-1"}')
    assert (p.tx_count_24h, p.cash_24h, p.current_dpd, p.worst_dpd, p.defaults) == (12, 3400.5, 40, 40, 1)
    assert p.open_alerts == {"cash_24h": "critical", "txn_velocity": "warning"}  # an unknown level is left out
    assert (p.exposure, p.worst_alert, p.delays) == (12500.0, "critical", {"transactions": 0.25})
    assert [a["decision_id"] for a in p.approvals] == ["dec-1"]
    record = p.to_record()
    assert record["last_decision_id"] == "dec-1" and "approvals" not in record
    broken = profile_from_redis({b"cash_24h": b"lots", b"alerts": b"[", b"dpd:x": b"nan"}, exposure=b"-5")
    assert broken == EMPTY  # unreadable parts are empty, never a failed decision
    assert profile_from_redis(None) == EMPTY


def test_behaviour_inputs_name_every_number_of_the_profile() -> None:
    inputs = CustomerProfile(open_alerts={"cash_24h": "warning"}, exposure=10.0, defaults=2).behaviour_inputs()
    assert inputs["behaviour.alert_level"] == 2.0 and inputs["behaviour.defaults"] == 2.0
    assert all(name.startswith("behaviour.") for name in inputs)


def alert(level: str = "critical", status: str = "firing", kind: str = "customer") -> Alert:
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    return Alert(
        alert_id="al-1",
        dedup_key=f"cash_24h:{kind}:c-1",
        level=level,
        status=status,
        detector="cash_24h",
        subject=AlertSubject(kind, "c-1"),
        summary="cash-out",
        started_at=at,
        updated_at=at,
    )


NOW = 1_800_000_000.0
APPROVALS = [
    {"decision_id": "dec-old", "application_id": "a-old", "at": NOW - 90_000, "score": 0.02, "grade": "A"},
    {"decision_id": "dec-new", "application_id": "a-new", "at": NOW - 3_600, "score": 0.03, "grade": "A"},
    {"decision_id": "dec-new", "application_id": "a-new", "at": NOW - 3_600},  # the same approval twice
    {"application_id": "a-broken"},  # unreadable: never a guessed hold
]


@pytest.mark.parametrize(
    ("trigger", "window", "held"),
    [
        (alert(), 86_400, ["a-new"]),  # the one approval within 24 h, once
        (alert(), 100_000, ["a-old", "a-new"]),
        (alert(), 0, []),  # holds turned off
        (alert(level="warning"), 86_400, []),
        (alert(status="resolved"), 86_400, []),
        (alert(kind="portfolio"), 86_400, []),
    ],
)
def test_holds_are_the_approvals_within_the_window_of_a_critical_customer_alert(
    trigger: Alert, window: float, held: list[str]
) -> None:
    holds = holds_for(trigger, APPROVALS, now=NOW, window_seconds=window, policy_version="p+1")
    assert [h.application_id for h in holds] == held
    for h in holds:
        assert (h.decision_id, h.stage, h.outcome, h.approved_amount) == (
            hold_id(h.application_id),
            "hold",
            "review",
            None,
        )
        assert h.supersedes == f"dec-{h.application_id[2:]}" and h.alert is not None
        assert h.to_dict()["alert"] == {
            "dedup_key": "cash_24h:customer:c-1",
            "alert_id": "al-1",
            "detector": "cash_24h",
            "level": "critical",
        }


def test_the_backtest_runs_the_customer_rules_and_holds_as_live() -> None:
    from riskmon.alerting.config import DEFAULTS
    from riskmon.backtest.engine import run
    from tests.unit.backtest_streams import application as bt_application
    from tests.unit.backtest_streams import parsed, transaction

    safe = {"amount": 5_000, "annual_income": 90_000, "features": {"debt_to_income": 5, "inquiries_6m": 0}}
    cash = [
        transaction(k, customer="cust-cash", at=600 + 60 * k, amount=1_000.0, type="cash_withdrawal") for k in range(6)
    ]
    stream = parsed(
        bt_application(1, at=0, customer_id="cust-cash", **safe),  # approved, then the cash-out: held
        *cash,
        bt_application(2, at=1_200, customer_id="cust-cash", **safe),  # under the open critical alert: review
        bt_application(3, at=1_260, customer_id="cust-clean", **safe),  # the control
    )
    result = run(edited_config(hand_set_scorecard), DEFAULTS, stream)  # a "safe" applicant by the linear card
    outcomes = {d["application_id"]: (d["outcome"], [r["code"] for r in d["reasons"]][:1]) for d in result.decisions}
    assert outcomes == {
        "app-0001": ("approve", []),
        "app-0002": ("review", ["CUSTOMER_ALERT"]),
        "app-0003": ("approve", []),
    }
    assert [(h["application_id"], h["stage"], h["reasons"][0]["code"]) for h in result.holds] == [
        ("app-0001", "hold", "CUSTOMER_ALERT")
    ]
    assert result.holds[0]["supersedes"] == result.decisions[0]["decision_id"]
    # turned off, the same stream approves and holds nothing
    off = run(edited_config({"policy.customer_rules": None}), DEFAULTS, stream)
    assert [d["outcome"] for d in off.decisions] == ["approve", "approve", "approve"] and off.holds == []
