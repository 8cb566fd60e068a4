"""The memory probe: off by default, and a dump names the line that allocated."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from riskmon.runtime.tuning.memory_probe import dump_path, install_memory_probe
from riskmon.settings import SettingsError, settings_from_env


def test_off_unless_asked() -> None:
    assert settings_from_env({}).tracemalloc_frames == 0
    assert install_memory_probe(0) is None
    with pytest.raises(SettingsError, match="RISKMON_TRACEMALLOC"):
        settings_from_env({"RISKMON_TRACEMALLOC": "-1"})


def test_dumps_name_the_largest_allocation_sites() -> None:
    path = dump_path()
    path.unlink(missing_ok=True)
    try:
        assert install_memory_probe(1, every=0.05) == path
        hoard = [bytearray(1000) for _ in range(5000)]  # ~5 MB from this line
        deadline = time.monotonic() + 10
        while not (path.exists() and path.read_text().count("# ") >= 2):  # two dumps: the timer repeats
            assert time.monotonic() < deadline, "no two dumps within 10 s"
            time.sleep(0.05)
        text = path.read_text()
        top = text.splitlines()[1]
        assert "traced" in text.splitlines()[0]
        assert "test_memory_probe.py" in top and float(top.split()[0]) >= 5.0, top
        assert len(hoard) == 5000
    finally:
        tracemalloc.stop()
        time.sleep(0.1)  # the thread sees tracing stopped and ends
        path.unlink(missing_ok=True)
