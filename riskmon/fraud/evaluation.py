"""Champion and challenger fraud models, judged prequentially on delayed labels.

As for the credit models (:mod:`riskmon.models.evaluation`): each model is
judged on the score it *gave* when the transaction arrived, compared with the
label that arrives days later, never on a score recomputed after learning.
The challenger replaces the champion only when, over at least ``min_labels``
labels with ``min_frauds`` frauds among them, its ROC AUC is higher by
``min_gain``; :meth:`FraudChampionChallenger.promotion` says why or why not.
"""

from __future__ import annotations

from collections.abc import Mapping

from riskmon.fraud.model import FraudModel, Kind
from riskmon.models.evaluation import PrequentialEvaluator

__all__ = ["FraudChampionChallenger"]


class FraudChampionChallenger:
    """A champion and a challenger fraud model, each with its prequential evaluator.

    >>> cc = FraudChampionChallenger(champion="logreg", challenger="logreg")
    >>> s = cc.score({"new_country": 1.0})
    >>> cc.learn({"new_country": 1.0}, True, scores=s)
    >>> cc.champion.n_learned, cc.evaluators["champion"].n
    (1, 1)
    """

    def __init__(
        self,
        *,
        champion: Kind = "logreg",
        challenger: Kind = "logreg",
        champion_learning_rate: float = 0.01,
        challenger_learning_rate: float = 0.03,
        min_labels: int = 2000,
        min_frauds: int = 50,
        min_gain: float = 0.01,
        check_every: int = 500,
    ) -> None:
        self.champion = FraudModel(champion, learning_rate=champion_learning_rate)
        self.challenger = FraudModel(challenger, learning_rate=challenger_learning_rate)
        self.evaluators = _evaluators()
        #: The champion's scores given at arrival (what alerts were graded on), judged against their labels.
        self.at_arrival = PrequentialEvaluator(n_bins=10_000)
        self.min_labels, self.min_frauds, self.min_gain = min_labels, min_frauds, min_gain
        self.promotions = 0
        self.check_every = check_every
        self._since_check = 0

    def models(self) -> dict[str, FraudModel]:
        """The two models by role."""
        return {"champion": self.champion, "challenger": self.challenger}

    def score(self, x: Mapping[str, float]) -> dict[str, float]:
        """Both models' scores of ``x``: kept with its snapshot, judged when the label comes."""
        return {"champion": self.champion.predict_proba_one(x), "challenger": self.challenger.predict_proba_one(x)}

    def learn_label(self, x: Mapping[str, float], fraud: bool, *, given: object) -> None:
        """Judge one label, then both models learn it; ``given`` is what its snapshot kept (its ``s``).

        Both models are scored here, on the snapshot's features, *before*
        they learn this label (prequential: neither has seen it), and the
        promotion compares those two AUCs: the same evidence for both, as the
        learner judges a credit GBM challenger (:mod:`riskmon.learning.learner`),
        and nothing of the challenger on the transaction path. Why not the
        champion's score given at arrival against the challenger's now: by the
        time a label comes (days later) the learner's models have learned the
        labels of the days between, so the challenger would be judged with
        more knowledge than the champion had, and win every check (measured on
        IEEE-CIS: 20 promotions back and forth instead of 2).

        The champion's score at arrival (a number; ``None`` before any model
        was published; a dict of both roles in snapshots written before this
        change) is what the alerts were graded on: judged on its own, ``at_arrival``
        (:attr:`at_arrival`), the live feed's AUC.

        >>> cc = FraudChampionChallenger()
        >>> cc.learn_label({"new_country": 1.0}, True, given=0.5)
        >>> cc.evaluators["challenger"].n, cc.at_arrival.n, cc.challenger.n_learned
        (1, 1, 1)
        """
        arrival = given.get("champion") if isinstance(given, Mapping) else given
        if arrival is not None:
            self.at_arrival.update(float(arrival), fraud)  # type: ignore[arg-type]
        self.learn(x, fraud, scores=self.score(x))

    def learn(self, x: Mapping[str, float], fraud: bool, *, scores: Mapping[str, float]) -> None:
        """Judge the scores given at arrival against the label, then both models learn it."""
        for role, evaluator in self.evaluators.items():
            evaluator.update(scores[role], fraud)
        self.champion.learn_one(x, fraud)
        self.challenger.learn_one(x, fraud)

    def promotion(self) -> tuple[bool, str]:
        """Whether the challenger should be promoted now, and why (or why not)."""
        champ, chall = self.evaluators["champion"], self.evaluators["challenger"]
        frauds = chall.n - chall.n_good
        if chall.n < self.min_labels or frauds < self.min_frauds:
            return False, f"too few labels: {chall.n} ({frauds} frauds), need {self.min_labels} ({self.min_frauds})"
        if chall.roc_auc is None or champ.roc_auc is None:
            return False, "no AUC yet: both outcomes are needed"
        gain = chall.roc_auc - champ.roc_auc
        if gain < self.min_gain:
            return False, f"challenger AUC {chall.roc_auc:.4f} not {self.min_gain} above champion's {champ.roc_auc:.4f}"
        return True, f"challenger AUC {chall.roc_auc:.4f} beats champion's {champ.roc_auc:.4f} by {gain:.4f}"

    def promote_if_better(self) -> str | None:
        """Every ``check_every`` labels, swap the roles when :meth:`promotion` says so (evaluators
        restart); the reason, or None. (Reading an AUC sweeps the score histogram: not per label.)"""
        self._since_check += 1
        if self._since_check < self.check_every:
            return None
        self._since_check = 0
        ok, why = self.promotion()
        if not ok:
            return None
        self.champion, self.challenger = self.challenger, self.champion
        self.evaluators = _evaluators()
        self.at_arrival = PrequentialEvaluator(n_bins=10_000)
        self.promotions += 1
        return why


def _evaluators() -> dict[str, PrequentialEvaluator]:
    return {"champion": PrequentialEvaluator(n_bins=10_000), "challenger": PrequentialEvaluator(n_bins=10_000)}
