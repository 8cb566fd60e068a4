"""The worker's event loop choice (RISKMON_EVENT_LOOP)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from riskmon.runtime.tuning.event_loop import install_event_loop
from riskmon.settings import Settings, SettingsError, settings_from_env


@pytest.fixture(autouse=True)
def restore_policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def _new_loop_type() -> str:
    loop = asyncio.new_event_loop()
    try:
        return f"{type(loop).__module__}.{type(loop).__name__}"
    finally:
        loop.close()


def test_uvloop_is_the_default_and_new_loops_are_uvloop() -> None:
    assert Settings().event_loop == "uvloop"
    assert install_event_loop("uvloop") == "uvloop"
    assert _new_loop_type().startswith("uvloop")


def test_asyncio_goes_back_to_the_standard_loop() -> None:
    install_event_loop("uvloop")
    assert install_event_loop("asyncio") == "asyncio"
    assert _new_loop_type().startswith("asyncio")


def test_an_unknown_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event loop 'trio'"):
        install_event_loop("trio")


@pytest.mark.parametrize("raw, expected", [(None, "uvloop"), ("asyncio", "asyncio"), (" UVLoop ", "uvloop")])
def test_the_setting_is_read_from_the_environment(raw: str | None, expected: str) -> None:
    env = {} if raw is None else {"RISKMON_EVENT_LOOP": raw}
    assert settings_from_env(env).event_loop == expected


def test_a_misspelt_setting_stops_the_worker_with_a_clear_message() -> None:
    with pytest.raises(SettingsError, match="RISKMON_EVENT_LOOP must be uvloop or asyncio, got 'uv'"):
        settings_from_env({"RISKMON_EVENT_LOOP": "uv"})
