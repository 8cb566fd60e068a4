"""The offline replay: the live path's pieces, wired on event time (no broker, no Redis)."""

from __future__ import annotations

import pytest

from riskmon.alerting.config import DEFAULTS, parse_alerting
from riskmon.applications.decide import build_decision
from riskmon.backtest.engine import run
from riskmon.schemas import Application, parse_timestamp
from tests.config_edit import hand_set_scorecard
from tests.unit.backtest_streams import application, burst, config, parsed, repayment, transaction

DEFAULT = config()


def test_each_decision_is_the_live_build_decision_at_the_latest_submission_time() -> None:
    # submitted out of order: the third is earlier than the second, so it is decided at the second's time
    docs = [
        application(1, at=0),
        application(2, at=100),
        application(3, at=50),
        application(4, at=200, term_months=240),
    ]
    result = run(DEFAULT, DEFAULTS, parsed(*docs))
    clock = [0, 100, 100, 200]
    expected = [
        build_decision(
            Application.from_dict(d),
            DEFAULT,
            decided_at=parse_timestamp(application(0, at=t)["submitted_at"], "t"),
            latency_ms=0.0,
        ).to_dict()
        for d, t in zip(docs, clock, strict=False)
    ]
    assert result.decisions == expected
    assert [d["outcome"] for d in result.decisions][-1] == "reject"  # POL_MAX_TERM, from the live policy
    assert len(result.decision_seconds) == 4 and all(s > 0 for s in result.decision_seconds)


def test_the_same_stream_and_configuration_give_the_same_results() -> None:
    events = parsed(
        *[application(i) for i in range(30)],
        *burst("c-burst", start=100),
        *[repayment(i, bad=i % 3 == 0, at=400 + i) for i in range(10)],
    )
    first, second = run(DEFAULT, DEFAULTS, events), run(DEFAULT, DEFAULTS, events)
    assert first.decisions == second.decisions and first.decisions
    assert [a.to_dict() for a in first.candidates] == [a.to_dict() for a in second.candidates] and first.candidates
    assert [a.to_dict() for a in first.published] == [a.to_dict() for a in second.published] and first.published
    assert [n.to_dict() for n in first.notifications] == [n.to_dict() for n in second.notifications]


def test_duplicates_dead_letters_and_reviews_are_counted_as_the_worker_would() -> None:
    review = {
        "application_id": "app-0001",
        "reviewer": "r-1",
        "outcome": "approve",
        "reason": "ok",
        "reviewed_at": "2026-03-02T10:00:00Z",
    }
    events = parsed(application(1), application(1, amount=99_999), review) + parsed(
        b"not json", b'{"application_id": "x"}', topic="credit.applications"
    )
    result = run(DEFAULT, DEFAULTS, events)
    assert [d["application_id"] for d in result.decisions] == ["app-0001"]
    assert result.decisions[0]["approved_amount"] != 99_999  # the first one decides; the repeat is skipped
    assert (result.duplicates, result.reviews) == (1, 1)
    assert dict(result.deadletters) == {
        ("credit.applications", "invalid_json"): 1,
        ("credit.applications", "required"): 1,
    }


def test_labels_are_learned_once_and_the_champion_takes_over_after_min_labels() -> None:
    cfg = config({"models.min_labels_to_decide": 40, "models.publish_every_labels": 10})
    docs: list[dict] = []
    for i in range(120):
        docs.append(application(i, at=10 * i))
        if i >= 5:  # the outcome of the loan decided five applications ago, reported twice
            done = i - 5
            docs += [repayment(done, bad=done % 4 == 0, at=10 * i + 1)] * 2
    result = run(cfg, DEFAULTS, parsed(*docs))
    models = [d["model_version"] for d in result.decisions]
    assert result.learned == 115, "each loan learned once, however often its outcome is reported"
    assert models[:40] == ["scorecard-v1"] * 40
    assert models[-1].startswith("logreg-binned-n") and int(models[-1].split("-n")[1]) >= 40
    first_model = models.index(next(m for m in models if m != "scorecard-v1"))
    assert all(m != "scorecard-v1" for m in models[first_model:]), "once it decides, it keeps deciding"
    # the live default never lets 115 labels decide
    assert {d["model_version"] for d in run(DEFAULT, DEFAULTS, parsed(*docs)).decisions} == {"scorecard-v1"}


def test_a_critical_score_drift_holds_approvals_for_review_as_live() -> None:
    def small_psi(doc: dict) -> None:
        doc["detectors"]["model"]["psi"] = {"reference_size": 20, "window_size": 10, "n_bins": 4}
        doc["detectors"]["model"]["psi_thresholds"]["levels"]["critical"]["min_count"] = 1
        doc["detectors"]["model"]["psi_thresholds"]["levels"]["warning"]["min_count"] = 1

    cfg = config(hand_set_scorecard, small_psi)  # the PDs these applications get from the linear card
    low = [application(i, at=i, annual_income=200_000, features={}) for i in range(20)]  # low PD: the reference
    high = [application(100 + i, at=100 + i, features={"debt_to_income": 44, "revol_util": 95}) for i in range(10)]
    last = application(500, at=500, annual_income=200_000, features={})  # would be approved
    result = run(cfg, DEFAULTS, parsed(*low, *high, last))
    final = result.decisions[-1]
    assert final["outcome"] == "review" and final["reasons"][0]["code"] == "SYS_DEGRADED"
    assert "score PSI" in final["reasons"][0]["description"]
    assert any(a.detector == "score_psi" and a.level == "critical" for a in result.candidates)
    assert run(config(hand_set_scorecard), DEFAULTS, parsed(*low, *high, last)).decisions[-1]["outcome"] == "approve"


@pytest.mark.parametrize(
    "alerting, expected_feed",
    [
        # the default manager: warning then critical both published; one group per detector
        (DEFAULTS, [("warning", "first_notification"), ("critical", "level_changed")]),
        # a silence-free config that groups nothing differently publishes the same feed
        (
            parse_alerting({"group_by": ["dedup_key"]}),
            [("warning", "first_notification"), ("critical", "level_changed")],
        ),
    ],
)
def test_velocity_candidates_go_through_the_alert_manager_on_event_time(alerting, expected_feed) -> None:
    result = run(DEFAULT, alerting, parsed(*burst("c-burst", start=0)))
    assert [(a.level, a.status) for a in result.candidates] == [("warning", "firing"), ("critical", "firing")]
    assert [(a.level, a.notification) for a in result.published] == expected_feed
    assert [n.action for n in result.notifications] == ["trigger", "trigger"]
    assert result.notifications[0].created_at == "2026-03-02T09:00:36.000Z", "the manager's clock is the stream's"


def test_the_managers_timer_resolves_an_alert_after_resolve_after_of_event_time() -> None:
    alerting = parse_alerting({"resolve_after": {"txn_velocity": "10m"}})
    quiet = [transaction(100 + k, customer="other", at=200 + 600 * k) for k in range(5)]  # time passes, quietly
    result = run(DEFAULT, alerting, parsed(*burst("c-burst", start=0), *quiet))
    assert [(a.dedup_key, a.status) for a in result.published][-1] == ("txn_velocity:customer:c-burst", "resolved")
    assert result.published[-1].updated_at.isoformat() >= "2026-03-02T09:10:36"
