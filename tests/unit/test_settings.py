"""Settings read from the environment: the consumer's fetch wait and fetch minimum."""

from __future__ import annotations

import pytest

from riskmon.settings import MAX_FETCH_MIN_BYTES, MAX_FETCH_WAIT_MS, Settings, SettingsError, settings_from_env


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, 10),  # unset: the default, not Faust's hard-coded 1500
        ("", 10),  # set but empty, as compose files often leave it
        ("100", 100),
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


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, 65536),  # unset: fetches wait for 64 KiB or the fetch wait, whichever comes first
        ("", 65536),
        ("1", 1),  # aiokafka's own default: a fetch returns with the first record
        (str(MAX_FETCH_MIN_BYTES), MAX_FETCH_MIN_BYTES),
    ],
)
def test_fetch_minimum_is_read_from_the_environment(raw: str | None, expected: int) -> None:
    env = {} if raw is None else {"RISKMON_FETCH_MIN_BYTES": raw}
    assert settings_from_env(env).fetch_min_bytes == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("0", "between 1 and"),
        (str(MAX_FETCH_MIN_BYTES + 1), "between 1 and"),  # a fetch never returns more: it would always wait
        ("64k", "must be an integer"),
    ],
)
def test_a_bad_fetch_minimum_names_the_variable(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        settings_from_env({"RISKMON_FETCH_MIN_BYTES": raw})
    assert "RISKMON_FETCH_MIN_BYTES" in str(info.value)


@pytest.mark.parametrize("raw, expected", [(None, 20), ("", 20), ("10", 10), ("1000", 1000)])
def test_batch_window_is_read_from_the_environment(raw: str | None, expected: int) -> None:
    env = {} if raw is None else {"RISKMON_BATCH_WINDOW_MS": raw}
    assert settings_from_env(env).batch_window_ms == expected


@pytest.mark.parametrize("raw", ["0", "1001", "0.01"])
def test_a_bad_batch_window_names_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match="RISKMON_BATCH_WINDOW_MS"):
        settings_from_env({"RISKMON_BATCH_WINDOW_MS": raw})


@pytest.mark.parametrize(("raw", "expected"), [(None, 2), ("0", 0), ("5", 5)])
def test_the_linger_of_the_latency_routes_is_read_from_the_environment(raw: str | None, expected: int) -> None:
    env = {} if raw is None else {"RISKMON_LINGER_MS": raw}
    assert settings_from_env(env).linger_ms == expected


def test_a_negative_linger_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="RISKMON_LINGER_MS"):
        settings_from_env({"RISKMON_LINGER_MS": "-1"})
