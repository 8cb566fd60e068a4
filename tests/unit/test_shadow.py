"""Shadow mode's handler: the shadow configuration's verdicts go to risk.shadow and nowhere else (no broker).

The handler's only I/O is the ``send`` it is given; here that is a list, so
what the handler would hand the producer can be read back exactly. Its
wiring into the worker on a real broker is in
``tests/integration/test_backtest_equals_live.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from riskmon.alerting.config import DEFAULTS
from riskmon.applications.scoring import ModelScorer
from riskmon.backtest.engine import run
from riskmon.config import ConfigError
from riskmon.pipeline.messages import Incoming
from riskmon.settings import settings_from_env
from riskmon.shadow.handler import ShadowHandler, load_shadow_config
from tests.config_edit import hand_set_scorecard
from tests.unit.backtest_streams import PERSONAL, application, burst, config, parsed

VELOCITY_WARNING = "detectors.customer.txn_velocity.thresholds.levels.warning"
SHADOW_EDITS = {
    "policy.id": "rules-shadow",
    "policy.cutoffs.approve_below": 0.03,
    VELOCITY_WARNING: {"enter": 5, "exit": 3},
}
SHADOW = config(SHADOW_EDITS)
SHADOW_LINEAR = config(hand_set_scorecard, SHADOW_EDITS)  # where a test needs the linear card's "safe" applicant
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def incoming(topic: str, docs: list[Any]) -> list[Incoming]:
    return [
        Incoming(topic, 0, i, None, d if isinstance(d, bytes) else orjson.dumps(d), received_monotonic=10.0)
        for i, d in enumerate(docs)
    ]


class Sent:
    """What the handler handed to the producer."""

    def __init__(self, fail: bool = False) -> None:
        self.messages: list[tuple[str, bytes | None, dict]] = []
        self.fail = fail

    async def __call__(self, topic: str, key: bytes | None, value: bytes) -> Any:
        if self.fail:
            raise RuntimeError("broker gone")
        self.messages.append((topic, key, orjson.loads(value)))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def handler(sent: Sent, *, shadow_config: Any = SHADOW, wall_clock: Any = lambda: NOW, **kwargs: Any) -> ShadowHandler:
    return ShadowHandler(
        config=shadow_config,
        scorer=ModelScorer(None, min_labels=500),
        send=sent,
        topic="t.risk.shadow",
        active_policy_version="rules-v1+abc",
        max_message_bytes=262144,
        wall_clock=wall_clock,
        monotonic=lambda: 10.5,
        **kwargs,
    )


def test_decisions_candidates_alerts_and_notifications_go_to_the_shadow_topic_and_equal_the_backtest() -> None:
    sent = Sent()
    shadow = handler(sent)
    apps = [application(i, applicant=PERSONAL) for i in range(12)]
    txs = burst("c-burst", start=0, n=6)
    asyncio.run(shadow.applications(incoming("t.credit.applications", apps)))
    asyncio.run(shadow.transactions(incoming("t.credit.transactions", txs)))
    assert {topic for topic, _, _ in sent.messages} == {"t.risk.shadow"}
    kinds = {
        kind: [m for _, _, m in sent.messages if m["kind"] == kind]
        for kind in ("decision", "candidate", "alert", "notification")
    }
    decisions, candidates, alerts = kinds["decision"], kinds["candidate"], kinds["alert"]
    assert len(sent.messages) == sum(map(len, kinds.values())), "nothing else is written"
    assert {(m["shadow"], m["config_version"], m["active_policy_version"]) for _, _, m in sent.messages} == {
        (True, SHADOW.version[:12], "rules-v1+abc")
    }
    assert [d["record"]["latency_ms"] for d in decisions] == [500.0] * 12 and decisions[0]["record"][
        "decided_at"
    ].startswith("2026-12-01T12:00")
    offline = run(SHADOW, DEFAULTS, parsed(*apps, *txs))
    timing = ("decided_at", "latency_ms")
    assert [{k: v for k, v in d["record"].items() if k not in timing} for d in decisions] == [
        {k: v for k, v in d.items() if k not in timing} for d in offline.decisions
    ]
    assert [a["record"] for a in candidates] == [a.to_dict() for a in offline.candidates]
    assert [(a["record"]["level"], a["record"]["value"]) for a in candidates] == [("warning", 5.0)]
    # the shadow's own alert manager: what it would publish on risk.alerts, and notify
    assert [a["record"] for a in alerts] == [a.to_dict() for a in offline.published]
    assert [a["record"]["notification"] for a in alerts] == ["first_notification"]
    assert alerts[0]["record"]["group_key"].startswith("grp-txn_velocity-")
    assert [(n["record"]["action"], n["record"]["level"]) for n in kinds["notification"]] == [("trigger", "warning")]
    assert [key for _, key, m in sent.messages if m["kind"] == "decision"][0] == b"app-0000"
    assert PERSONAL["name"] not in str(sent.messages)


def test_invalid_input_is_left_to_the_live_path() -> None:
    sent = Sent()
    asyncio.run(
        handler(sent).applications(incoming("t.credit.applications", [b"not json", b'{"application_id": "x"}']))
    )
    assert sent.messages == []


@pytest.mark.parametrize(
    "topic, method", [("t.credit.applications", "applications"), ("t.credit.transactions", "transactions")]
)
def test_a_failure_in_the_shadow_never_reaches_the_live_agent(topic: str, method: str) -> None:
    docs = [application(1)] if method == "applications" else burst("c", start=0, n=6)
    asyncio.run(getattr(handler(Sent(fail=True)), method)(incoming(topic, docs)))  # does not raise


@pytest.mark.parametrize(
    "degraded, outcome, first_reason",
    [
        (None, "approve", None),
        ("state store (Redis) unavailable", "review", "SYS_DEGRADED"),  # as the live path holds approvals
    ],
)
def test_an_outage_holds_the_shadows_approvals_as_it_holds_the_live_ones(degraded, outcome, first_reason) -> None:
    sent = Sent()
    safe = application(3, annual_income=500_000, features={"debt_to_income": 0, "revol_util": 0})
    shadow = handler(sent, shadow_config=SHADOW_LINEAR, degraded=lambda: degraded)
    asyncio.run(shadow.applications(incoming("t.credit.applications", [safe])))
    (decision,) = [m["record"] for _, _, m in sent.messages]
    assert decision["outcome"] == outcome
    assert (decision["reasons"][0]["code"] if decision["reasons"] else None) == first_reason


def test_the_shadow_configuration_comes_from_the_environment_and_its_errors_name_it(tmp_path) -> None:
    assert settings_from_env({"RISKMON_SHADOW_CONFIG": "/etc/shadow.yaml"}).shadow_config_path == "/etc/shadow.yaml"
    assert settings_from_env({}).shadow_config_path is None
    bad = tmp_path / "shadow.yaml"
    bad.write_text("currency: usd\n")
    with pytest.raises(ConfigError) as err:
        load_shadow_config(str(bad))
    assert str(err.value).startswith(f"RISKMON_SHADOW_CONFIG: {bad}: currency: must be an ISO 4217 code")


def test_the_shadow_managers_timer_resolves_on_its_own_clock() -> None:
    sent, wall = Sent(), [NOW]
    quick = config(
        lambda doc: doc.update(alerting={"resolve_after": {"txn_velocity": "1m"}}),
        {VELOCITY_WARNING: {"enter": 5, "exit": 3}},
    )
    shadow = handler(sent, shadow_config=quick, wall_clock=lambda: wall[0])
    asyncio.run(shadow.transactions(incoming("t.credit.transactions", burst("c-burst", start=0, n=6))))
    asyncio.run(shadow.tick())  # no time has passed: nothing to resolve
    wall[0] = NOW + timedelta(minutes=5)  # five minutes of wall time after the burst was seen, no new event
    asyncio.run(shadow.tick())
    feed = [(m["record"]["status"], m["record"]["dedup_key"]) for _, _, m in sent.messages if m["kind"] == "alert"]
    assert feed == [("firing", "txn_velocity:customer:c-burst"), ("resolved", "txn_velocity:customer:c-burst")]
