"""The Grafana dashboard and its provisioning, checked as files (no Grafana here).

What would break silently on a user's screen: a panel querying a metric the
worker does not export (renamed, misspelt), a panel pointing at a datasource
that is not provisioned, a provider looking in a directory nothing is
mounted on. The integration test evaluates every panel's query on a real
Prometheus scraping a real worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.promql import known_metric_names, metric_names

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    assert [p.name for p in DASHBOARDS] == ["riskmon.json"]
    return json.loads(DASHBOARDS[0].read_text())


@pytest.fixture(scope="module")
def grafana_service() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels inside collapsed rows
    return out


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in _panels(dashboard) for target in panel.get("targets", [])]


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Repository path -> container path of each bind mount."""
    return {
        src: dst.removesuffix(":ro")
        for src, dst in (str(m).split(":", 1) for m in service["volumes"] if str(m).startswith("./"))
    }


def test_every_query_reads_metrics_the_worker_exports(dashboard: dict[str, Any]) -> None:
    known = known_metric_names()
    queries = _queries(dashboard)
    assert len(queries) >= 12
    for title, expr in queries:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= known, f"{title}: unknown metrics {sorted(names - known)}"


def test_the_dashboard_shows_what_operators_asked_for(dashboard: dict[str, Any]) -> None:
    queries = [expr for _, expr in _queries(dashboard)]
    joined = "\n".join(queries)
    for quantile in ("0.5", "0.95"):
        assert f"histogram_quantile({quantile}, sum by (le) (rate(riskmon_decision_latency_seconds_bucket" in joined
    assert any("by (outcome)" in q and "riskmon_decisions_total" in q for q in queries)  # approve/review/reject
    assert any("overdue_rate" in q and "default_rate" in q for q in queries)
    assert any("by (level)" in q and "riskmon_alerts_total" in q for q in queries)
    for metric in (
        "riskmon_model_roc_auc",
        "riskmon_model_score_psi",
        "riskmon_consumer_lag_messages",
        "riskmon_deadletters_total",
    ):
        assert metric in joined, metric


def test_panels_use_the_provisioned_datasource(dashboard: dict[str, Any]) -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"] if source["type"] == "prometheus"}
    assert len(uids) == 1
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in uids, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] in uids, panel["title"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] in uids


def test_panels_tile_the_grid_without_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_the_dashboard_has_a_stable_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "riskmon-overview"  # links and the home dashboard depend on it
    assert "id" not in dashboard or dashboard["id"] is None  # an exported instance id would clash on import
    assert isinstance(dashboard["schemaVersion"], int)


def test_compose_provisions_the_datasource_and_dashboards(grafana_service: dict[str, Any]) -> None:
    assert grafana_service["image"].split(":")[0] == "grafana/grafana"
    mounts = _mounts(grafana_service)
    assert mounts["./deploy/grafana/provisioning/datasources"] == "/etc/grafana/provisioning/datasources"
    assert mounts["./deploy/grafana/provisioning/dashboards"] == "/etc/grafana/provisioning/dashboards"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "riskmon.yml").read_text())["providers"]
    assert [p["options"]["path"] for p in providers] == [mounts["./deploy/grafana/dashboards"]]
    home = grafana_service["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    assert home == f"{mounts['./deploy/grafana/dashboards']}/riskmon.json"
    assert any(str(port).startswith("127.0.0.1:") for port in grafana_service["ports"])  # loopback only, like the rest


def test_the_datasource_is_the_compose_prometheus() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in compose["services"]
    assert "prometheus" in compose["services"]["grafana"]["depends_on"]
