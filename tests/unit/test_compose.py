"""docker-compose.yml is checked as a file: Docker cannot run here.

These tests hold the compose file, the Dockerfile, the Prometheus config and the
package to each other, so that renaming a command, a port or a listener in one
place without the others fails here instead of on a user's machine.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    """The environment as strings, from either the mapping or the list form."""
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _listeners(value: str) -> dict[str, str]:
    """'NAME://host:port,...' -> {NAME: 'host:port'}."""
    return dict(item.split("://", 1) for item in value.split(","))


def _container_ports(service: dict[str, Any]) -> set[int]:
    ports = {int(str(port).split("/")[0]) for port in service.get("expose", [])}
    for port in service.get("ports", []):
        ports.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    return ports


ROLES = ("decisions", "transactions", "background")


def test_services_exist(services: dict[str, Any]) -> None:
    assert {"kafka", "redis", *ROLES, "prometheus", "grafana"} <= set(services)


def test_kafka_is_single_node_kraft(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].split(":")[0] == "apache/kafka"
    env = _env(kafka)
    roles = set(env["KAFKA_PROCESS_ROLES"].split(","))
    assert {"broker", "controller"} <= roles
    node_id, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split("@")
    assert node_id == env["KAFKA_NODE_ID"]
    listeners = _listeners(env["KAFKA_LISTENERS"])
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in listeners
    assert voter.rsplit(":", 1)[1] == listeners[controller].rsplit(":", 1)[1]
    protocol_map = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocol_map)
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    assert controller not in advertised  # controllers are never advertised to clients
    assert set(advertised) <= set(listeners)
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert env["KAFKA_MESSAGE_MAX_BYTES"] == "8388608"
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


def test_redis_is_healthchecked(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert redis["image"].split(":")[0] == "redis"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


@pytest.mark.parametrize("role", ROLES)
def test_worker_reaches_kafka_and_redis(services: dict[str, Any], role: str) -> None:
    worker = services[role]
    env = _env(worker)
    advertised = _listeners(_env(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]).values()
    assert env["RISKMON_KAFKA_BOOTSTRAP"] in advertised
    assert env["RISKMON_KAFKA_BOOTSTRAP"].split(":")[0] == "kafka"
    assert re.match(r"^redis://redis:6379(/\d+)?$", env["RISKMON_REDIS_URL"])
    for dependency in ("kafka", "redis"):
        assert worker["depends_on"][dependency]["condition"] == "service_healthy"
        assert "healthcheck" in services[dependency]
    assert 6066 in _container_ports(worker)
    # Prometheus scrapes from another container: loopback-only would be unreachable.
    assert env.get("RISKMON_WEB_HOST") == "0.0.0.0"
    assert env.get("RISKMON_WEB_PORT", "6066") == "6066"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_service_runs_the_console_script_with_its_role(services: dict[str, Any], role: str) -> None:
    import riskmon.cli.commands

    command = services[role]["command"]
    assert command == ["riskmon", "worker", "--role", role]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts
    args = riskmon.cli.commands.build_parser().parse_args(command[1:])
    assert (args.command, args.role) == ("worker", role)


def test_one_role_of_each_kind_and_the_same_image(services: dict[str, Any]) -> None:
    assert len({services[role]["image"] for role in ROLES}) == 1
    assert len({repr(services[role]["build"]) for role in ROLES}) == 1


def test_dockerfile_builds_a_non_root_worker(services: dict[str, Any]) -> None:
    build = services["decisions"]["build"]
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    cmd = [line for line in instructions if line.startswith("CMD ")][-1]
    # the image alone runs every role in one process; each service names its role
    assert json.loads(cmd.removeprefix("CMD ")) == services["decisions"]["command"][:2] == ["riskmon", "worker"]
    assert any(line.startswith("RUN pip install .") for line in instructions)


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv"} <= ignored
    assert "pyproject.toml" not in ignored and "riskmon" not in ignored


def test_prometheus_scrapes_every_role(services: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    port = 6066
    jobs = []
    for role in ROLES:
        assert port in _container_ports(services[role])
        found = [
            job
            for job in config["scrape_configs"]
            for group in job.get("dns_sd_configs", [])
            if role in group.get("names", []) and group.get("port") == port
        ]
        assert found, f"no scrape job finds the {role} service on {port}"
        jobs += found
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in jobs)
    mounts = services["prometheus"]["volumes"]
    assert any(str(m).startswith("./deploy/prometheus.yml:/etc/prometheus/prometheus.yml") for m in mounts)


def _bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                sources.append(volume["source"])
        elif str(volume).startswith((".", "/", "~")):
            sources.append(str(volume).split(":", 1)[0])
    env_files = service.get("env_file", [])
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        sources.append(env_file["path"] if isinstance(env_file, dict) else env_file)
    return sources


def test_every_mounted_file_exists(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for source in _bind_sources(service):
            assert not source.startswith(("/", "~")), f"{name}: mount {source} is outside the repo"
            assert (ROOT / source).exists(), f"{name}: mounted {source} does not exist"


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":", 1)[0]
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source} not declared"
