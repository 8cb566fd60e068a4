"""Grading: a detector's level, weighed by what the subject stands for.

The same velocity burst matters more on a customer who owes 400,000 than
on one who owes 400. A firing customer alert goes one level up (info ->
warning -> critical) when the customer's outstanding exposure reaches
``grading.exposure_at_least`` or its share of the whole book reaches
``grading.share_at_least``. Portfolio, model and pipeline subjects already
stand for the whole book and keep their detector's level. The alert keeps
``labels.graded_from`` so the escalation is visible and explainable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from riskmon.alerting.config import GradingSpec
from riskmon.alerting.model import Item
from riskmon.detectors.base import epoch
from riskmon.detectors.candidates import alert_id
from riskmon.schemas.vocab import LEVELS

__all__ = ["GradeStage", "graded_level"]


def graded_level(
    level: str, exposure: float | None, portfolio_exposure: float | None, spec: GradingSpec
) -> tuple[str, str]:
    """The alert's level and why, from the detector's level and the subject's weight.

    >>> spec = GradingSpec(exposure_at_least=250_000, share_at_least=0.05)
    >>> graded_level("warning", 300_000, None, spec)
    ('critical', 'exposure 300000 >= 250000')
    >>> graded_level("warning", 20_000, 200_000, spec)
    ('critical', 'exposure share 0.100 >= 0.05')
    >>> graded_level("info", 1_000, 10_000_000, spec)
    ('info', '')
    """
    if exposure is None:
        return level, ""
    why = ""
    if spec.exposure_at_least is not None and exposure >= spec.exposure_at_least:
        why = f"exposure {exposure:.0f} >= {spec.exposure_at_least:.0f}"
    elif (
        spec.share_at_least is not None and portfolio_exposure and exposure / portfolio_exposure >= spec.share_at_least
    ):
        why = f"exposure share {exposure / portfolio_exposure:.3f} >= {spec.share_at_least}"
    if not why:
        return level, ""
    index = min(LEVELS.index(level) + 1, len(LEVELS) - 1)
    return LEVELS[index], why


class GradeStage:
    """Raise firing customer alerts by the customer's weight (see module doc)."""

    def exec(self, ctx: Any, items: list[Item]) -> list[Item]:
        for item in items:
            a = item.alert
            if a.status != "firing" or a.subject.kind != "customer":
                continue
            level, why = graded_level(
                a.level, ctx.exposures.get(a.subject.id), ctx.portfolio_exposure, ctx.config.grading
            )
            if level == a.level:
                continue
            labels = {**a.labels, "graded_from": a.level}
            item.alert = replace(
                a, level=level, labels=labels, alert_id=alert_id(a.dedup_key, epoch(a.started_at), level, a.status)
            )
            item.note = f"graded {a.level} -> {level}: {why}"
        return items
