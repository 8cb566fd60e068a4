"""Starting, recognising and stopping the server processes the stack owns.

The servers must outlive the ``riskmon stack up`` command, so they run in their
own session with output in a log file. Pids get recycled, so before any signal
we prove the pid still runs *our* command line (it names our config file); a
pidfd pins the process between that check and the signal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from riskmon.stack.state import StackError

INSTALL_HINTS = {
    "java": "install a Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless`",
    "mvn": "install Apache Maven with `apt-get install maven` "
    "(it fetches Kafka from Maven Central on the first run only)",
    "redis-server": "install Debian's package with `apt-get install redis-server`",
    "redis-cli": "install Debian's package with `apt-get install redis-tools` (for --redis-cluster)",
}

# Popen handles of children started by this interpreter: keeping them lets us
# reap a child that exits (no zombie lingers while a test process runs) and
# stops Python warning that a still-running subprocess was garbage-collected.
_children: dict[int, subprocess.Popen[bytes]] = {}


def require_programs(names: Iterable[str]) -> None:
    """Raise StackError naming every missing program and how to install it."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        lines = [f"{name} not found on PATH: {INSTALL_HINTS.get(name, 'install it')}" for name in missing]
        raise StackError("cannot start the local stack:\n  " + "\n  ".join(lines))


def spawn(cmd: Sequence[str], log_path: Path, cwd: Path) -> int:
    """Start ``cmd`` detached (own session, no stdin), output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children[proc.pid] = proc
    return proc.pid


def read_cmdline(pid: int) -> list[str]:
    """Arguments of ``pid`` from /proc, or [] when it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (reaping our own children)."""
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        del _children[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may contain spaces.
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def is_ours(pid: int | None, marker: str) -> bool:
    """True when ``pid`` is alive and its command line contains the argument ``marker``.

    ``marker`` is the absolute path of the config file we passed when starting it,
    which no unrelated process that inherits a recycled pid will carry.
    """
    if not pid or pid <= 0 or not is_alive(pid):
        return False
    return marker in read_cmdline(pid)


def _signal(pid: int, marker: str, sig: int) -> bool:
    """Send ``sig`` to ``pid`` only if it is still ours; True when sent."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):
        fd = None  # no pidfd support: fall back to a plain kill right after the check
    try:
        if not is_ours(pid, marker):
            return False
        if fd is not None:
            signal.pidfd_send_signal(fd, sig)
        else:
            os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        if fd is not None:
            os.close(fd)


def _wait_gone(pids: Iterable[int], deadline: float) -> set[int]:
    """Poll until every pid is gone or ``deadline`` passes; return those still alive."""
    left = set(pids)
    while left:
        left = {pid for pid in left if is_alive(pid)}
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return left


def stop(targets: Sequence[tuple[int, str]], timeout: float) -> list[int]:
    """SIGTERM each ``(pid, marker)`` that is ours, SIGKILL after ``timeout``, wait until gone.

    Signals go out together so both servers shut down in parallel. Returns the
    pids that were ours and are now stopped; raises StackError if one survives
    even SIGKILL.
    """
    signalled = {pid: marker for pid, marker in targets if _signal(pid, marker, signal.SIGTERM)}
    left = _wait_gone(signalled, time.monotonic() + timeout)
    for pid in left:
        _signal(pid, signalled[pid], signal.SIGKILL)
    left = _wait_gone(left, time.monotonic() + 10.0)
    if left:
        raise StackError(f"processes {sorted(left)} survived SIGKILL; check them with `ps -fp PID`")
    return list(signalled)


def log_size(path: Path) -> int:
    """Current size of a log file (0 if absent): where this run's output will begin."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tail(path: Path, lines: int = 30, since: int = 0) -> str:
    """Last ``lines`` lines written to a log file after byte offset ``since``.

    Logs are appended across restarts; ``since`` keeps an earlier run's output
    out of an error message about this one.
    """
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(since if since <= size else 0, size - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    body = "\n".join(text.splitlines()[-lines:])
    return body if body.strip() else "(nothing written)"
