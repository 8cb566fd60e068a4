"""Free loopback ports for the local servers.

The stack never uses fixed ports: another engineer's stack, a test run, or a
production-like container may already hold 9092/6379 on the same machine.
"""

from __future__ import annotations

import contextlib
import socket

HOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports that are free on 127.0.0.1 right now.

    All sockets stay bound until every port is chosen, so the kernel cannot hand
    out the same port twice.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


def port_is_free(port: int) -> bool:
    """True when a server could listen on ``127.0.0.1:port``.

    SO_REUSEADDR mirrors what Kafka and Redis do, so a port with only
    TIME_WAIT connections left from a previous run counts as free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def is_listening(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``127.0.0.1:port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False
