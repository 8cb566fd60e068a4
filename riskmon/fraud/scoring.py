"""The fraud score on the transaction path: published models in, ``txn_fraud`` alerts and snapshots out.

Pure (no I/O): the live handler and the backtest share it. For each
transaction, :meth:`FraudScoring.observe` builds the feature snapshot
(:func:`riskmon.fraud.fraud_features`), scores it with the published champion
when there is one (the learner publishes it; nothing is learned here, and the
challenger is scored by the learner when the label comes), grades the
champion's score by the per-level budgets cut on the current model
(:class:`FraudScoring`) into a ``txn_fraud`` alert with the
factors that pushed it up, and returns the snapshot's bytes: kept (in Redis,
expiring) until the transaction's confirmed outcome arrives and joins it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import orjson

from riskmon.fraud.features import fraud_features
from riskmon.fraud.grading import DEFAULT_BUDGETS, fraud_alert
from riskmon.fraud.model import FraudModel
from riskmon.schemas import Alert, Level, Transaction

__all__ = ["FraudScoring", "snapshot_bytes"]


def snapshot_bytes(x: Mapping[str, float], score: float | None) -> bytes:
    """A transaction's snapshot: its non-zero features and the champion's score it was given (None before
    any model). The challenger is not scored here: the learner scores it when the label comes
    (:meth:`riskmon.fraud.FraudChampionChallenger.learn_label`)."""
    return orjson.dumps({"x": {k: v for k, v in x.items() if v}, "s": score})


class FraudScoring:
    """Scores transactions with the published models; one per worker (see the module docstring).

    Budgets are cut on the *current* model: each time models are put in use
    (:meth:`use`, at every read of the published models), the champion scores
    the last ``reference`` transactions' snapshots and each level's cut-off is
    the score that ``budget`` of them exceed. Why not a running quantile of
    past scores: as labels flow a model's scores keep falling (it learns the
    base rate), so past scores sat above every new one and nothing reached a
    level (measured on the demo's labelled stream: 0 alerts in 8,000).
    """

    def __init__(
        self, budgets: Mapping[str, float] | None = None, *, reference: int = 2000, min_reference: int = 500
    ) -> None:
        raw = DEFAULT_BUDGETS if budgets is None else budgets
        self.levels = sorted((Level.parse(name), float(b)) for name, b in raw.items())
        self.min_reference = min_reference
        self._recent: deque[dict[str, float]] = deque(maxlen=reference)
        self.cuts: dict[Level, float] = {}
        self.champion: FraudModel | None = None
        self.challenger: FraudModel | None = None

    def use(self, champion: FraudModel | None, challenger: FraudModel | None) -> None:
        """Score with these models from now on (the learner's latest), and cut the budgets on them."""
        self.champion, self.challenger = champion, challenger
        self.cuts = {}
        if champion is None or len(self._recent) < self.min_reference:
            return
        scores = sorted(champion.predict_proba_one(x) for x in self._recent)
        for level, budget in self.levels:
            self.cuts[level] = scores[min(len(scores) - 1, int((1.0 - budget) * len(scores)))]

    def grade(self, score: float) -> Level | None:
        """The highest level whose cut-off ``score`` reaches (None before budgets are cut).

        ``>=``: scores tied at a cut-off all reach it (a model that has learned
        one pattern gives its cases one score; missing them all would be worse
        than exceeding the budget with them).
        """
        reached = None
        for level, _ in self.levels:
            cut = self.cuts.get(level)
            if cut is not None and score >= cut:
                reached = level
        return reached

    def observe(
        self, tx: Transaction, at: float, behaviour: Mapping[str, float], *, config_version: str
    ) -> tuple[list[Alert], bytes]:
        """``tx``'s ``txn_fraud`` alert (if its score reaches a level) and its snapshot bytes."""
        x = fraud_features(tx, behaviour)
        self._recent.append(x)
        if self.champion is None:
            return [], snapshot_bytes(x, None)
        score = self.champion.predict_proba_one(x)
        snapshot = snapshot_bytes(x, round(score, 6))
        level = self.grade(score)
        if level is None:
            return [], snapshot
        alert = fraud_alert(
            tx,
            at=at,
            level=level,
            score=score,
            threshold=self.cuts.get(level),
            factors=self.champion.factors(x),
            model=f"{self.champion.kind}@{self.champion.n_learned}",
            config_version=config_version,
        )
        return [alert], snapshot
