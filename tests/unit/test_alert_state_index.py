"""The alert manager's state map knows its firing alerts per level, whatever writes it."""

from __future__ import annotations

from riskmon.alerting.model import AlertState
from riskmon.alerting.state_index import IndexedStates
from riskmon.detectors import build_alert


def state(customer: str, level: str, status: str = "firing") -> AlertState:
    alert = build_alert(
        detector="cash_24h",
        subject={"kind": "customer", "id": customer},
        level=level,
        status=status,
        summary="s",
        started_at=1000.0,
        updated_at=1000.0,
        config_version="v1",
    )
    return AlertState(alert=alert, candidate_id="c")


def test_firing_keys_follow_level_changes_resolutions_and_deletions() -> None:
    states = IndexedStates()
    states["a"] = state("1", "warning")
    states["b"] = state("2", "critical")
    states["c"] = state("3", "critical")
    assert states.firing("critical") == ["b", "c"] and states.firing("warning") == ["a"]
    states["a"] = state("1", "critical")  # escalated
    assert states.firing("warning") == [] and states.firing("critical") == ["b", "c", "a"]
    states["b"] = state("2", "critical", status="resolved")
    assert states.firing("critical") == ["c", "a"] and "b" in states and len(states) == 3
    del states["c"]
    assert states.firing() == ["a"] and set(states) == {"a", "b"}


def test_a_bulk_load_is_indexed_like_single_writes() -> None:
    loaded = IndexedStates()
    loaded.update({"x": state("1", "warning"), "y": state("2", "critical", status="resolved")})
    assert loaded.firing() == ["x"] and loaded.get("y") is not None and loaded.get("z") is None
