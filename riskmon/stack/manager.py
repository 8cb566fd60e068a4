"""`up`, `down` and `status` for the local stack: the only code that reads the plan.

Each call takes an exclusive lock on the stack directory, reads ``stack.json``,
compares it with what really runs (pid alive *and* command line naming our
config file), and does only the difference: `up` starts what is missing, `down`
stops what we started. Data directories and ports survive `down`, so the next
`up` comes back on the same addresses with the same topics.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from riskmon.stack import kafka, redis_cluster, redis_server
from riskmon.stack.ports import free_ports, port_is_free
from riskmon.stack.process import is_ours, log_size, require_programs, spawn, stop, tail
from riskmon.stack.redis_cluster import wait_ready as wait_cluster_ready
from riskmon.stack.state import StackInfo, kafka_cache_dir, load_state, save_state


@dataclass(frozen=True)
class _Layout:
    """Where each server's files live inside a stack directory."""

    dir: Path

    @property
    def kafka(self) -> Path:
        return self.dir / "kafka"

    @property
    def kafka_props(self) -> Path:
        return self.kafka / "server.properties"

    @property
    def redis(self) -> Path:
        return self.dir / "redis"

    @property
    def redis_conf(self) -> Path:
        return self.redis / "redis.conf"

    @property
    def redis_cluster(self) -> Path:
        return self.dir / "redis-cluster"

    def node_conf(self, port: int) -> Path:
        """The config file of the Redis Cluster node on ``port`` (its command line names it)."""
        return redis_cluster.node_dir(self.redis_cluster, port) / "redis.conf"

    def logs(self, name: str) -> list[Path]:
        """A server's console output (JVM and startup errors) and its own log."""
        if name == "redis_cluster":
            nodes = sorted(self.redis_cluster.glob("*/redis.out"))
            return [log for node in nodes for log in (node, node.with_suffix(".log"))]
        base = self.kafka / "kafka" if name == "kafka" else self.redis / "redis"
        return [base.with_suffix(".out"), base.with_suffix(".log")]

    def failure_logs(self, name: str, since: dict[str, int]) -> str:
        """Last 30 lines each log received since the server was started."""
        return "\n".join(
            f"--- last lines of {log} ---\n{tail(log, since=since.get(str(log), 0))}" for log in self.logs(name)
        )

    def log_offsets(self, name: str) -> dict[str, int]:
        return {str(log): log_size(log) for log in self.logs(name)}


def _resolve(dir: Path) -> Path:
    # Absolute paths end up in command lines, which is how we recognise our processes.
    return Path(dir).expanduser().resolve()


@contextlib.contextmanager
def _locked(dir: Path) -> Iterator[None]:
    """Serialise `up`/`down` on one stack directory across processes."""
    with open(dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _cluster_ports(state: dict[str, Any]) -> list[int]:
    entry = state.get("redis_cluster", {})
    return [entry[key] for key in _PORT_KEYS["redis_cluster"] if entry.get(key)]


def _cluster_nodes(state: dict[str, Any], layout: _Layout) -> list[tuple[int, str]]:
    """(pid, config file) of each recorded Redis Cluster node still running as ours."""
    pids = state.get("redis_cluster", {}).get("pids") or []
    nodes = [(pid, str(layout.node_conf(port))) for pid, port in zip(pids, _cluster_ports(state), strict=False)]
    return [(pid, conf) for pid, conf in nodes if is_ours(pid, conf)]


def _running(state: dict[str, Any], layout: _Layout) -> tuple[bool, bool]:
    """Whether Kafka runs, and whether the stack's Redis (the single server, or every
    cluster node when the stack was brought up with a cluster) runs."""
    if state.get("redis_mode") == "cluster":
        redis_up = len(_cluster_nodes(state, layout)) == redis_cluster.MASTERS
    else:
        redis_up = is_ours(state.get("redis", {}).get("pid"), str(layout.redis_conf))
    return (is_ours(state.get("kafka", {}).get("pid"), str(layout.kafka_props)), redis_up)


def _info(dir: Path, state: dict[str, Any], started: bool) -> StackInfo:
    cluster = state.get("redis_mode") == "cluster"
    return StackInfo(
        dir=dir,
        kafka_bootstrap=f"127.0.0.1:{state['kafka']['port']}",
        redis_url=redis_cluster.url(_cluster_ports(state)) if cluster else redis_server.url(state["redis"]["port"]),
        kafka_pid=state["kafka"]["pid"],
        redis_pid=state["redis_cluster"]["pids"][0] if cluster else state["redis"]["pid"],
        started=started,
    )


_PORT_KEYS = {"kafka": ("port", "controller_port"), "redis": ("port",), "redis_cluster": ("port", "port2", "port3")}


def _plan_ports(state: dict[str, Any], to_start: list[str], progress: Callable[[str], None]) -> dict[str, list[int]]:
    """Ports for the servers in ``to_start``: the recorded ones when still free, else fresh ones.

    Reusing ports keeps a restarted stack on the addresses clients already know.
    Ports of servers left running, and those already planned, are never handed out twice.
    """

    def recorded(name: str) -> list[int | None]:
        return [state.get(name, {}).get(key) for key in _PORT_KEYS[name]]

    reserved = {port for name in _PORT_KEYS if name not in to_start for port in recorded(name) if port}
    plan: dict[str, list[int]] = {}
    for name in to_start:
        ports = [port for port in recorded(name) if port]
        usable = redis_cluster.usable_port if name == "redis_cluster" else port_is_free
        if len(ports) == len(_PORT_KEYS[name]) and reserved.isdisjoint(ports) and all(map(usable, ports)):
            plan[name] = ports
            reserved.update(ports)
    for name in to_start:
        if name not in plan:
            pick = redis_cluster.free_node_ports if name == "redis_cluster" else free_ports
            fresh = pick(len(_PORT_KEYS[name]))
            while not reserved.isdisjoint(fresh):
                fresh = pick(len(_PORT_KEYS[name]))
            if all(recorded(name)):
                progress(f"{name}: previous ports {recorded(name)} are taken; using {fresh}")
            plan[name] = fresh
            reserved.update(fresh)
    return plan


def _redis_version() -> str:
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\S+)", out)
    return match.group(1) if match else "unknown"


def _start_kafka(
    layout: _Layout, version: str, ports: list[int], progress: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Fetch if needed, configure, format once, spawn; return the state entry and log offsets."""
    lib = kafka.ensure_kafka(version, kafka_cache_dir(), progress)
    data = layout.kafka / "data"
    data.mkdir(parents=True, exist_ok=True)
    log4j = layout.kafka / "log4j2.properties"
    log4j.write_text(kafka.render_log4j2(layout.kafka / "kafka.log"))
    port, controller_port = ports
    layout.kafka_props.write_text(kafka.render_server_properties(layout.dir, port, controller_port))
    kafka.format_storage(lib, layout.kafka_props, log4j, data, progress)
    progress(f"starting Kafka {version} on 127.0.0.1:{port}")
    cmd = kafka.start_command(lib, layout.kafka_props, log4j)
    offsets = layout.log_offsets("kafka")
    pid = spawn(cmd, layout.kafka / "kafka.out", cwd=layout.kafka)
    return (
        {
            "version": version,
            "port": port,
            "controller_port": controller_port,
            "pid": pid,
            "cmdline": cmd,
            "started_at": time.time(),
        },
        offsets,
    )


def _start_redis(layout: _Layout, port: int, progress: Callable[[str], None]) -> tuple[dict[str, Any], dict[str, int]]:
    """Configure and spawn redis-server; return the state entry and log offsets."""
    layout.redis.mkdir(parents=True, exist_ok=True)
    layout.redis_conf.write_text(redis_server.render_config(layout.redis, port))
    progress(f"starting Redis on 127.0.0.1:{port}")
    cmd = redis_server.start_command(layout.redis_conf)
    offsets = layout.log_offsets("redis")
    pid = spawn(cmd, layout.redis / "redis.out", cwd=layout.redis)
    return ({"version": _redis_version(), "port": port, "pid": pid, "cmdline": cmd, "started_at": time.time()}, offsets)


def _start_redis_cluster(
    layout: _Layout, ports: list[int], progress: Callable[[str], None], started: list[tuple[int, str]]
) -> dict[str, Any]:
    """Configure and spawn the three cluster nodes (fresh: old ``nodes.conf`` removed); return the state entry.

    Each node is appended to ``started`` as soon as it runs, so a failure stops those already up.
    """
    progress(f"starting a Redis Cluster of {len(ports)} masters on 127.0.0.1:{ports}")
    pids = []
    for port in ports:
        node = redis_cluster.node_dir(layout.redis_cluster, port)
        node.mkdir(parents=True, exist_ok=True)
        (node / "nodes.conf").unlink(missing_ok=True)  # nothing is persisted: a fresh cluster each start
        conf = layout.node_conf(port)
        conf.write_text(redis_cluster.render_config(node, port))
        pid = spawn(redis_cluster.start_command(conf), node / "redis.out", cwd=node)
        started.append((pid, str(conf)))
        pids.append(pid)
    keys = _PORT_KEYS["redis_cluster"]
    return {"version": _redis_version(), **dict(zip(keys, ports, strict=True)), "pids": pids, "started_at": time.time()}


def up(
    dir: Path,
    *,
    kafka_version: str = kafka.DEFAULT_KAFKA_VERSION,
    timeout: float = 120.0,
    progress: Callable[[str], None] | None = None,
    redis_cluster: bool = False,
) -> StackInfo:
    """Start whatever of Kafka and Redis is not running in ``dir``; wait until both serve.

    ``redis_cluster`` runs a three-master Redis Cluster instead of the single
    Redis (its URL is ``redis+cluster://...``); the choice is recorded, so
    `status` and `down` know it.

    Returns ``started=False`` when both already ran (nothing changed). The Kafka
    fetch on a first run is not counted in ``timeout``, which bounds the wait
    for the servers to answer. If startup fails, the processes this call
    started are stopped again and StackError carries their log tails.
    """
    report = progress or (lambda line: None)
    dir = _resolve(dir)
    dir.mkdir(parents=True, exist_ok=True)
    layout = _Layout(dir)
    redis_name = "redis_cluster" if redis_cluster else "redis"
    with _locked(dir):
        state = load_state(dir)
        state["redis_mode"] = "cluster" if redis_cluster else "single"
        kafka_up, redis_up = _running(state, layout)
        needed = [] if redis_up else ["redis-server", "redis-cli"] if redis_cluster else ["redis-server"]
        if not kafka_up:
            needed.append("java")
            if kafka.needs_fetch(kafka_version, kafka_cache_dir()):
                needed.append("mvn")
        require_programs(needed)
        if kafka_up and state["kafka"].get("version") != kafka_version:
            report(f"Kafka {state['kafka'].get('version')} is already running; leaving it as it is")

        plan = _plan_ports(
            state, [name for name, up_ in (("kafka", kafka_up), (redis_name, redis_up)) if not up_], report
        )
        started: list[tuple[int, str]] = []
        # Error messages quote only what the logs received from here on.
        since = {name: layout.log_offsets(name) for name in ("kafka", "redis", "redis_cluster")}
        try:
            if not kafka_up:
                state["kafka"], since["kafka"] = _start_kafka(layout, kafka_version, plan["kafka"], report)
                started.append((state["kafka"]["pid"], str(layout.kafka_props)))
                save_state(dir, state)
            if not redis_up and redis_cluster:
                state["redis_cluster"] = _start_redis_cluster(layout, plan[redis_name], report, started)
                save_state(dir, state)
            elif not redis_up:
                state["redis"], since["redis"] = _start_redis(layout, plan["redis"][0], report)
                started.append((state["redis"]["pid"], str(layout.redis_conf)))
                save_state(dir, state)
            began = time.monotonic()
            deadline = began + timeout
            if redis_cluster:
                wait_cluster_ready(
                    _cluster_ports(state),
                    state["redis_cluster"]["pids"],
                    deadline,
                    lambda: layout.failure_logs("redis_cluster", since["redis_cluster"]),
                )
            else:
                redis_server.wait_ready(
                    redis_server.url(state["redis"]["port"]),
                    state["redis"]["pid"],
                    deadline,
                    lambda: layout.failure_logs("redis", since["redis"]),
                )
            if not redis_up:
                report(f"Redis ready in {time.monotonic() - began:.1f} s")
            kafka.wait_ready(
                f"127.0.0.1:{state['kafka']['port']}",
                state["kafka"]["pid"],
                deadline,
                lambda: layout.failure_logs("kafka", since["kafka"]),
            )
            if not kafka_up:
                report(f"Kafka ready in {time.monotonic() - began:.1f} s")
        except BaseException:
            # Leave the stack as we found it: stop only what this call started.
            stop(started, timeout=30.0)
            started_pids = {pid for pid, _ in started}
            for name in ("kafka", "redis"):
                if state.get(name, {}).get("pid") in started_pids:
                    state[name]["pid"] = None
            if started_pids.intersection(state.get("redis_cluster", {}).get("pids") or []):
                state["redis_cluster"]["pids"] = []
            save_state(dir, state)
            raise
        return _info(dir, state, started=bool(started))


Service = Literal["kafka", "redis"]


def down(dir: Path, *, timeout: float = 30.0, only: Service | None = None) -> list[str]:
    """Stop the servers `up` started in ``dir``; describe each one stopped.

    Only a recorded pid whose command line still names our config file is
    signalled (SIGTERM, then SIGKILL after ``timeout``). Data, logs and ports
    are kept for the next `up`. Returns [] when nothing of ours was running.

    ``only`` stops one server and leaves the other running: fault tests take
    the broker (or Redis) away for a while, and the next `up` brings it back
    on the same port with the same data (Redis comes back empty: it keeps
    nothing on disk).
    """
    if only is not None and only not in ("kafka", "redis"):
        raise ValueError(f"only must be 'kafka' or 'redis', not {only!r}")
    dir = _resolve(dir)
    if not (dir / "stack.json").is_file():
        return []
    layout = _Layout(dir)
    names = {"kafka": ("Kafka", str(layout.kafka_props)), "redis": ("Redis", str(layout.redis_conf))}
    if only is not None:
        names = {only: names[only]}
    with _locked(dir):
        state = load_state(dir)
        targets = {
            name: state[name]["pid"]
            for name, (_, marker) in names.items()
            if is_ours(state.get(name, {}).get("pid"), marker)
        }
        nodes = _cluster_nodes(state, layout) if "redis" in names else []
        stopped = set(stop([(pid, names[name][1]) for name, pid in targets.items()] + nodes, timeout))
        described = [
            f"{names[name][0]} (pid {pid}, 127.0.0.1:{state[name]['port']})"
            for name, pid in targets.items()
            if pid in stopped
        ]
        ports = dict(zip(state.get("redis_cluster", {}).get("pids") or [], _cluster_ports(state), strict=False))
        described += [f"Redis Cluster node (pid {pid}, 127.0.0.1:{ports[pid]})" for pid, _ in nodes if pid in stopped]
        for name in names:
            if name in state and state[name].get("pid") is not None:
                state[name]["pid"] = None
        if nodes:
            state["redis_cluster"]["pids"] = []
        save_state(dir, state)
    return described


def status(dir: Path) -> StackInfo | None:
    """The running stack in ``dir`` (``started=False``), or None unless both servers run.

    Checks processes only (pid alive with our command line); `up` is what waits
    for them to answer.
    """
    dir = _resolve(dir)
    state = load_state(dir) if dir.is_dir() else {}
    if state and all(_running(state, _Layout(dir))):
        return _info(dir, state, started=False)
    return None
