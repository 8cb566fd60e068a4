"""`riskmon stack up --redis-cluster` against the real servers: three redis-server nodes joined into a
cluster that serves all 16,384 slots, recorded so `status` and `down` know them, fresh after a restart.

One ordered scenario on a stack directory of its own; the ``finally`` stops everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from riskmon.redis_clients import sync_client
from riskmon.stack import down, status, up
from riskmon.stack.process import is_alive
from riskmon.stack.redis_cluster import cluster_state

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _nodes(stack_dir) -> tuple[list[int], list[int]]:
    entry = json.loads((stack_dir / "stack.json").read_text())["redis_cluster"]
    return [entry["port"], entry["port2"], entry["port3"]], entry["pids"]


def test_redis_cluster_stack_life_cycle(tmp_path) -> None:
    stack_dir = tmp_path / "stack"
    try:
        # 1. up: three masters, every slot served, the URL names the cluster
        info = up(stack_dir, redis_cluster=True)
        assert info.started and info.redis_url.startswith("redis+cluster://127.0.0.1:")
        ports, pids = _nodes(stack_dir)
        assert len(set(ports)) == 3 and all(p + 10000 <= 65535 for p in ports)
        assert all(is_alive(pid) for pid in pids)
        assert [cluster_state(p) for p in ports] == ["ok"] * 3
        client = sync_client(info.redis_url)
        masters = client.get_primaries()
        assert len(masters) == 3
        # keys of different tags land on different masters; each answers through the cluster client
        for i in range(30):
            client.set(f"stack-test:{{k{i}}}", i)
        holders = {client.get_node_from_key(f"stack-test:{{k{i}}}").name for i in range(30)}
        assert len(holders) == 3
        assert client.get("stack-test:{k7}") == b"7"
        client.close()

        # 2. up again changes nothing; status reports the cluster
        again = up(stack_dir, redis_cluster=True)
        assert not again.started and again.redis_url == info.redis_url
        assert status(stack_dir) == again

        # 3. the command line prints the cluster URL too
        out = subprocess.run(
            [sys.executable, "-m", "riskmon", "stack", "status", "--dir", str(stack_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and f"REDIS_URL={info.redis_url}" in out.stdout, out

        # 4. down stops Kafka and the three nodes, and only them
        stopped = down(stack_dir)
        assert sum("Redis Cluster node" in line for line in stopped) == 3, stopped
        assert not any(is_alive(pid) for pid in pids)
        assert status(stack_dir) is None

        # 5. up again: a fresh cluster on the same ports, empty (nothing is persisted)
        back = up(stack_dir, redis_cluster=True)
        assert back.started and _nodes(stack_dir)[0] == ports
        assert [cluster_state(p) for p in ports] == ["ok"] * 3
        client = sync_client(back.redis_url)
        assert client.get("stack-test:{k7}") is None
        client.close()
    finally:
        down(stack_dir)
