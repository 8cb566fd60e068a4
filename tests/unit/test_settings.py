"""Settings read from the environment: the consumer's fetch wait."""

from __future__ import annotations

import pytest

from riskmon.settings import MAX_FETCH_WAIT_MS, Settings, SettingsError, settings_from_env


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, 100),  # unset: the default, not Faust's hard-coded 1500
        ("", 100),  # set but empty, as compose files often leave it
        ("10", 10),
        ("1500", 1500),  # Faust's own value stays expressible (for A/B measurements)
        (str(MAX_FETCH_WAIT_MS), MAX_FETCH_WAIT_MS),
    ],
)
def test_fetch_wait_is_read_from_the_environment(raw: str | None, expected: int) -> None:
    env = {} if raw is None else {"RISKMON_FETCH_MAX_WAIT_MS": raw}
    assert settings_from_env(env).fetch_max_wait_ms == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("0", "between 1 and"),  # a busy loop against the broker
        ("-5", "between 1 and"),
        (str(MAX_FETCH_WAIT_MS + 1), "between 1 and"),
        ("0.1", "must be an integer"),  # milliseconds, not seconds
        ("fast", "must be an integer"),
    ],
)
def test_a_bad_fetch_wait_names_the_variable(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        settings_from_env({"RISKMON_FETCH_MAX_WAIT_MS": raw})
    assert "RISKMON_FETCH_MAX_WAIT_MS" in str(info.value)


def test_a_command_line_override_is_validated_too() -> None:
    with pytest.raises(SettingsError, match="RISKMON_FETCH_MAX_WAIT_MS"):
        Settings().with_overrides(fetch_max_wait_ms=0)
