"""Where the local stack keeps its state, and the record of what it started.

The state file ``<dir>/stack.json`` is the only memory `up` and `down` share:
it holds the ports (so a restarted stack keeps its addresses), the pids and the
exact command lines of the processes we started (so `down` can prove a pid is
still ours before signalling it), and the Kafka version the data was made with.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "stack.json"
STATE_FORMAT = 1


class StackError(RuntimeError):
    """The local stack cannot be brought to the requested state.

    The message says what is wrong and what to install or do about it.
    """


@dataclass(frozen=True)
class StackInfo:
    """Addresses and pids of a running local stack."""

    dir: Path
    kafka_bootstrap: str
    redis_url: str
    kafka_pid: int
    redis_pid: int
    started: bool


def default_stack_dir() -> Path:
    """``$RISKMON_STACK_DIR``, else ``~/.local/state/riskmon/stack``.

    Runtime state (data, logs, pids) belongs in the XDG state directory, not in
    the repository.
    """
    env = os.environ.get("RISKMON_STACK_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "riskmon" / "stack"


def kafka_cache_dir() -> Path:
    """``$RISKMON_CACHE_DIR``, else ``~/.cache/riskmon``.

    The Kafka jars fetched from Maven Central (~100 MB) are shared by every
    stack directory and never live inside the repository.
    """
    env = os.environ.get("RISKMON_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "riskmon"


def load_state(dir: Path) -> dict[str, Any]:
    """Read ``stack.json``; an absent or unreadable file is an empty state."""
    path = dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StackError(
            f"cannot read the stack state file {path}: {exc}; "
            "stop any processes it listed by hand, then delete the file"
        ) from exc
    if not isinstance(data, dict):
        raise StackError(f"{path} does not hold a JSON object; delete it and retry")
    return data


def save_state(dir: Path, state: dict[str, Any]) -> None:
    """Write ``stack.json`` atomically so a crash never leaves half a record."""
    state = {**state, "format": STATE_FORMAT}
    path = dir / STATE_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
