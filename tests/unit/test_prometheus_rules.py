"""deploy/prometheus/rules.yml: valid for promtool, right by its own unit tests,
reading only metrics that exist, and loaded by the compose Prometheus.

``promtool`` comes with Debian's ``prometheus`` package, which
``scripts/bootstrap.sh`` installs; the promtool checks are skipped only where
it is missing. A real Prometheus evaluates the same file against a live worker
in ``tests/integration/test_prometheus.py``.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.promql import known_metric_names, metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
RULES_TEST = Path(__file__).with_name("prometheus_rules_test.yml")
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package prometheus; scripts/bootstrap.sh installs it)"
)
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package prometheus; scripts/bootstrap.sh installs it)"
)
def test_rules_fire_and_stay_silent_as_their_unit_tests_say() -> None:
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(RULES_TEST)], capture_output=True, text=True, timeout=120, cwd=RULES_TEST.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_reads_metrics_the_worker_exports(rules: list[dict[str, Any]]) -> None:
    known = known_metric_names()
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric found in its expression"
        assert names <= known, f"{rule['alert']}: unknown metrics {sorted(names - known)}"


def test_every_alert_has_a_severity_and_words_for_the_pager(rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in rules:
        assert rule["alert"].startswith("Riskmon"), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_the_health_rules_cover_what_operators_need(rules: list[dict[str, Any]]) -> None:
    read = set().union(*(metric_names(rule["expr"]) for rule in rules))
    for metric in (
        "up",
        "riskmon_consumer_lag_messages",
        "riskmon_deadletters_total",
        "riskmon_decisions_total",
        "riskmon_decision_latency_seconds_bucket",
        "riskmon_redis_degraded",
        "riskmon_degraded_decisions_total",
        "riskmon_alert_deliveries_total",
    ):
        assert metric in read, f"no rule reads {metric}"


def test_the_compose_prometheus_loads_the_rules() -> None:
    """The mounted file matches a ``rule_files`` pattern of the mounted config."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    prometheus = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["prometheus"]
    mounts = dict(str(m).rsplit(":ro", 1)[0].split(":", 1) for m in prometheus["volumes"] if str(m).startswith("./"))
    config_target = mounts["./deploy/prometheus.yml"]
    rules_target = mounts["./deploy/prometheus/rules.yml"]
    patterns = [posixpath.join(posixpath.dirname(config_target), p) for p in config["rule_files"]]
    assert any(fnmatch.fnmatch(rules_target, pattern) for pattern in patterns), (rules_target, patterns)


@pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package prometheus; scripts/bootstrap.sh installs it)"
)
def test_promtool_accepts_the_compose_prometheus_config() -> None:
    config = ROOT / "deploy" / "prometheus.yml"
    result = subprocess.run([PROMTOOL, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(AMTOOL is None, reason="amtool not installed (Debian package prometheus-alertmanager)")
def test_amtool_accepts_the_alertmanager_config() -> None:
    config = ROOT / "deploy" / "alertmanager.yml"
    result = subprocess.run([AMTOOL, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_prometheus_sends_its_alerts_to_the_compose_alertmanager() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    targets = [
        t for am in config["alerting"]["alertmanagers"] for group in am["static_configs"] for t in group["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    alertmanager = services["alertmanager"]
    assert "9093" in [str(port) for port in alertmanager["expose"]]
    assert "./deploy/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in alertmanager["volumes"]
    assert "alertmanager" in services["prometheus"]["depends_on"]


def test_alertmanager_inhibitions_name_alerts_that_exist(rules: list[dict[str, Any]]) -> None:
    names = {rule["alert"] for rule in rules}
    config = yaml.safe_load((ROOT / "deploy" / "alertmanager.yml").read_text())
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            label, op, value = re.fullmatch(r'(\w+)(=~|=)"(.*)"', matcher).groups()
            assert label == "alertname"
            matching = {n for n in names if (re.fullmatch(value, n) if op == "=~" else n == value)}
            assert matching, f"inhibition matcher {matcher} names no rule"
