"""Who used the CPUs during a measured span: the worker, the broker, the harness, the machine.

Why: latency at a fixed load depends on how busy the two shared cores are,
and the same code measured p99 115-167 ms one session and 1.4-2.3 s the
next. A latency figure means something only next to the load it was taken
under, so the latency phase reports these shares with it. Read from
``/proc`` (Linux): a process's user + system ticks, and the machine's
``/proc/stat`` line, whose ``steal`` is time the hypervisor gave to other
guests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Snapshot", "snapshot", "shares", "broker_pids", "stack_pids", "ticks", "HZ"]

HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Snapshot:
    """CPU ticks at one moment: per role (summed over its processes), and the machine's."""

    roles: dict[str, int]
    machine: tuple[int, ...]  # /proc/stat "cpu" fields: user nice system idle iowait irq softirq steal ...
    cpus: int


def ticks(pid: int) -> int | None:
    """User + system ticks of one process, all its threads (``None`` once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def stack_pids(marker: str = "", programs: tuple[bytes, ...] = (b"kafka.Kafka", b"redis-server")) -> list[int]:
    """Processes on this machine running one of ``programs`` (a command-line word) started
    from the stack directory ``marker``: a file under it on their command line (the broker's
    properties, Redis's config), so ``/tmp/dev-stack`` does not match ``/tmp/dev-stack2``'s.
    Any directory when ``marker`` is empty."""
    under = marker.rstrip("/").encode() + b"/" if marker else b""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if under in cmdline and any(program in cmdline for program in programs):
                pids.append(int(entry.name))
    return pids


def broker_pids(marker: str = "") -> list[int]:
    """Kafka brokers started from the stack directory ``marker`` (every broker when empty)."""
    return stack_pids(marker, (b"kafka.Kafka",))


def snapshot(roles: dict[str, list[int]]) -> Snapshot:
    """Ticks now for each role's processes."""
    machine = tuple(int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:])
    return Snapshot(
        {role: sum(ticks(p) or 0 for p in pids) for role, pids in roles.items()}, machine, os.cpu_count() or 1
    )


def shares(before: Snapshot, after: Snapshot, seconds: float, hz: int = HZ) -> dict[str, float]:
    """Percent of one core per role over ``seconds``, and the machine's busy and steal percent.

    >>> a = Snapshot({"worker": 100}, (100, 0, 50, 800, 0, 0, 0, 50), 2)
    >>> b = Snapshot({"worker": 180}, (160, 0, 70, 880, 0, 0, 0, 90), 2)
    >>> shares(a, b, 1.0, hz=100)
    {'cpu_worker_pct': 80.0, 'machine_busy_pct': 60.0, 'machine_steal_pct': 20.0}
    """
    out = {
        f"cpu_{role}_pct": round((after.roles[role] - before.roles.get(role, 0)) / hz / seconds * 100, 1)
        for role in after.roles
    }
    delta = [b - a for a, b in zip(before.machine, after.machine, strict=True)]
    total = sum(delta[:8]) or 1
    idle = delta[3] + delta[4]
    out["machine_busy_pct"] = round((total - idle) / total * 100, 1)
    out["machine_steal_pct"] = round(delta[7] / total * 100, 1) if len(delta) > 7 else 0.0
    return out
