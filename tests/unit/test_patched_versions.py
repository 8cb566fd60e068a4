"""The Faust patches apply to the installed versions, and fail loudly when those move.

riskmon.runtime.patches copies or reaches into private internals of
faust-streaming and aiokafka. On another version a copy may silently undo an
upstream fix, so this test fails (it never skips) until someone has re-read
the patched code, updated the patches and moved ``PATCHED_VERSIONS`` and the
pins in pyproject.toml together.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from riskmon.runtime.patches import PATCHED_VERSIONS
from riskmon.runtime.patches.fetch_wait import drain_copy_applies

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.mark.parametrize("distribution", sorted(PATCHED_VERSIONS))
def test_the_installed_version_is_the_one_patched(distribution: str) -> None:
    installed = version(distribution)
    assert installed == PATCHED_VERSIONS[distribution], (
        f"{distribution} {installed} is installed, but riskmon.runtime.patches was made for "
        f"{PATCHED_VERSIONS[distribution]}: re-check each patch against the new version, then move "
        "PATCHED_VERSIONS and the pin in pyproject.toml together"
    )


def test_pyproject_pins_exactly_the_patched_versions() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = {}
    for spec in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*==\s*([^;\s]+)", spec)
        if match:
            pins[match.group(1)] = match.group(2)
    assert {name: pins.get(name) for name in PATCHED_VERSIONS} == PATCHED_VERSIONS


def test_the_copied_fetch_loop_is_the_installed_fausts() -> None:
    # the copy of Consumer._drain_messages is used only when its source is byte-for-byte the one copied
    assert drain_copy_applies()
