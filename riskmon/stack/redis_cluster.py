"""A throwaway three-master Redis Cluster on loopback, from Debian's ``redis-server``.

What ``riskmon stack up --redis-cluster`` starts instead of the single Redis:
three ``redis-server`` processes with ``cluster-enabled yes``, each in its own
directory under ``<stack>/redis-cluster/<port>/``, joined by ``redis-cli
--cluster create ... --cluster-replicas 0`` (16,384 slots split in three).
Like the single server it keeps nothing on disk, so every start builds a fresh
cluster (the old ``nodes.conf`` files are removed first) and comes back empty.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from riskmon.redis_clients import cluster_url
from riskmon.stack import redis_server
from riskmon.stack.ports import port_is_free
from riskmon.stack.process import is_alive
from riskmon.stack.state import StackError

#: How many masters the local cluster has (no replicas: a development stack).
MASTERS = 3


#: A node also listens on its port + 10000 (the cluster bus), so its port must be at most 55535.
BUS_OFFSET = 10000


def usable_port(port: int) -> bool:
    """Whether a node can listen on ``port``: it and its bus port are free (and exist)."""
    return port + BUS_OFFSET <= 65535 and port_is_free(port) and port_is_free(port + BUS_OFFSET)


def free_node_ports(count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct ports in 20000-45000 whose bus ports are free too (the kernel's
    ephemeral ports, from 32768 up, would often leave no room for the bus)."""
    rng = rng or random.Random()
    ports: list[int] = []
    for _ in range(2000):
        port = rng.randrange(20000, 45000)
        if port not in ports and all(abs(port - p) != BUS_OFFSET for p in ports) and usable_port(port):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise StackError("no free loopback ports for the Redis Cluster nodes (each needs port and port + 10000)")


def node_dir(base: Path, port: int) -> Path:
    """Where the node on ``port`` keeps its config, ``nodes.conf`` and log."""
    return base / str(port)


def render_config(dir: Path, port: int) -> str:
    """redis.conf of one cluster node: the single server's (loopback only, non-persistent,
    foreground, :func:`riskmon.stack.redis_server.render_config`) with cluster mode on."""
    cluster = ["cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000", ""]
    return redis_server.render_config(dir, port) + "\n".join(cluster)


#: A node's command line is the single server's: its absolute config path identifies it as ours.
start_command = redis_server.start_command


def url(ports: Sequence[int]) -> str:
    """The client URL: the cluster through its first master.

    >>> url([7000, 7001, 7002])
    'redis+cluster://127.0.0.1:7000'
    """
    return cluster_url("127.0.0.1", ports[0])


def create_command(ports: Sequence[int]) -> list[str]:
    """``redis-cli --cluster create``: one master per port, no replicas, no question asked.

    >>> create_command([1, 2, 3])[-5:]
    ['127.0.0.1:2', '127.0.0.1:3', '--cluster-replicas', '0', '--cluster-yes']
    """
    return [
        "redis-cli",
        "--cluster",
        "create",
        *(f"127.0.0.1:{p}" for p in ports),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
    ]


def _ping(port: int) -> bool:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def cluster_state(port: int) -> str:
    """``cluster_state`` of CLUSTER INFO on the node at ``port`` ("ok" once every slot is served)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
    try:
        info = client.execute_command("CLUSTER INFO")
    except redis.RedisError as exc:
        return f"unreachable ({exc})"
    finally:
        client.close()
    if isinstance(info, dict):  # redis-py parses the reply
        return str(info.get("cluster_state", "unknown"))
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def wait_ready(ports: Sequence[int], pids: Sequence[int], deadline: float, describe_failure: Callable[[], str]) -> None:
    """Wait until every node answers PING, join them into a cluster, wait for ``cluster_state:ok``.

    A node that already belongs to a cluster (the stack was up) is left as it is.
    """

    def check_alive() -> None:
        for pid in pids:
            if not is_alive(pid):
                raise StackError(f"a Redis Cluster node (pid {pid}) exited during startup.\n{describe_failure()}")

    while not all(_ping(p) for p in ports):
        check_alive()
        if time.monotonic() >= deadline:
            raise StackError(f"Redis Cluster nodes on {list(ports)} did not answer PING in time.\n{describe_failure()}")
        time.sleep(0.1)
    if cluster_state(ports[0]) != "ok":
        done = subprocess.run(create_command(ports), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise StackError(
                f"redis-cli --cluster create failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    last = ""
    while True:
        states = [cluster_state(p) for p in ports]
        if all(state == "ok" for state in states):
            return
        check_alive()
        last = ", ".join(f"{p}: {s}" for p, s in zip(ports, states, strict=True))
        if time.monotonic() >= deadline:
            raise StackError(f"Redis Cluster did not reach cluster_state:ok in time ({last}).\n{describe_failure()}")
        time.sleep(0.2)
