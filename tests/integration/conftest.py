"""Fixtures for tests on the real broker and server.

One Kafka (KRaft) and one Redis per test session, started by riskmon's own
stack tooling (``riskmon.stack.up``) in a temporary directory and stopped at
the end. Set ``RISKMON_TEST_KAFKA_BOOTSTRAP`` and ``RISKMON_TEST_REDIS_URL`` to
run against services that already run instead. Never a mock.

``RISKMON_TEST_REDIS_CLUSTER=1`` starts a three-master Redis Cluster instead of
the single Redis (``riskmon stack up --redis-cluster``); the tests marked
``redis_cluster`` are the ones written to pass on either (CI runs them on the
cluster after the whole suite: ``RISKMON_TEST_REDIS_CLUSTER=1 pytest -m redis_cluster``).

Each test gets its own topic prefix and consumer group, so tests do not see
each other's messages, and its worker runs as a real ``riskmon worker``
process, exactly as an operator would start it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    redis_url: str


#: Whether this session runs against a Redis Cluster (see the module docstring).
REDIS_CLUSTER = os.environ.get("RISKMON_TEST_REDIS_CLUSTER", "") not in ("", "0")


def redis_client(url: str) -> Any:
    """A blocking client for ``url``, single server or cluster (as riskmon makes them)."""
    from riskmon.redis_clients import sync_client

    return sync_client(url)


def key_namespace_of(prefix: str, redis_url: str) -> str:
    """The Redis key namespace a worker with topic prefix ``prefix`` uses on ``redis_url``."""
    from riskmon.pipeline.store import key_namespace

    return key_namespace(prefix, redis_url)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    bootstrap = os.environ.get("RISKMON_TEST_KAFKA_BOOTSTRAP")
    redis_url = os.environ.get("RISKMON_TEST_REDIS_URL")
    if bootstrap and redis_url:
        yield Services(bootstrap, redis_url)
        return
    from riskmon import stack

    directory = tmp_path_factory.mktemp("stack")
    try:
        info = stack.up(directory, timeout=300, redis_cluster=REDIS_CLUSTER)
        yield Services(info.kafka_bootstrap, info.redis_url)
    finally:
        stack.down(directory)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The input topic whose assignment shows that a worker of each role is running.
ROLE_INPUT = {
    "all": "credit.applications",
    "decisions": "credit.applications",
    "transactions": "credit.transactions",
    "background": "risk.alerts.candidates",
}


class WorkerProcess:
    """A real ``riskmon worker`` process with its own topics and group (``RISKMON_ROLE`` in ``env``: one role's)."""

    def __init__(self, services: Services, prefix: str, log_path: Path, env: dict[str, str]) -> None:
        self.services = services
        self.prefix = prefix
        self.app_id = f"{prefix}riskmon"
        self.role = env.get("RISKMON_ROLE", "all")
        self.group_id = self.app_id if self.role == "all" else f"{self.app_id}-{self.role}"
        self.log_path = log_path
        self.web_port = free_port()
        self._env = env
        self.proc: subprocess.Popen | None = None

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def start(self, *, timeout: float = 90.0) -> WorkerProcess:
        env = {
            **os.environ,
            "RISKMON_KAFKA_BOOTSTRAP": self.services.kafka_bootstrap,
            "RISKMON_REDIS_URL": self.services.redis_url,
            "RISKMON_TOPIC_PREFIX": self.prefix,
            "RISKMON_APP_ID": self.app_id,
            "RISKMON_WEB_PORT": str(self.web_port),
            "RISKMON_PARTITIONS": "2",
            **self._env,  # a test's own settings win (its own Redis, config...)
        }
        admin = AdminClient({"bootstrap.servers": self.services.kafka_bootstrap})
        earlier = self._members(admin)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "riskmon", "worker"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until_assigned(timeout, admin, earlier)
        return self

    def _members(self, admin: AdminClient) -> dict[str, list[str]]:
        """Member id -> assigned topics of this worker's consumer group (empty if none yet)."""
        try:
            desc = admin.describe_consumer_groups([self.group_id])[self.group_id].result(timeout=5)
        except Exception:
            return {}
        if not str(desc.state).endswith("STABLE"):
            return {}
        return {
            m.member_id: [tp.topic for tp in (m.assignment.topic_partitions if m.assignment else [])]
            for m in desc.members
        }

    def wait_until_assigned(self, timeout: float, admin: AdminClient, earlier: dict[str, list[str]]) -> None:
        """Wait until a member that joined after this process started holds input partitions.

        Why not "any member holds them": a worker just killed with SIGKILL stays
        a member until its session times out, so the group looks stable and
        assigned while this process is still importing; a test that went on
        would signal a worker that has not installed its handlers yet.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            members = self._members(admin)
            if any(
                self.topic(ROLE_INPUT[self.role]) in topics
                for member, topics in members.items()
                if member not in earlier
            ):
                return
            time.sleep(0.5)
        raise AssertionError(f"worker never got its partitions; log:\n{self.log_tail()}")

    def assert_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no log>"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


@pytest.fixture
def make_worker(services: Services, tmp_path: Path) -> Iterator:
    """Factory of workers that share one topic prefix per test; all stopped at the end."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    workers: list[WorkerProcess] = []

    def factory(**env: str) -> WorkerProcess:
        worker = WorkerProcess(services, prefix, tmp_path / f"worker-{len(workers)}.log", env)
        workers.append(worker)
        return worker

    yield factory
    for worker in workers:
        worker.stop()


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    """Produce ``(key, value)`` pairs and wait until the broker has them all."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "message.max.bytes": 8_000_000})
    for key, value in messages:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0, "broker did not acknowledge every message"


def consume(bootstrap: str, topic: str, *, expect: int, timeout: float = 60.0, settle: float = 2.0) -> list:
    """Read ``topic`` from the beginning until ``expect`` messages came, then
    ``settle`` seconds more to catch any extra (a duplicate must be seen)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.message.max.bytes": 10_000_000,
        }
    )
    consumer.subscribe([topic])
    got: list = []
    deadline = time.monotonic() + timeout
    settle_until = None
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                got.append(msg)
            if len(got) >= expect and settle_until is None:
                settle_until = time.monotonic() + settle
            if settle_until is not None and time.monotonic() >= settle_until:
                break
    finally:
        consumer.close()
    return got


def values(messages: list) -> list[dict]:
    return [orjson.loads(m.value()) for m in messages]
