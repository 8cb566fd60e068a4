"""The live learner's loop without Kafka or Redis, on event time.

Live, repayments are joined with the feature snapshot kept at decision time,
one learner judges and learns (:func:`riskmon.learning.learner.learn_examples`),
and it publishes snapshots that every scorer swaps in. Offline, the same steps
run in one process, so a backtest shows when a configuration's champion would
take over from the scorecard and what it would then decide:

* a loan is learned once, from its first final outcome, and only if it was
  decided in the stream (no snapshot, no label: as the live join);
* snapshots are published to the scorer after ``models.publish_every_labels``
  new labels, or once ``models.publish_every_seconds`` of decision time have
  passed with labels unpublished (live: a timer on the wall clock);
* the automatic promotion rule is checked before each publication (live: after
  each batch of labels; judging it costs an AUC over every label so far);
  manual promotions (``riskmon model promote``) are not part of a recorded
  stream and do not happen;
* a LightGBM model is refitted in line when due (live: in a background
  thread, installed with the next batch).
"""

from __future__ import annotations

from riskmon.applications.scoring import ModelScorer
from riskmon.config import RiskConfig
from riskmon.learning.learner import LearnerState, learn_examples, promotion_rule, refits_due
from riskmon.learning.registry import ModelPointer
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator
from riskmon.models.families import make_model, restore_model
from riskmon.models.snapshots import digest
from riskmon.schemas import Alert

__all__ = ["OfflineLearner"]


class OfflineLearner:
    """Learns from labelled examples and publishes to one in-process scorer."""

    def __init__(self, config: RiskConfig, scorer: ModelScorer) -> None:
        spec = config.models
        self._config = config
        self._scorer = scorer
        self._drift = config.detectors.error_drift()
        self.state = LearnerState(
            ChampionChallenger(
                make_model(spec.champion.name, spec.champion.params),
                make_model(spec.challenger.name, spec.challenger.params),
            ),
            PrequentialEvaluator(),
        )
        self._last_publish: float | None = None
        self.learned = 0
        self.publications = 0
        self.promotions = 0

    def learn(self, examples: list[dict], *, at: float) -> list[Alert]:
        """Judge and learn ``examples`` (joined at ``at``); returns concept-drift alerts."""
        if not examples:
            return []
        alerts = learn_examples(
            self.state,
            examples,
            drift=self._drift,
            clock=lambda: at,
            config_version=self._config.version[:12],
            grade_bounds=self._config.policy.grade_bounds,
        )
        self.learned += len(examples)
        for model in refits_due(self.state):  # live: in a background thread; offline: in line
            model.refit()
        if self.state.learned_since_publish >= self._config.models.publish_every_labels:
            self.publish(at)
        return alerts

    def maybe_publish(self, now: float) -> None:
        """Publish when labels wait and ``publish_every_seconds`` passed since the last publication."""
        if self._last_publish is None:
            self._last_publish = now
        due = now - self._last_publish >= self._config.models.publish_every_seconds
        if self.state.learned_since_publish > 0 and due:
            self.publish(now)

    def publish(self, now: float) -> None:
        """Promote if the automatic rule says so, then do what a scorer does with a
        published snapshot: restore a frozen copy of each model."""
        if (
            self._config.models.promotion.automatic
            and self.state.cc.should_promote(promotion_rule(self._config.models))[0]
        ):
            self.state.cc.promote()
            self.promotions += 1
        for role, model in (("champion", self.state.cc.champion), ("challenger", self.state.cc.challenger)):
            data = model.snapshot()  # one pickle for the copy and its hash
            self._scorer.models[role] = restore_model(data)
            self._scorer.pointers[role] = ModelPointer(
                role, model.name, model.version, digest(data), model.n_learned, now
            )
        self.state.learned_since_publish = 0
        self._last_publish = now
        self.publications += 1
