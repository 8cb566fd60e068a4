"""The role table: every route and timer belongs to exactly one role, and a role's worker takes only its own."""

from __future__ import annotations

import pytest

from riskmon.config import load_config
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.runtime.routes import build_routes
from riskmon.settings import ROLES, Settings, SettingsError, settings_from_env


async def _send(topic: str, key: bytes | None, value: bytes) -> None:
    raise AssertionError("nothing is sent while the table is built")


@pytest.fixture
def table():
    # nothing connects while the table is built: the Redis client and the producers are lazy
    settings = Settings(redis_url="redis://127.0.0.1:1/0", kafka_bootstrap="127.0.0.1:1")
    return build_routes(settings, load_config(None), send=_send, metrics=WorkerMetrics())


def test_the_roles_split_the_table_without_overlap(table) -> None:
    roles = [r for r in ROLES if r != "all"]
    split = [table.for_role(role) for role in roles]
    names = sorted(route.name for part in split for route in part.routes)
    assert names == sorted(route.name for route in table.routes)  # each route in exactly one role
    timers = sorted(timer.name for part in split for timer in part.timers)
    assert timers == sorted(timer.name for timer in table.timers)
    assert table.for_role("all") is table


def test_the_decision_role_reads_only_applications_and_reviews(table) -> None:
    names = table.names
    assert table.for_role("decisions").topics() == {names.applications, names.reviews}
    assert table.for_role("transactions").topics() == {
        names.transactions,
        names.repayments,
        names.transaction_outcomes,
    }
    background = table.for_role("background")
    assert background.topics() == {
        names.portfolio,
        names.audit_pending,
        names.training,
        names.fraud_training,
        names.alert_candidates,
    }
    # the owner-only timers run where their topic is consumed
    assert {t.owner_topic for t in background.timers} <= background.topics()
    assert not table.for_role("decisions").timers


def test_each_role_is_its_own_consumer_group() -> None:
    assert settings_from_env({"RISKMON_ROLE": "Decisions"}).group_id == "riskmon-decisions"
    assert settings_from_env({"RISKMON_APP_ID": "bank", "RISKMON_ROLE": "background"}).group_id == "bank-background"
    assert settings_from_env({}).group_id == "riskmon"  # role all: the group it always was


def test_a_wrong_role_or_session_timeout_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="RISKMON_ROLE"):
        settings_from_env({"RISKMON_ROLE": "decision"})
    with pytest.raises(SettingsError, match="RISKMON_SESSION_TIMEOUT_MS"):
        settings_from_env({"RISKMON_SESSION_TIMEOUT_MS": "1000"})
    assert settings_from_env({"RISKMON_SESSION_TIMEOUT_MS": "10000"}).session_timeout_ms == 10_000
