"""The local stack's pure parts and its refusals, without starting any server."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from riskmon.stack import StackError, default_stack_dir, down, kafka, kafka_cache_dir, redis_server, status, up
from riskmon.stack.ports import free_ports, is_listening, port_is_free
from riskmon.stack.process import is_ours, read_cmdline, stop


def _path_with_only(tmp_path: Path, programs: list[str]) -> str:
    """A PATH holding links to just ``programs``: the others look uninstalled."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in programs:
        real = shutil.which(name)
        if real is None:
            pytest.skip(f"{name} is not installed here")
        (bin_dir / name).symlink_to(real)
    return str(bin_dir)


def _complete_cache(cache: Path) -> None:
    home = cache / f"kafka-{kafka.DEFAULT_KAFKA_VERSION}"
    home.mkdir(parents=True)
    (home / kafka.COMPLETE_MARKER).write_text("")


@pytest.mark.parametrize(
    ("present", "cache_complete", "missing", "advice"),
    [
        # Redis missing: Debian's package is named.
        (["java", "mvn"], False, "redis-server", "apt-get install redis-server"),
        # No Java runtime: the headless JRE is named.
        (["mvn", "redis-server"], True, "java", "apt-get install openjdk-17-jre-headless"),
        # First run (no Kafka in the cache) without Maven.
        (["java", "redis-server"], False, "mvn", "apt-get install maven"),
    ],
)
def test_missing_program_is_named_with_what_to_install(tmp_path, monkeypatch, present, cache_complete, missing, advice):
    cache = tmp_path / "cache"
    if cache_complete:
        _complete_cache(cache)
    monkeypatch.setenv("RISKMON_CACHE_DIR", str(cache))
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, present))
    stack_dir = tmp_path / "stack"

    with pytest.raises(StackError) as err:
        up(stack_dir)

    message = str(err.value)
    assert f"{missing} not found on PATH" in message
    assert advice in message
    # Checked before any work: nothing fetched, configured or recorded.
    assert not (stack_dir / "stack.json").exists()
    assert not (stack_dir / "kafka").exists()
    assert not (cache / f"kafka-{kafka.DEFAULT_KAFKA_VERSION}" / "pom.xml").exists()


def test_every_missing_program_is_reported_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKMON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, []))
    with pytest.raises(StackError) as err:
        up(tmp_path / "stack")
    for name in ("java", "mvn", "redis-server"):
        assert f"{name} not found on PATH" in str(err.value)


def test_maven_failure_says_maven_central_must_be_reachable(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_mvn = bin_dir / "mvn"
    fake_mvn.write_text("#!/bin/sh\necho '[ERROR] Could not transfer artifact: Network is unreachable'\nexit 1\n")
    fake_mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    with pytest.raises(StackError) as err:
        kafka.ensure_kafka("4.1.1", tmp_path / "cache", progress=lambda line: None)

    message = str(err.value)
    assert "Maven Central" in message
    assert "Network is unreachable" in message
    assert kafka.needs_fetch("4.1.1", tmp_path / "cache")  # no marker: the next run fetches again


def test_a_fetch_without_its_completion_marker_is_redone(tmp_path):
    lib = tmp_path / "kafka-4.1.1" / "lib"
    lib.mkdir(parents=True)
    (lib / "kafka_2.13-4.1.1.jar").write_bytes(b"half")
    assert kafka.needs_fetch("4.1.1", tmp_path)
    (tmp_path / "kafka-4.1.1" / kafka.COMPLETE_MARKER).write_text("")
    assert not kafka.needs_fetch("4.1.1", tmp_path)


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        assert port_is_free(port)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_with_a_listener_is_not_free():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_is_free(port)
        assert is_listening(port)
    assert not is_listening(port)


def test_server_properties_listen_on_loopback_only(tmp_path):
    text = kafka.render_server_properties(tmp_path, 19092, 19093)
    props = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["process.roles"] == "broker,controller"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["message.max.bytes"] == "8388608"


def test_log4j2_config_writes_the_broker_log_file(tmp_path):
    text = kafka.render_log4j2(tmp_path / "kafka.log")
    assert f"appender.file.fileName = {tmp_path / 'kafka.log'}" in text
    assert "rootLogger.level = INFO" in text
    assert "shutdownHook = disable" in text


def test_redis_config_is_loopback_and_not_persistent(tmp_path):
    lines = redis_server.render_config(tmp_path, 16379).splitlines()
    for expected in (
        "bind 127.0.0.1",
        "port 16379",
        "protected-mode yes",
        'save ""',
        "appendonly no",
        "daemonize no",
        "set-proc-title no",
        f'dir "{tmp_path}"',
    ):
        assert expected in lines


def test_cluster_id_is_unpadded_base64url_of_16_bytes():
    for _ in range(50):
        cluster_id = kafka.new_cluster_id()
        assert len(cluster_id) == 22 and "=" not in cluster_id and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


@pytest.mark.parametrize(
    ("heap", "expected"),
    [
        ("1g", ["-Xmx1g", "-Xms256m"]),  # large heap: start at 256m
        ("128m", ["-Xmx128m", "-Xms128m"]),  # small heap: -Xms must not exceed -Xmx
    ],
)
def test_kafka_heap_comes_from_the_environment(monkeypatch, tmp_path, heap, expected):
    monkeypatch.setenv("RISKMON_KAFKA_HEAP", heap)
    cmd = kafka.start_command(tmp_path / "lib", tmp_path / "server.properties", tmp_path / "log4j2.properties")
    assert cmd[1:3] == expected
    assert cmd[-2:] == ["kafka.Kafka", str(tmp_path / "server.properties")]


def test_a_bad_heap_setting_is_refused(monkeypatch):
    monkeypatch.setenv("RISKMON_KAFKA_HEAP", "lots")
    with pytest.raises(StackError, match="RISKMON_KAFKA_HEAP"):
        kafka.heap_size()


def test_a_pid_with_another_command_line_is_not_ours():
    pid = os.getpid()
    assert not is_ours(pid, "/nonexistent/kafka/server.properties")
    assert is_ours(pid, read_cmdline(pid)[-1])  # positive control: this very process
    assert not is_ours(None, "/x")
    assert not is_ours(-1, "/x")


def test_stop_never_signals_a_process_that_is_not_ours():
    assert stop([(os.getpid(), "/nonexistent/redis/redis.conf")], timeout=0.1) == []


def test_a_recorded_pid_now_used_by_someone_else_is_left_alone(tmp_path):
    # As if the machine rebooted and our pids were recycled by other programs.
    state = {
        "kafka": {"pid": os.getpid(), "port": 1, "controller_port": 2, "version": "4.1.1"},
        "redis": {"pid": os.getppid(), "port": 3},
    }
    (tmp_path / "stack.json").write_text(json.dumps(state))
    assert status(tmp_path) is None
    assert down(tmp_path) == []
    after = json.loads((tmp_path / "stack.json").read_text())
    assert after["kafka"]["pid"] is None and after["redis"]["pid"] is None
    assert after["kafka"]["port"] == 1  # ports are kept for the next `up`


def test_down_and_status_on_an_empty_directory(tmp_path):
    assert down(tmp_path / "never-used") == []
    assert status(tmp_path / "never-used") is None
    assert not (tmp_path / "never-used").exists()


def test_default_directories_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RISKMON_STACK_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("RISKMON_CACHE_DIR", str(tmp_path / "c"))
    assert default_stack_dir() == tmp_path / "s"
    assert kafka_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RISKMON_STACK_DIR")
    monkeypatch.delenv("RISKMON_CACHE_DIR")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_stack_dir() == Path.home() / ".local/state/riskmon/stack"
    assert kafka_cache_dir() == Path.home() / ".cache/riskmon"
    # The jar cache never lands inside the repository.
    assert Path(sys.modules["riskmon"].__file__).parent.parent not in kafka_cache_dir().parents


def _stand_in(marker: Path) -> subprocess.Popen:
    """A harmless process whose command line names ``marker``, as our servers' do."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(marker)])


def test_down_can_stop_one_server_and_leave_the_other_running(tmp_path):
    # Fault tests take only the broker away; Redis (and its port) must stay.
    stack_dir = tmp_path.resolve()
    kafka_proc = _stand_in(stack_dir / "kafka" / "server.properties")
    redis_proc = _stand_in(stack_dir / "redis" / "redis.conf")
    try:
        state = {
            "kafka": {"pid": kafka_proc.pid, "port": 1, "controller_port": 2, "version": "4.1.1"},
            "redis": {"pid": redis_proc.pid, "port": 3},
        }
        (stack_dir / "stack.json").write_text(json.dumps(state))
        stopped = down(stack_dir, only="kafka", timeout=5)
        assert stopped == [f"Kafka (pid {kafka_proc.pid}, 127.0.0.1:1)"]
        assert kafka_proc.wait(5) is not None
        assert redis_proc.poll() is None, "Redis must keep running"
        after = json.loads((stack_dir / "stack.json").read_text())
        assert after["kafka"]["pid"] is None and after["kafka"]["port"] == 1  # the port is kept for `up`
        assert after["redis"]["pid"] == redis_proc.pid
        assert down(stack_dir, only="kafka") == []  # nothing left to stop
        with pytest.raises(ValueError, match="only must be"):
            down(stack_dir, only="zookeeper")  # type: ignore[arg-type]
        assert down(stack_dir, only="redis", timeout=5) == [f"Redis (pid {redis_proc.pid}, 127.0.0.1:3)"]
    finally:
        for proc in (kafka_proc, redis_proc):
            proc.kill()
            proc.wait()
