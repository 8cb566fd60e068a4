"""Calibration per grade, watched as labels arrive: expected against observed default rate.

A risk team signs off a model's PDs, not only its ranking: within each grade
(the policy's PD bands A..E) the mean PD the model gave (expected default
rate) must match the share of those loans that went bad (observed). The
test is the Jeffreys test the ECB's validation guidance uses: with ``d``
bads among ``n`` loans, the observed rate's posterior is
``Beta(d + 1/2, n - d + 1/2)``; the two-sided p-value is twice the smaller
tail beyond the expected PD. Traffic lights:

* green: p >= 0.05 (the PDs agree with what happened);
* yellow: 0.01 <= p < 0.05 (watch it);
* red: p < 0.01 (the PDs are wrong for this grade: ``too low`` when more
  loans went bad than predicted, ``too high`` when fewer did);
* none: fewer than :data:`MIN_LABELS` labelled loans in the grade.

Each model also gets its Brier score (mean squared error of the PD). The
learner keeps one :class:`CalibrationWatch` over the scorecard, champion and
challenger and raises a ``calibration`` model alert when a grade's light
turns yellow (warning) or red (critical), resolved when it is green again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scipy.special import betainc

__all__ = [
    "CalibrationTracker",
    "CalibrationWatch",
    "GradeCheck",
    "LIGHT_LEVELS",
    "MIN_LABELS",
    "jeffreys_p_value",
    "light_for",
]

GRADES = ("A", "B", "C", "D", "E")
#: Labelled loans a grade needs before its light means anything.
MIN_LABELS = 30
#: Alert level of each light (green resolves, none says nothing).
LIGHT_LEVELS = {"yellow": "warning", "red": "critical"}


def jeffreys_p_value(n: int, bads: int, expected: float) -> tuple[float, str]:
    """Two-sided Jeffreys p-value of ``bads`` in ``n`` against PD ``expected``, and the PDs' direction.

    >>> p, d = jeffreys_p_value(200, 30, 0.05); p < 0.001, d
    (True, 'too low')
    >>> p, d = jeffreys_p_value(200, 10, 0.05); p > 0.5, d
    (True, 'about right')
    """
    cdf = float(betainc(bads + 0.5, n - bads + 0.5, min(max(expected, 0.0), 1.0)))  # P(true rate <= expected)
    p = min(1.0, 2.0 * min(cdf, 1.0 - cdf))
    if p >= 0.05:
        return p, "about right"
    return p, "too low" if cdf < 0.5 else "too high"


def light_for(p_value: float | None) -> str:
    """green, yellow, red (or none without a p-value).

    >>> [light_for(p) for p in (0.5, 0.03, 0.001, None)]
    ['green', 'yellow', 'red', 'none']
    """
    if p_value is None:
        return "none"
    return "green" if p_value >= 0.05 else "yellow" if p_value >= 0.01 else "red"


@dataclass(frozen=True, slots=True)
class GradeCheck:
    """One grade's calibration: labelled loans, expected (mean PD) and observed default rate, the test."""

    grade: str
    n: int
    bads: int
    expected: float | None
    observed: float | None
    p_value: float | None
    light: str
    direction: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _grade(pd: float, bounds: tuple[float, ...]) -> int:
    for index, bound in enumerate(bounds):
        if pd < bound:
            return index
    return len(bounds)


@dataclass
class CalibrationTracker:
    """Running counts per grade and the Brier score of one model's PDs."""

    bounds: tuple[float, ...] = (0.03, 0.06, 0.12, 0.25)
    n: list[int] = field(default_factory=lambda: [0] * 5)
    bads: list[int] = field(default_factory=lambda: [0] * 5)
    pd_sum: list[float] = field(default_factory=lambda: [0.0] * 5)
    squared_error: float = 0.0

    def update(self, pd: float, bad: bool) -> None:
        g = _grade(pd, self.bounds)
        self.n[g] += 1
        self.bads[g] += bad
        self.pd_sum[g] += pd
        self.squared_error += (pd - float(bad)) ** 2

    def checks(self) -> list[GradeCheck]:
        out = []
        for g, name in enumerate(GRADES):
            n, bads = self.n[g], self.bads[g]
            if not n:
                out.append(GradeCheck(name, 0, 0, None, None, None, "none", ""))
                continue
            expected, observed = self.pd_sum[g] / n, bads / n
            if n < MIN_LABELS:
                out.append(GradeCheck(name, n, bads, expected, observed, None, "none", "too few labels"))
                continue
            p, direction = jeffreys_p_value(n, bads, expected)
            out.append(GradeCheck(name, n, bads, expected, observed, p, light_for(p), direction))
        return out

    def summary(self) -> dict[str, Any]:
        """Brier score, each grade's check, and the worst light."""
        total = sum(self.n)
        checks = self.checks()
        order = ("none", "green", "yellow", "red")
        worst = max((c.light for c in checks), key=order.index, default="none")
        return {
            "brier": self.squared_error / total if total else None,
            "worst_light": worst,
            "grades": [c.as_dict() for c in checks],
        }


@dataclass
class CalibrationWatch:
    """A tracker per model role and the last light of each grade, to report changes once."""

    bounds: tuple[float, ...] = (0.03, 0.06, 0.12, 0.25)
    trackers: dict[str, CalibrationTracker] = field(default_factory=dict)
    lights: dict[tuple[str, str], str] = field(default_factory=dict)

    def update(self, role: str, pd: float, bad: bool) -> None:
        tracker = self.trackers.get(role)
        if tracker is None:
            tracker = self.trackers[role] = CalibrationTracker(self.bounds)
        tracker.update(pd, bad)

    def reset(self, role: str) -> None:
        """Start a role afresh (a new model took it)."""
        self.trackers.pop(role, None)

    def changes(self) -> list[tuple[str, GradeCheck, str]]:
        """``(role, check, previous light)`` for every grade whose light changed since the last call."""
        out = []
        for role, tracker in self.trackers.items():
            for check in tracker.checks():
                key = (role, check.grade)
                before = self.lights.get(key, "none")
                if check.light != before and check.light != "none":
                    self.lights[key] = check.light
                    out.append((role, check, before))
        return out

    def summary(self) -> dict[str, Any]:
        return {role: tracker.summary() for role, tracker in self.trackers.items()}
