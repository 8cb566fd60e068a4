"""Fraud scores graded into levels by per-level budgets, and the ``txn_fraud`` alert.

A level's **budget** is the share of transactions it may flag (``critical:
0.001`` = at most about 0.1%): the grader tracks each level's score quantile
``1 - budget`` over the last ``window`` scores (River ``stats.RollingQuantile``,
exact), so the feed's volume per level is known in advance whatever the
model's calibration, and follows the model as it learns (a running P²
estimate stayed stuck at an untrained model's constant 0.5 and then flagged
nothing). Nothing is graded during ``warmup``.

>>> g = BudgetGrader({"info": 0.1, "warning": 0.01}, warmup=100)
>>> for i in range(1000):
...     _ = g.grade((i * 7919 % 1000) / 1000)
>>> str(g.grade(0.995)), str(g.grade(0.95)), g.grade(0.5)
('warning', 'info', None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from riskmon.detectors import build_alert
from riskmon.detectors.config import DEFAULT_FRAUD_BUDGETS
from riskmon.schemas import Alert, Transaction
from riskmon.schemas.vocab import Level

__all__ = ["BudgetGrader", "fraud_alert", "DEFAULT_BUDGETS", "DETECTOR"]

DETECTOR = "txn_fraud"
#: The budgets when none are given (the configuration's ``detectors.transactions.fraud`` sets them).
DEFAULT_BUDGETS = DEFAULT_FRAUD_BUDGETS


class BudgetGrader:
    """Scores to levels, each level flagging at most its budget's share of scores (see the module docstring)."""

    def __init__(self, budgets: Mapping[str, float] | None = None, *, warmup: int = 1000, window: int = 10_000) -> None:
        from river import stats

        raw = DEFAULT_BUDGETS if budgets is None else budgets
        levels = sorted((Level.parse(name), float(b)) for name, b in raw.items())
        for level, b in levels:
            if not 0.0 < b < 1.0:
                raise ValueError(f"budgets.{level}: must be a share strictly between 0 and 1, got {b}")
        for (lo, b_lo), (hi, b_hi) in zip(levels, levels[1:], strict=False):
            if not b_hi < b_lo:
                raise ValueError(f"budgets.{hi}: must be below budgets.{lo} ({b_lo}), got {b_hi}")
        self.levels: Sequence[tuple[Level, float]] = levels
        self.warmup = warmup
        self._quantiles = [stats.RollingQuantile(1.0 - b, window) for _, b in levels]
        self.n = 0

    def thresholds(self) -> dict[Level, float]:
        """The current score cut-off of each level (``inf`` before any score)."""
        return {
            level: math.inf if (v := q.get()) is None else float(v)
            for (level, _), q in zip(self.levels, self._quantiles, strict=True)
        }

    def grade(self, score: float) -> Level | None:
        """``score``'s level (None: below every level, or warming up), then the score joins the quantiles."""
        level = None
        if self.n >= self.warmup:
            for (lvl, _), q in zip(reversed(self.levels), reversed(self._quantiles), strict=True):
                cut = q.get()
                if cut is not None and score > cut:
                    level = lvl
                    break
        for q in self._quantiles:
            q.update(score)
        self.n += 1
        return level


def fraud_alert(
    tx: Transaction,
    *,
    at: float,
    level: Level,
    score: float,
    threshold: float | None,
    factors: Sequence[str],
    model: str,
    config_version: str,
) -> Alert:
    """The ``txn_fraud`` alert of a transaction the fraud model graded ``level``.

    ``factors`` are the scored factors that pushed the score up (feature
    names, never values); the alert names the transaction, never personal data.
    """
    why = ", ".join(factors) if factors else "no single factor"
    return build_alert(
        detector=DETECTOR,
        subject={"kind": "customer", "id": tx.customer_id},
        level=level,
        status="firing",
        summary=f"likely fraud: transaction {tx.transaction_id} scored {score:.3f} by {model} ({why})",
        started_at=at,
        updated_at=at,
        config_version=config_version,
        value=round(score, 6),
        threshold=None if threshold is None or math.isinf(threshold) else round(threshold, 6),
        labels={"transaction_id": tx.transaction_id, "model": model, "factors": ",".join(factors)},
    )
