"""Prequential evaluation and champion/challenger promotion.

Why prequential: a streaming model is judged on the score it *gave* when the
application was decided, compared with the label that arrives months later,
never on a score recomputed after it has learned that label. Each evaluator
therefore takes ``(score at decision time, label)`` pairs, one at a time, in
O(1), and reads out:

* ROC AUC and the Kolmogorov-Smirnov statistic (KS), the two ranking measures
  credit risk uses, from two histograms of scores (bads and goods) on fixed
  bins of [0, 1]. Scores that share a bin count as ties, so AUC is exact up
  to the bin width (default 1e-5: well below any PD difference that matters;
  the benchmark compares it with scikit-learn's exact AUC). Histograms are
  sparse, so memory grows with the distinct bins used, not with the labels.
* log loss, which also judges calibration (a PD feeds cut-offs and grades);
  probabilities are clipped to ``[1e-15, 1 - 1e-15]``.

:class:`ChampionChallenger` scores every application with both models, keeps
one evaluator per model, and promotes the challenger only on a rule that
answers with its reason, never a bare bool.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from riskmon.models import snapshots
from riskmon.models.base import CreditModel

__all__ = ["PrequentialEvaluator", "PromotionRule", "ChampionChallenger", "LOG_LOSS_EPS"]

#: Probabilities are clipped to [eps, 1 - eps] for the log loss.
LOG_LOSS_EPS = 1e-15


class PrequentialEvaluator:
    """Running ROC AUC, KS and log loss of (score, label) pairs.

    Parameters
    ----------
    n_bins
        Number of equal bins of [0, 1] that scores fall into (AUC and KS
        resolution: ``1 / n_bins``).

    Examples
    --------
    >>> ev = PrequentialEvaluator()
    >>> for score, bad in [(0.1, False), (0.2, False), (0.3, True), (0.15, False), (0.05, True)]:
    ...     ev.update(score, bad)
    >>> ev.n, ev.bad_rate, round(ev.roc_auc, 4), round(ev.ks, 4), round(ev.log_loss, 4)
    (5, 0.4, 0.5, 0.5, 0.9381)
    """

    def __init__(self, *, n_bins: int = 100_000) -> None:
        if n_bins < 2:
            raise ValueError(f"n_bins: must be >= 2, got {n_bins}")
        self.n_bins = n_bins
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.n_bad = 0
        self._bad: dict[int, int] = {}  # bin -> count, sparse
        self._good: dict[int, int] = {}
        self._loss_sum = 0.0
        self._score_sum = 0.0

    def update(self, score: float, bad: bool) -> None:
        """Add the score given at decision time and the final label (True = bad)."""
        if not 0.0 <= score <= 1.0:  # also refuses NaN
            raise ValueError(f"score: must be a probability in [0, 1], got {score!r}")
        index = min(int(score * self.n_bins), self.n_bins - 1)
        histogram = self._bad if bad else self._good
        histogram[index] = histogram.get(index, 0) + 1
        p = min(max(score, LOG_LOSS_EPS), 1.0 - LOG_LOSS_EPS)
        self._loss_sum -= math.log(p) if bad else math.log1p(-p)
        self._score_sum += score
        self.n += 1
        self.n_bad += bool(bad)

    @property
    def n_good(self) -> int:
        return self.n - self.n_bad

    @property
    def bad_rate(self) -> float | None:
        """Share of bad labels (None before any)."""
        return self.n_bad / self.n if self.n else None

    @property
    def mean_score(self) -> float | None:
        """Mean PD given: beside :attr:`bad_rate`, calibration in the large."""
        return self._score_sum / self.n if self.n else None

    @property
    def log_loss(self) -> float | None:
        """Mean negative log-likelihood of the labels under the scores given."""
        return self._loss_sum / self.n if self.n else None

    def _sweep(self) -> tuple[float, float]:
        """AUC and KS in one pass over the used bins, lowest score first."""
        bins = sorted(self._bad.keys() | self._good.keys())
        goods_below = bads_below = 0
        concordant = 0.0
        ks = 0.0
        for i in bins:
            bad = self._bad.get(i, 0)
            good = self._good.get(i, 0)
            concordant += bad * (goods_below + 0.5 * good)
            goods_below += good
            bads_below += bad
            ks = max(ks, abs(goods_below / self.n_good - bads_below / self.n_bad))
        return concordant / (self.n_bad * self.n_good), ks

    @property
    def roc_auc(self) -> float | None:
        """P(a bad scores above a good), ties (same bin) counting half; None without both classes."""
        if not self.n_bad or not self.n_good:
            return None
        return self._sweep()[0]

    @property
    def ks(self) -> float | None:
        """Largest gap between the score CDFs of goods and bads; None without both classes."""
        if not self.n_bad or not self.n_good:
            return None
        return self._sweep()[1]

    def summary(self) -> dict[str, float | int | None]:
        """All measures at once (one pass over the histograms)."""
        auc, ks = self._sweep() if self.n_bad and self.n_good else (None, None)
        return {
            "n": self.n,
            "bad_rate": self.bad_rate,
            "mean_pd": self.mean_score,
            "auc": auc,
            "ks": ks,
            "log_loss": self.log_loss,
        }

    def snapshot(self) -> bytes:
        """The state as bytes (canonical pickle, :mod:`riskmon.models.snapshots`)."""
        return snapshots.dump(self)

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """The evaluator :meth:`snapshot` saved (trusted bytes only: unpickling runs code)."""
        return snapshots.load(data, cls)


@dataclass(frozen=True, slots=True)
class PromotionRule:
    """When a challenger may replace the champion.

    ``min_labels``: labels both models were judged on; ``min_auc_gain``: the
    challenger's AUC must exceed the champion's by at least this; and its log
    loss may exceed the champion's by at most ``max_logloss_increase`` (a
    better ranking must not come with much worse calibration).
    """

    min_labels: int = 2000
    min_auc_gain: float = 0.01
    max_logloss_increase: float = 0.0

    def __post_init__(self) -> None:
        if self.min_labels < 1:
            raise ValueError(f"min_labels: must be >= 1, got {self.min_labels}")
        if not math.isfinite(self.min_auc_gain) or not math.isfinite(self.max_logloss_increase):
            raise ValueError("min_auc_gain and max_logloss_increase must be finite")


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


class ChampionChallenger:
    """Two models scored side by side, judged prequentially, promoted by rule.

    The champion's PD is the one decisions use; the challenger's is recorded
    beside it. When labels arrive, :meth:`learn_many` judges both on the
    scores they gave at decision time, then both learn. :meth:`promote` swaps
    the roles and starts a fresh comparison (so a demoted model must prove
    itself again over ``min_labels`` before it can return).

    Examples
    --------
    >>> from riskmon.models.online import OnlineCreditModel
    >>> cc = ChampionChallenger(OnlineCreditModel(name="a"), OnlineCreditModel(name="b", learning_rate=0.05))
    >>> xs = [{"inquiries_6m": float(i % 5)} for i in range(400)]
    >>> ys = [x["inquiries_6m"] >= 3 for x in xs]
    >>> champion_pds, challenger_pds = cc.score_many(xs)
    >>> cc.learn_many(xs, ys, champion_pds, challenger_pds)
    >>> cc.should_promote(PromotionRule(min_labels=1000))
    (False, 'not enough labels: 400 < min_labels 1000')
    """

    def __init__(self, champion: CreditModel, challenger: CreditModel, *, n_bins: int = 100_000) -> None:
        self.champion = champion
        self.challenger = challenger
        self.n_bins = n_bins
        self.champion_eval = PrequentialEvaluator(n_bins=n_bins)
        self.challenger_eval = PrequentialEvaluator(n_bins=n_bins)
        self.promotions: list[dict[str, Any]] = []

    def score_many(self, xs: list[Mapping[str, float | str]]) -> tuple[list[float], list[float]]:
        """Both models' PDs for each input: ``(champion_pds, challenger_pds)``."""
        return self.champion.predict_proba_many(xs), self.challenger.predict_proba_many(xs)

    def learn_many(
        self,
        xs: list[Mapping[str, float | str]],
        ys: list[bool],
        champion_pds_at_decision: list[float],
        challenger_pds_at_decision: list[float],
    ) -> None:
        """Judge both models on the PDs they gave at decision time, then learn the labels."""
        n = len(xs)
        if not len(ys) == len(champion_pds_at_decision) == len(challenger_pds_at_decision) == n:
            raise ValueError("learn_many: xs, ys and both PD lists must have the same length")
        for y, champion_pd, challenger_pd in zip(ys, champion_pds_at_decision, challenger_pds_at_decision, strict=True):
            self.champion_eval.update(champion_pd, y)
            self.challenger_eval.update(challenger_pd, y)
        self.champion.learn_many(xs, ys)
        self.challenger.learn_many(xs, ys)

    def promotion_evidence(self) -> dict[str, Any]:
        """Both models' measures over the labels of this comparison, and the differences."""
        champion = self.champion_eval.summary()
        challenger = self.challenger_eval.summary()
        return {
            "n": self.champion_eval.n,
            "bad_rate": self.champion_eval.bad_rate,
            "champion": {"version": self.champion.version, **champion},
            "challenger": {"version": self.challenger.version, **challenger},
            "delta": {  # challenger minus champion
                "auc": _delta(challenger["auc"], champion["auc"]),
                "ks": _delta(challenger["ks"], champion["ks"]),
                "log_loss": _delta(challenger["log_loss"], champion["log_loss"]),
            },
        }

    def should_promote(self, rule: PromotionRule) -> tuple[bool, str]:
        """Whether the challenger should replace the champion, and why (or why not)."""
        return self._judge(rule, self.promotion_evidence())

    @staticmethod
    def _judge(rule: PromotionRule, evidence: Mapping[str, Any]) -> tuple[bool, str]:
        n = evidence["n"]
        if n < rule.min_labels:
            return False, f"not enough labels: {n} < min_labels {rule.min_labels}"
        delta = evidence["delta"]
        if delta["auc"] is None:
            return False, f"AUC undefined: the {n} labels are all of one class"
        champion, challenger = evidence["champion"], evidence["challenger"]
        auc = f"AUC {challenger['auc']:.4f} vs champion {champion['auc']:.4f} ({delta['auc']:+.4f})"
        loss = (
            f"log loss {challenger['log_loss']:.4f} vs champion {champion['log_loss']:.4f} ({delta['log_loss']:+.4f})"
        )
        if delta["auc"] < rule.min_auc_gain:
            return False, f"{auc}: gain below min_auc_gain {rule.min_auc_gain:.4f}"
        if delta["log_loss"] > rule.max_logloss_increase:
            return False, f"{loss}: increase above max_logloss_increase {rule.max_logloss_increase:.4f}"
        return True, f"{auc} and {loss} over {n} labels: promote"

    def snapshot(self) -> bytes:
        """Both models, both evaluators and the promotion history as bytes (canonical pickle)."""
        return snapshots.dump(self)

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """The comparison :meth:`snapshot` saved (trusted bytes only: unpickling runs code)."""
        return snapshots.load(data, cls)

    def promote(self) -> dict[str, Any]:
        """Make the challenger the champion; return the evidence, recorded in :attr:`promotions`.

        The evaluators start afresh for the next comparison.
        """
        evidence = self.promotion_evidence()
        record = {
            "champion": self.challenger.version,
            "champion_snapshot_hash": self.challenger.snapshot_hash,
            "previous_champion": self.champion.version,
            "evidence": evidence,
        }
        self.champion, self.challenger = self.challenger, self.champion
        self.champion_eval = PrequentialEvaluator(n_bins=self.n_bins)
        self.challenger_eval = PrequentialEvaluator(n_bins=self.n_bins)
        self.promotions.append(record)
        return record
