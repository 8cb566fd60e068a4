"""A throwaway Redis server on loopback, from Debian's ``redis-server`` binary.

Redis here holds only rebuildable state (features, dedup keys), so nothing is
persisted to disk. The process title is left alone (``set-proc-title no``) so
its command line keeps naming our config file, which is how `down` recognises it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from riskmon.stack.process import is_alive
from riskmon.stack.state import StackError


def render_config(dir: Path, port: int) -> str:
    """redis.conf for a loopback-only, non-persistent, foreground server."""
    return "\n".join(
        [
            "# Written by riskmon's stack tooling; rewritten on every start.",
            "bind 127.0.0.1",
            f"port {port}",
            "protected-mode yes",
            "daemonize no",
            f'dir "{dir}"',
            f'logfile "{dir / "redis.log"}"',
            'save ""',
            "appendonly no",
            "set-proc-title no",
            "",
        ]
    )


def start_command(conf: Path) -> list[str]:
    """The server's command line; ``conf`` (absolute) identifies the process as ours."""
    return ["redis-server", str(conf)]


def url(port: int) -> str:
    """The client URL for a server on ``port``, database 0.

    >>> url(6379)
    'redis://127.0.0.1:6379/0'
    """
    return f"redis://127.0.0.1:{port}/0"


def wait_ready(redis_url: str, pid: int, deadline: float, describe_failure: Callable[[], str]) -> None:
    """Block until the server answers PING; StackError with the log tail otherwise."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
    last_error = "no answer yet"
    try:
        while True:
            if not is_alive(pid):
                raise StackError(f"redis-server (pid {pid}) exited during startup.\n{describe_failure()}")
            if time.monotonic() >= deadline:
                raise StackError(
                    f"Redis on {redis_url} did not answer PING in time ({last_error}).\n{describe_failure()}"
                )
            try:
                if client.ping():
                    return
            except redis.RedisError as exc:
                last_error = str(exc)
            time.sleep(0.1)
    finally:
        client.close()
