"""A multi-level threshold detector with hysteresis, minimum duration and count.

Levels are ordered (``info`` < ``warning`` < ``critical``, :class:`~riskmon.schemas.Level`);
any non-empty subset may be configured. For ``direction="above"`` a value
*enters* a level when it is ``>= enter`` and *holds* it while it is ``>= exit``
(``exit <= enter``: hysteresis); ``"below"`` mirrors both comparisons.

* Escalation: the detector moves up to the most severe level whose ``enter``
  value has been crossed by at least ``min_count`` consecutive observations
  spanning at least ``min_duration`` seconds of event time (both must hold;
  the defaults, 1 and 0, escalate at once). It may skip levels (ok -> critical).
* De-escalation: at level ``L`` the detector stays until the value crosses
  ``L``'s ``exit``; it then drops to the most severe lower level the value still
  holds, possibly several at once, or to ok, which is a *resolution*.
* A value oscillating between a level's ``exit`` and ``enter`` therefore
  produces no transitions at all: no flapping.

Each call to :meth:`ThresholdDetector.update` returns a :class:`Transition`
when the level changed, else ``None``. An *episode* runs from leaving ok to the
resolution; transitions carry its start and their rank in it, which
:func:`~riskmon.detectors.candidates.alert_candidate` turns into an alert.

>>> from riskmon.schemas import Level
>>> d = ThresholdDetector({
...     "warning": LevelSpec(enter=0.25, exit=0.10, min_count=3),
...     "critical": LevelSpec(enter=0.50, exit=0.40),
... })
>>> for t, v in enumerate([0.3, 0.31, 0.31, 0.2, 0.6, 0.45, 0.3, 0.08]):
...     tr = d.update(v, at=float(t))
...     if tr:
...         print(t, tr.reason)
2 entered warning: 0.31 >= 0.25 for 3 observations
4 escalated warning -> critical: 0.6 >= 0.5 for 1 observation
6 de-escalated critical -> warning: 0.3 < exit 0.4
7 resolved: 0.08 < exit 0.1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from riskmon.detectors.base import (
    DetectorConfigError,
    finite_value,
    fmt,
    integer,
    non_negative,
    number,
)
from riskmon.schemas.vocab import Level

__all__ = ["Direction", "LevelSpec", "Transition", "ThresholdDetector"]

Direction = Literal["above", "below"]
_DIRECTIONS = ("above", "below")
_LEVEL_KEYS = frozenset({"enter", "exit", "min_duration", "min_count"})


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """One level's thresholds.

    Parameters
    ----------
    enter
        The value at which (``>=`` above, ``<=`` below) the level is entered.
    exit
        The value the detector must cross back (``<`` above, ``>`` below) to
        leave the level; ``None`` means ``enter`` (no hysteresis).
    min_duration
        Seconds of event time the consecutive run beyond ``enter`` must span.
    min_count
        Consecutive observations beyond ``enter`` needed to escalate.
    """

    enter: float
    exit: float | None = None
    min_duration: float = 0.0
    min_count: int = 1

    @property
    def exit_value(self) -> float:
        """``exit``, or ``enter`` when no exit was given."""
        return self.enter if self.exit is None else self.exit


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of level, returned by :meth:`ThresholdDetector.update`.

    ``level`` is ``None`` for a resolution (back to ok) and ``previous`` is
    ``None`` when the episode starts. ``threshold`` is the value crossed: the
    ``enter`` value of the level entered, or the ``exit`` value of the lowest
    level left. ``started_at`` is when the episode started (event time of its
    first transition) and ``seq`` this transition's rank in it (1 = the first).
    """

    previous: Level | None
    level: Level | None
    value: float
    threshold: float
    at: float
    started_at: float
    seq: int
    reason: str

    @property
    def resolved(self) -> bool:
        """True when this transition clears the episode (back to ok)."""
        return self.level is None

    @property
    def escalated(self) -> bool:
        """True when the level rose (including the episode's first transition)."""
        return self.level is not None and (self.previous is None or self.level > self.previous)


def _parse_level(name: Any, field: str) -> Level:
    try:
        return Level.parse(name)
    except ValueError:
        raise DetectorConfigError(field, f"is not a level: expected info, warning or critical, got {name!r}") from None


def _spec(raw: Any, field: str) -> LevelSpec:
    if isinstance(raw, LevelSpec):
        raw = {"enter": raw.enter, "exit": raw.exit, "min_duration": raw.min_duration, "min_count": raw.min_count}
    if not isinstance(raw, Mapping):
        raise DetectorConfigError(field, f"must be a mapping with enter, exit, min_duration, min_count, got {raw!r}")
    extra = sorted(set(raw) - _LEVEL_KEYS)
    if extra:
        raise DetectorConfigError(f"{field}.{extra[0]}", "is not a known setting (check its spelling)")
    if "enter" not in raw:
        raise DetectorConfigError(f"{field}.enter", "is required")
    enter = number(raw["enter"], f"{field}.enter")
    exit_ = raw.get("exit")
    return LevelSpec(
        enter=enter,
        exit=None if exit_ is None else number(exit_, f"{field}.exit"),
        min_duration=non_negative(raw.get("min_duration", 0.0), f"{field}.min_duration"),
        min_count=integer(raw.get("min_count", 1), f"{field}.min_count", minimum=1),
    )


class ThresholdDetector:
    """Multi-level threshold detector with hysteresis (see the module docstring).

    Parameters
    ----------
    levels
        Level name (or :class:`Level`) -> :class:`LevelSpec` or a mapping with
        the same keys (``enter`` required). At least one level.
    direction
        ``"above"`` (alert on high values) or ``"below"`` (alert on low values).

    Raises
    ------
    DetectorConfigError
        Naming the offending field: ``direction``, ``levels``,
        ``levels.<level>.enter|exit|min_duration|min_count``.

    Notes
    -----
    Event time ``at`` (epoch seconds) should not decrease; an earlier ``at``
    is taken as the latest one seen, so durations never run backwards.
    """

    def __init__(self, levels: Mapping[Any, Any], direction: Direction = "above") -> None:
        if direction not in _DIRECTIONS:
            raise DetectorConfigError("direction", f"must be above or below, got {direction!r}")
        if not isinstance(levels, Mapping) or not levels:
            raise DetectorConfigError("levels", "must be a non-empty mapping of level name to thresholds")
        parsed: dict[Level, LevelSpec] = {}
        for name, raw in levels.items():
            level = _parse_level(name, f"levels.{name}")
            parsed[level] = _spec(raw, f"levels.{level}")
        self.direction: Direction = direction
        self.levels: tuple[tuple[Level, LevelSpec], ...] = tuple(sorted(parsed.items()))
        self._validate()
        self._reset()

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> ThresholdDetector:
        """Build from a configuration mapping ``{direction, levels}``; unknown keys are errors."""
        if not isinstance(raw, Mapping):
            raise DetectorConfigError("", f"must be a mapping with direction and levels, got {raw!r}")
        extra = sorted(set(raw) - {"direction", "levels"})
        if extra:
            raise DetectorConfigError(extra[0], "is not a known setting (check its spelling)")
        if "levels" not in raw:
            raise DetectorConfigError("levels", "is required")
        return cls(raw["levels"], direction=raw.get("direction", "above"))

    def _validate(self) -> None:
        above = self.direction == "above"
        word, op = ("above", "<=") if above else ("below", ">=")
        for level, spec in self.levels:
            ok = spec.exit_value <= spec.enter if above else spec.exit_value >= spec.enter
            if not ok:
                raise DetectorConfigError(
                    f"levels.{level}.exit",
                    f"must be {op} enter ({fmt(spec.enter)}) for direction={self.direction}, "
                    f"got {fmt(spec.exit_value)}",
                )
        for (lo, lo_spec), (hi, hi_spec) in zip(self.levels, self.levels[1:], strict=False):
            ok = hi_spec.enter > lo_spec.enter if above else hi_spec.enter < lo_spec.enter
            if not ok:
                raise DetectorConfigError(
                    f"levels.{hi}.enter",
                    f"must be {word} levels.{lo}.enter ({fmt(lo_spec.enter)}) for direction={self.direction}, "
                    f"got {fmt(hi_spec.enter)}",
                )
            ok = hi_spec.exit_value >= lo_spec.exit_value if above else hi_spec.exit_value <= lo_spec.exit_value
            if not ok:
                raise DetectorConfigError(
                    f"levels.{hi}.exit",
                    f"must be at or {word} levels.{lo}.exit ({fmt(lo_spec.exit_value)}) "
                    f"for direction={self.direction}, got {fmt(hi_spec.exit_value)}",
                )

    def _reset(self) -> None:
        self._level: Level | None = None
        self._started_at: float | None = None
        self._seq = 0
        self._runs: dict[Level, tuple[float, int]] = {}  # level -> (run start, observations) beyond enter
        self._value: float | None = None
        self._at: float | None = None

    # -- comparisons -------------------------------------------------------

    def _beyond(self, value: float, enter: float) -> bool:
        return value >= enter if self.direction == "above" else value <= enter

    def _holds(self, value: float, exit_: float) -> bool:
        return value >= exit_ if self.direction == "above" else value <= exit_

    # -- the one update ----------------------------------------------------

    def update(self, value: float, at: float) -> Transition | None:
        """Observe ``value`` at event time ``at``; the :class:`Transition` if the level changed."""
        v = finite_value(value)
        at = finite_value(at, "at")
        if self._at is not None and at < self._at:
            at = self._at
        self._at, self._value = at, v
        for level, spec in self.levels:
            if self._beyond(v, spec.enter):
                start, n = self._runs.get(level, (at, 0))
                self._runs[level] = (start, n + 1)
            else:
                self._runs.pop(level, None)

        previous = self._level
        new = previous
        if previous is not None:
            new = None
            for level, spec in self.levels:
                if level <= previous and self._holds(v, spec.exit_value):
                    new = level
        entered: tuple[Level, LevelSpec] | None = None
        for level, spec in reversed(self.levels):
            if new is not None and level <= new:
                break
            if self._qualifies(level, spec, at):
                entered = (level, spec)
                new = level
                break
        if new == previous:
            return None
        return self._transition(previous, new, v, at, entered)

    def _qualifies(self, level: Level, spec: LevelSpec, at: float) -> bool:
        run = self._runs.get(level)
        return run is not None and run[1] >= spec.min_count and at - run[0] >= spec.min_duration

    def _transition(
        self,
        previous: Level | None,
        new: Level | None,
        v: float,
        at: float,
        entered: tuple[Level, LevelSpec] | None,
    ) -> Transition:
        if previous is None:
            self._started_at, self._seq = at, 0
        self._seq += 1
        started_at = self._started_at
        assert started_at is not None
        if entered is not None:
            level, spec = entered
            start, n = self._runs[level]
            op = ">=" if self.direction == "above" else "<="
            span = f" over {fmt(at - start)}s" if spec.min_duration > 0 else ""
            what = f"entered {level}" if previous is None else f"escalated {previous} -> {level}"
            plural = "observation" if n == 1 else "observations"
            reason = f"{what}: {fmt(v)} {op} {fmt(spec.enter)} for {n} {plural}{span}"
            threshold = spec.enter
        else:
            # the lowest level left is the one just above the new level
            left = next(spec for level, spec in self.levels if new is None or level > new)
            threshold = left.exit_value
            op = "<" if self.direction == "above" else ">"
            what = "resolved" if new is None else f"de-escalated {previous} -> {new}"
            reason = f"{what}: {fmt(v)} {op} exit {fmt(threshold)}"
        self._level = new
        seq = self._seq
        if new is None:
            self._started_at, self._seq = None, 0
        return Transition(previous, new, v, threshold, at, started_at, seq, reason)

    # -- state apart from thresholds -----------------------------------------

    def state(self) -> list[Any]:
        """This subject's state as plain numbers, without the thresholds.

        ``[level, started_at, seq, [level, run start, observations, ...], value, at]``
        with levels as their integers. Why: one detector per customer shares
        its thresholds with every other; see :meth:`with_state`.
        """
        runs: list[Any] = []
        for level, (start, n) in self._runs.items():
            runs += (int(level), start, n)
        level_number = None if self._level is None else int(self._level)
        return [level_number, self._started_at, self._seq, runs, self._value, self._at]

    def with_state(self, state: Sequence[Any]) -> ThresholdDetector:
        """A detector with this one's thresholds holding ``state`` (from :meth:`state`).

        The thresholds are this detector's (the running configuration's). A
        level that is no longer configured is forgotten: a current level that
        vanished ends the episode without a transition, a run towards one is
        dropped. Malformed state raises ``ValueError`` or ``TypeError``.
        """
        level, started_at, seq, runs, value, at = state
        if len(runs) % 3:
            raise ValueError("threshold state: runs must come in (level, start, observations) triples")
        configured = {lvl for lvl, _ in self.levels}
        detector = object.__new__(ThresholdDetector)
        detector.direction, detector.levels = self.direction, self.levels
        detector._reset()
        detector._runs = {
            Level(lvl): (float(start), int(n))
            for lvl, start, n in zip(runs[0::3], runs[1::3], runs[2::3], strict=False)
            if Level(lvl) in configured
        }
        detector._value = None if value is None else float(value)
        detector._at = None if at is None else float(at)
        if level is not None and Level(level) in configured:
            detector._level = Level(level)
            detector._started_at = None if started_at is None else float(started_at)
            detector._seq = int(seq)
        return detector

    # -- read-only state ---------------------------------------------------

    @property
    def level(self) -> Level | None:
        """The current level, ``None`` when ok."""
        return self._level

    @property
    def started_at(self) -> float | None:
        """Event time the current episode started, ``None`` when ok."""
        return self._started_at

    @property
    def value(self) -> float | None:
        """The last value observed."""
        return self._value

    @property
    def pending(self) -> dict[Level, int]:
        """Levels above the current one with a run beyond ``enter`` not yet long enough: level -> observations."""
        return {level: n for level, (_, n) in self._runs.items() if self._level is None or level > self._level}

    def __repr__(self) -> str:
        levels = ", ".join(f"{level}={spec.enter:g}/{spec.exit_value:g}" for level, spec in self.levels)
        return f"ThresholdDetector({self.direction}: {levels}; level={self._level})"
