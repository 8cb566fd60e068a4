"""Pinning glibc's mmap threshold (riskmon.runtime.tuning.malloc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# In a child process: the setting is process-wide and cannot be undone.
CHILD = """
import ctypes, sys
from riskmon.runtime.tuning.malloc import pin_mmap_threshold
print(pin_mmap_threshold())
"""


def _child(env_extra: dict[str, str]) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_accepts_the_pinned_threshold() -> None:
    assert _child({}) == "True"


def test_an_operators_own_setting_wins() -> None:
    assert _child({"MALLOC_MMAP_THRESHOLD_": "65536"}) == "False"
