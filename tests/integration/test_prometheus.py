"""A real Prometheus scrapes a real worker and evaluates the shipped rules and dashboard.

Debian's ``prometheus`` (installed by ``scripts/bootstrap.sh``) runs on a free
loopback port with a temporary configuration and data directory, scraping
the worker every second, and is stopped by its pid at the end. What the test
holds Prometheus to: the decisions it counts by outcome are the decisions the
worker published; dead letters, end-to-end latency and consumer lag agree
with what the test did; every rule group of ``deploy/prometheus/rules.yml``
loads and evaluates with health ``ok`` (and the dead-letter rule fires for
the bad messages sent); every query of the Grafana dashboard evaluates.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.integration.conftest import consume, free_port, produce, values
from tests.integration.test_application_path import application
from tests.unit.promql import grafana_to_promql

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "riskmon.json"
PROMETHEUS = shutil.which("prometheus")


class PrometheusServer:
    """``prometheus`` on a free loopback port; ``stop()`` signals its pid only."""

    def __init__(self, directory: Path, targets: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "prometheus.log"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "riskmon-worker", "static_configs": [{"targets": targets}]}],
        }
        self.config_path = directory / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.data = directory / "data"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        assert PROMETHEUS is not None
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self._ready(), timeout, f"prometheus never became ready; log:\n{self.log_tail()}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.api("query", query=expr)["result"]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no log>"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_for(condition: Callable[[], Any], timeout: float, message: str | Callable[[], str]) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(message() if callable(message) else message)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[list[str]], PrometheusServer]]:
    if PROMETHEUS is None:
        pytest.skip("Debian's prometheus is not installed (scripts/bootstrap.sh installs it)")
    servers: list[PrometheusServer] = []

    def start(targets: list[str]) -> PrometheusServer:
        server = PrometheusServer(tmp_path, targets)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def _by(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {series["metric"].get(label, ""): float(series["value"][1]) for series in result}


def test_prometheus_scrapes_the_worker_and_evaluates_the_rules(make_worker, services, prometheus) -> None:
    worker = make_worker().start()
    server = prometheus([f"127.0.0.1:{worker.web_port}"])
    wait_for(
        lambda: _by(server.query('up{job="riskmon-worker"}'), "job") == {"riskmon-worker": 1.0},
        30,
        lambda: f"worker never scraped: {server.api('targets')}",
    )

    n, bad = 80, 3
    applications_topic = worker.topic("credit.applications")
    produce(
        services.kafka_bootstrap,
        applications_topic,
        [(f"app-{i:05d}".encode(), orjson.dumps(application(i))) for i in range(n)]
        + [(f"bad-{i}".encode(), b"{not json") for i in range(bad)],
    )
    decisions = values(
        consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n, timeout=120, settle=1.0)
    )
    assert len(decisions) == n
    produced = collections.Counter(d["outcome"] for d in decisions)
    expected = {outcome: float(produced.get(outcome, 0)) for outcome in ("approve", "review", "reject")}

    # What Prometheus stored equals what the worker published.
    wait_for(
        lambda: _by(server.query("sum by (outcome) (riskmon_decisions_total)"), "outcome") == expected,
        60,
        lambda: f"decisions by outcome {server.query('sum by (outcome) (riskmon_decisions_total)')} != {expected}",
    )
    dead = wait_for(
        lambda: server.query("sum by (source_topic, error_type) (riskmon_deadletters_total)"), 30, "no dead letters"
    )
    assert [(d["metric"], float(d["value"][1])) for d in dead] == [
        ({"source_topic": applications_topic, "error_type": "invalid_json"}, float(bad))
    ]
    # end-to-end latency is observed once the broker acknowledged the decisions, a moment after they are counted
    e2e = "sum(riskmon_decision_end_to_end_latency_seconds_count)"
    wait_for(lambda: _by(server.query(e2e), "") == {"": float(n)}, 30, lambda: f"{e2e}: {server.query(e2e)}")
    consumed = f'riskmon_messages_consumed_total{{topic="{applications_topic}"}}'
    assert _by(server.query(f"sum({consumed})"), "") == {"": float(n + bad)}
    # A sample taken after the worker read everything sees every message on the
    # broker (end offsets) and a lag of 0 (an off-by-one would say 1 per partition).
    end = f'sum(riskmon_consumer_end_offset{{topic="{applications_topic}"}})'
    lag = f'sum(riskmon_consumer_lag_messages{{topic="{applications_topic}"}})'
    both = f"{end} or label_replace({lag}, 'gauge', 'lag', '', '')"
    wait_for(
        lambda: _by(server.query(both), "gauge") == {"": float(n + bad), "lag": 0.0},
        30,
        lambda: f"end offsets and lag: {server.query(both)}",
    )

    # Every group of the rules file loaded, and every rule evaluated with health ok.
    shipped = yaml.safe_load(RULES.read_text())["groups"]

    def evaluated() -> list[dict[str, Any]] | None:
        groups = server.api("rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        done = rules and all(not rule.get("lastEvaluation", "").startswith("0001-") for rule in rules)
        return groups if done else None

    groups = wait_for(evaluated, 30, lambda: f"rules never evaluated: {server.api('rules')}")
    loaded = {g["name"]: [r["name"] for r in g["rules"]] for g in groups}  # Prometheus lists groups by name
    assert loaded == {g["name"]: [r["alert"] for r in g["rules"]] for g in shipped}
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))

    # The rules see the real series: the bad messages raise the dead-letter warning, nothing else fires.
    def firing() -> dict[str, list[dict[str, str]]]:
        alerts = server.api("alerts")["alerts"]
        return {a["labels"]["alertname"]: [a["labels"]] for a in alerts if a["state"] == "firing"}

    alerts = wait_for(
        lambda: firing().get("RiskmonDeadLetters") and firing(), 30, lambda: f"alerts: {server.api('alerts')}"
    )
    assert set(alerts) == {"RiskmonDeadLetters"}, alerts
    labels = alerts["RiskmonDeadLetters"][0]
    assert (labels["source_topic"], labels["error_type"], labels["severity"]) == (
        applications_topic,
        "invalid_json",
        "warning",
    )

    # Every dashboard query evaluates; the ones about what just happened have data.
    dashboard = json.loads(DASHBOARD.read_text())
    answers = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            # a window wide enough to hold the whole test, so rates cannot fall to zero on a slow machine
            answers[(panel["title"], target["refId"])] = server.query(grafana_to_promql(target["expr"], "10m"))
    for key in (
        ("Decision latency", "A"),
        ("Decision latency", "B"),
        ("Decisions by outcome", "A"),
        ("Approve / review / reject rates", "A"),
        ("Consumer lag by topic", "A"),
        ("Workers up", "A"),
        ("End-to-end latency (produced to decision acknowledged)", "B"),
    ):
        assert answers[key], f"dashboard panel {key} has no data"
    shares = _by(answers[("Approve / review / reject rates", "A")], "outcome")
    assert sum(shares.values()) == pytest.approx(1.0)
