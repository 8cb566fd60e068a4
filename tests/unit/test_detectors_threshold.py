"""The multi-level threshold detector: hysteresis, minimum duration and count, levels, validation."""

from __future__ import annotations

import math
import random

import pytest

from riskmon.detectors import DetectorConfigError, LevelSpec, ThresholdDetector
from riskmon.schemas import Level

OK = None
I, W, C = Level.INFO, Level.WARNING, Level.CRITICAL  # noqa: E741 - the levels' initials, as in the tables below

# warning enters at 0.25, leaves below 0.10; critical enters at 0.50, leaves below 0.40
TWO = {"warning": {"enter": 0.25, "exit": 0.10}, "critical": {"enter": 0.50, "exit": 0.40}}


def run(levels, values, *, direction="above", times=None):
    """Feed ``values`` (at t = 0, 1, 2... unless ``times``); the (index, previous, new) of each transition."""
    det = ThresholdDetector(levels, direction=direction)
    times = times if times is not None else [float(i) for i in range(len(values))]
    out = []
    for i, (v, t) in enumerate(zip(values, times, strict=True)):
        tr = det.update(v, at=t)
        if tr is not None:
            out.append((i, tr.previous, tr.level))
    return out


CASES = [
    # (levels, direction, values, times or None, expected transitions)
    (TWO, "above", [0.1, 0.3, 0.05], None, [(1, OK, W), (2, W, OK)]),  # enter then resolve at once
    (TWO, "above", [0.3, 0.2, 0.24, 0.11, 0.2, 0.24, 0.12], None, [(0, OK, W)]),  # between exit and enter: no flapping
    (TWO, "above", [0.3, 0.6, 0.45, 0.41, 0.49, 0.42], None, [(0, OK, W), (1, W, C)]),  # critical held above its exit
    (TWO, "above", [0.6], None, [(0, OK, C)]),  # levels can be skipped
    (TWO, "above", [0.6, 0.3, 0.6, 0.05], None, [(0, OK, C), (1, C, W), (2, W, C), (3, C, OK)]),  # down and up
    (TWO, "above", [0.6, 0.05], None, [(0, OK, C), (1, C, OK)]),  # de-escalate two levels at once: resolved
    (TWO, "above", [0.6, 0.39], None, [(0, OK, C), (1, C, W)]),  # just below critical's exit: warning holds
    (TWO, "above", [0.25, 0.1, 0.0999], None, [(0, OK, W), (2, W, OK)]),  # enter is >=, exit is < (boundaries)
    # minimum count: three consecutive observations beyond enter
    ({"warning": {"enter": 5, "exit": 3, "min_count": 3}}, "above", [6, 6, 6], None, [(2, OK, W)]),
    (
        {"warning": {"enter": 5, "exit": 3, "min_count": 3}},
        "above",
        [6, 6, 4, 6, 6, 6],
        None,
        [(5, OK, W)],
    ),  # run reset
    (
        {"warning": {"enter": 5, "exit": 3, "min_count": 3}},
        "above",
        [6, 4.9] * 10,
        None,
        [],
    ),  # oscillation never enters
    # minimum duration: 60 s of event time beyond enter
    ({"warning": {"enter": 5, "min_duration": 60}}, "above", [6, 6, 6, 6], [0, 30, 59, 60], [(3, OK, W)]),
    ({"warning": {"enter": 5, "min_duration": 60}}, "above", [6, 4, 6, 6], [0, 30, 40, 99], []),  # run restarted at 40
    # both: 2 observations and 10 s
    ({"warning": {"enter": 5, "min_duration": 10, "min_count": 2}}, "above", [6, 6, 6], [0, 5, 10], [(2, OK, W)]),
    ({"warning": {"enter": 5, "min_duration": 10, "min_count": 3}}, "above", [6, 6], [0, 50], []),  # long but too few
    # critical needs 2 observations, warning 1: warning first, critical after
    (
        {"warning": {"enter": 0.25, "exit": 0.1}, "critical": {"enter": 0.5, "exit": 0.4, "min_count": 2}},
        "above",
        [0.6, 0.6, 0.2],
        None,
        [(0, OK, W), (1, W, C), (2, C, W)],
    ),
    # three levels, escalation step by step and one drop to ok
    (
        {
            "info": {"enter": 1, "exit": 0.5},
            "warning": {"enter": 2, "exit": 1.5},
            "critical": {"enter": 3, "exit": 2.5},
        },
        "above",
        [1, 2, 3, 2.6, 2.4, 1.6, 1.4, 0.6, 0.4],
        None,
        [(0, OK, I), (1, I, W), (2, W, C), (4, C, W), (6, W, I), (8, I, OK)],
    ),
    # direction below: an approval rate that falls
    (
        {"warning": {"enter": 0.5, "exit": 0.6}, "critical": {"enter": 0.3, "exit": 0.35}},
        "below",
        [0.7, 0.5, 0.55, 0.29, 0.34, 0.36, 0.59, 0.61],
        None,
        [(1, OK, W), (3, W, C), (5, C, W), (7, W, OK)],
    ),
]


@pytest.mark.parametrize("levels,direction,values,times,expected", CASES)
def test_transitions(levels, direction, values, times, expected) -> None:
    assert run(levels, values, direction=direction, times=times) == expected


def test_random_oscillation_between_exit_and_enter_never_flaps() -> None:
    det = ThresholdDetector(TWO)
    assert det.update(0.3, at=0.0).level == W
    rng = random.Random(11)
    for i in range(1, 10_001):
        # anywhere at or above warning's exit (0.10) and below critical's enter (0.50): warning holds
        assert det.update(rng.uniform(0.10, 0.4999), at=float(i)) is None
    assert det.level == W


def test_reasons_and_thresholds() -> None:
    det = ThresholdDetector(
        {"warning": LevelSpec(enter=0.25, exit=0.10, min_count=3), "critical": LevelSpec(enter=0.5, exit=0.4)}
    )
    changes = [det.update(v, at=float(t)) for t, v in enumerate([0.3, 0.31, 0.31, 0.6, 0.3, 0.08])]
    got = [(c.reason, c.threshold, c.seq) for c in changes if c]
    assert got == [
        ("entered warning: 0.31 >= 0.25 for 3 observations", 0.25, 1),
        ("escalated warning -> critical: 0.6 >= 0.5 for 1 observation", 0.5, 2),
        ("de-escalated critical -> warning: 0.3 < exit 0.4", 0.4, 3),
        ("resolved: 0.08 < exit 0.1", 0.1, 4),
    ]


def test_episode_start_and_sequence_restart_after_resolution() -> None:
    det = ThresholdDetector({"warning": {"enter": 5, "exit": 3}})
    first = det.update(6, at=100.0)
    assert det.started_at == 100.0
    resolved = det.update(1, at=150.0)
    assert (resolved.started_at, resolved.at, resolved.seq, resolved.resolved) == (100.0, 150.0, 2, True)
    assert det.started_at is None and det.level is None
    again = det.update(7, at=200.0)
    assert (first.started_at, again.started_at, again.seq, again.escalated) == (100.0, 200.0, 1, True)


def test_duration_reason_and_pending() -> None:
    det = ThresholdDetector({"warning": {"enter": 5, "min_duration": 60}})
    det.update(6, at=0.0)
    assert det.pending == {W: 1}
    tr = det.update(7, at=90.0)
    assert tr.reason == "entered warning: 7 >= 5 for 2 observations over 90s"
    assert det.pending == {}


def test_event_time_going_back_does_not_shorten_or_lengthen_durations() -> None:
    det = ThresholdDetector({"warning": {"enter": 5, "min_duration": 60}})
    det.update(6, at=100.0)
    assert det.update(6, at=10.0) is None  # taken as 100: still 0 s beyond enter
    assert det.update(6, at=160.0).level == W


def test_no_hysteresis_when_exit_is_omitted() -> None:
    assert run({"warning": {"enter": 5}}, [5, 4.99, 5]) == [(0, OK, W), (1, W, OK), (2, OK, W)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.3", None, True])
def test_observations_must_be_finite_numbers(bad) -> None:
    with pytest.raises(ValueError):
        ThresholdDetector(TWO).update(bad, at=0.0)


CONFIG_CASES = [
    # (levels, direction, field named, message fragment)
    (
        {"warning": {"enter": 0.25}, "critical": {"enter": 0.2}},
        "above",
        "levels.critical.enter",
        "must be above levels.warning.enter (0.25) for direction=above",
    ),  # out of order
    (
        {"warning": {"enter": 0.25}, "critical": {"enter": 0.25}},
        "above",
        "levels.critical.enter",
        "must be above",
    ),  # equal enters are out of order too
    (
        {"warning": {"enter": 0.5}, "critical": {"enter": 0.6}},
        "below",
        "levels.critical.enter",
        "must be below levels.warning.enter (0.5) for direction=below",
    ),  # below reverses the order
    (
        {"warning": {"enter": 0.25, "exit": 0.3}},
        "above",
        "levels.warning.exit",
        "must be <= enter (0.25) for direction=above",
    ),  # exit on the wrong side
    ({"warning": {"enter": 0.5, "exit": 0.4}}, "below", "levels.warning.exit", "must be >= enter"),  # mirrored
    (
        {"warning": {"enter": 0.25, "exit": 0.2}, "critical": {"enter": 0.5, "exit": 0.1}},
        "above",
        "levels.critical.exit",
        "must be at or above levels.warning.exit (0.2)",
    ),  # exits out of order
    ({"warning": {"enter": 1, "min_duration": -5}}, "above", "levels.warning.min_duration", "must be >= 0"),
    ({"warning": {"enter": 1, "min_count": 0}}, "above", "levels.warning.min_count", "must be >= 1"),
    ({"warning": {"enter": 1, "min_count": 2.5}}, "above", "levels.warning.min_count", "must be an integer"),
    ({"warning": {"enter": "high"}}, "above", "levels.warning.enter", "must be a number"),
    ({"warning": {"exit": 1}}, "above", "levels.warning.enter", "is required"),
    ({"warning": {"enter": 1, "exitt": 0.5}}, "above", "levels.warning.exitt", "not a known setting"),  # misspelt
    ({"severe": {"enter": 1}}, "above", "levels.severe", "is not a level"),
    ({}, "above", "levels", "non-empty"),
    ({"warning": {"enter": 1}}, "up", "direction", "must be above or below"),
]


@pytest.mark.parametrize("levels,direction,field,fragment", CONFIG_CASES)
def test_config_errors_name_the_field(levels, direction, field, fragment) -> None:
    with pytest.raises(DetectorConfigError) as info:
        ThresholdDetector(levels, direction=direction)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_from_config_and_prefixing() -> None:
    det = ThresholdDetector.from_config({"direction": "below", "levels": {"critical": {"enter": 0.3, "exit": 0.35}}})
    assert det.direction == "below" and [lvl for lvl, _ in det.levels] == [C]
    with pytest.raises(DetectorConfigError) as info:
        ThresholdDetector.from_config({"levls": {}})
    assert info.value.field == "levls"
    with pytest.raises(DetectorConfigError) as info:
        ThresholdDetector.from_config({"levels": {"warning": {"enter": 1, "exit": 2}}})
    err = info.value.prefixed("detectors.customer.velocity")
    assert err.field == "detectors.customer.velocity.levels.warning.exit"
