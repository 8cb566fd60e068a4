"""Where the worker's Python memory is: ``RISKMON_TRACEMALLOC``.

Why: RSS over a long run is a target (docs/performance.md), and RSS alone does
not say which state grows. With ``RISKMON_TRACEMALLOC=N`` (frames per
allocation, 1 is enough for "which line") the worker starts
:mod:`tracemalloc` and, every ``DUMP_SECONDS``, a thread appends the
largest allocation sites and the traced total to
``riskmon-tracemalloc-<pid>.txt`` in the temp directory. Comparing two dumps
shows what grew between them. Not a signal: Faust's worker (mode) already
takes SIGUSR1 (stack dump) and SIGUSR2 (debugger).

Off by default: tracing costs CPU on every allocation (a 400,000-event
harness run went at 519 events/s; the 1M run without it, 2,825), so this is for a
diagnosis run, never production.
The dump holds source lines and sizes only, no data.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

__all__ = ["install_memory_probe", "dump_path", "write_dump"]

TOP = 40
DUMP_SECONDS = 30.0


def dump_path(pid: int | None = None) -> Path:
    """Where this process's dumps are appended."""
    return Path(tempfile.gettempdir()) / f"riskmon-tracemalloc-{pid or os.getpid()}.txt"


def write_dump(path: Path, top: int = TOP) -> None:
    """Append the ``top`` allocation sites by size, and the traced total, to ``path``."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"))
    )
    stats = snapshot.statistics("lineno")
    current, peak = tracemalloc.get_traced_memory()
    lines = [f"# {time.strftime('%H:%M:%S')} traced {current / 1e6:.1f} MB (peak {peak / 1e6:.1f} MB)"]
    lines += [f"{s.size / 1e6:9.2f} MB {s.count:9d} blocks  {s.traceback}" for s in stats[:top]]
    with open(path, "a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n\n")


def install_memory_probe(frames: int, every: float = DUMP_SECONDS) -> Path | None:
    """Start tracing with ``frames`` frames and dump every ``every`` seconds; ``frames`` 0 does nothing."""
    if frames <= 0:
        return None
    tracemalloc.start(frames)
    path = dump_path()

    def dump_forever() -> None:
        while tracemalloc.is_tracing():
            time.sleep(every)
            if tracemalloc.is_tracing():
                write_dump(path)

    threading.Thread(target=dump_forever, name="riskmon-memory-probe", daemon=True).start()
    return path
