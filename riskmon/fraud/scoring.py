"""The fraud score on the transaction path: published models in, ``txn_fraud`` alerts and snapshots out.

Pure (no I/O): the live handler and the backtest share it. For each
transaction, :meth:`FraudScoring.observe` builds the feature snapshot
(:func:`riskmon.fraud.fraud_features`), scores it with the published champion
and challenger when there are any (the learner publishes them; nothing is
learned here), grades the champion's score by the per-level budgets
(:class:`riskmon.fraud.BudgetGrader`) into a ``txn_fraud`` alert with the
factors that pushed it up, and returns the snapshot's bytes: kept (in Redis,
expiring) until the transaction's confirmed outcome arrives and joins it.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from riskmon.fraud.features import fraud_features
from riskmon.fraud.grading import BudgetGrader, fraud_alert
from riskmon.fraud.model import FraudModel
from riskmon.schemas import Alert, Transaction

__all__ = ["FraudScoring", "snapshot_bytes"]


def snapshot_bytes(x: Mapping[str, float], scores: Mapping[str, float] | None) -> bytes:
    """A transaction's snapshot: its non-zero features and the scores it was given (None before any model)."""
    return orjson.dumps({"x": {k: v for k, v in x.items() if v}, "s": scores})


class FraudScoring:
    """Scores transactions with the published models; one per worker (see the module docstring)."""

    def __init__(self, budgets: Mapping[str, float] | None = None, *, warmup: int = 1000) -> None:
        self.grader = BudgetGrader(budgets, warmup=warmup)
        self.champion: FraudModel | None = None
        self.challenger: FraudModel | None = None

    def use(self, champion: FraudModel | None, challenger: FraudModel | None) -> None:
        """Score with these models from now on (the learner's latest)."""
        self.champion, self.challenger = champion, challenger

    def observe(
        self, tx: Transaction, at: float, behaviour: Mapping[str, float], *, config_version: str
    ) -> tuple[list[Alert], bytes]:
        """``tx``'s ``txn_fraud`` alert (if its score reaches a level) and its snapshot bytes."""
        x = fraud_features(tx, behaviour)
        if self.champion is None:
            return [], snapshot_bytes(x, None)
        score = self.champion.predict_proba_one(x)
        challenger = self.challenger.predict_proba_one(x) if self.challenger is not None else score
        snapshot = snapshot_bytes(x, {"champion": round(score, 6), "challenger": round(challenger, 6)})
        level = self.grader.grade(score)
        if level is None:
            return [], snapshot
        alert = fraud_alert(
            tx,
            at=at,
            level=level,
            score=score,
            threshold=self.grader.thresholds().get(level),
            factors=self.champion.factors(x),
            model=f"{self.champion.kind}@{self.champion.n_learned}",
            config_version=config_version,
        )
        return [alert], snapshot
