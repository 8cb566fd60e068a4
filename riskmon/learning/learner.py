"""The learner: one worker learns from labelled examples and publishes snapshots.

``risk.model.training`` has a single partition, so Kafka assigns it to exactly
one worker at a time: that worker is the learner. When it dies, a rebalance
hands the partition, and the role, to another worker, which resumes from the
learner state saved in Redis with the last snapshot. A crash loses at most the
learning done since that snapshot (``models.publish_every_labels`` /
``publish_every_seconds``), never a decision.

Each batch of examples:

1. claims each label in Redis (``SET NX``): a loan is learned once, even when
   a repayment is replayed or the training topic is re-read after a crash;
2. judges the scorecard, the champion and the challenger on the PDs they gave
   *at decision time* (prequential evaluation), then both models learn;
3. applies a promotion requested from the command line, or the configured
   automatic rule, recording its evidence;
4. publishes snapshots and the evaluation when enough labels or time passed.

Models that learn partly by refits on a window of labels (LightGBM's trees,
a binned model's exact window fit: :mod:`riskmon.models.refits`) hand the
learner a job on copies when one is due; the learner runs it in a background
thread (one at a time) and :meth:`Learner.handle` returns at once; the next
batch or tick installs the result and publishes it. A LightGBM model, while
it is the challenger, is not scored by the scorers: the learner scores each
label's inputs with it before learning them, which is the same prequential
evidence (its trees only change at a refit). A blend holding a LightGBM
member (:mod:`riskmon.models.blend`) is handled the same way: its members are
refitted in the background thread, and the learner scores the blend.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import orjson

from riskmon.config import ModelsConfig
from riskmon.learning.registry import ModelPointer, ModelRegistry
from riskmon.models import refits
from riskmon.models.blend import BlendModel
from riskmon.models.calibration import LIGHT_LEVELS, CalibrationWatch
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator, PromotionRule
from riskmon.models.families import Model, make_model
from riskmon.models.refits import Refitting
from riskmon.models.snapshots import digest
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore
from riskmon.schemas import Alert

__all__ = ["Learner", "LearnerState", "learn_examples", "promotion_rule", "refits_due"]

log = logging.getLogger(__name__)


class LearnerState:
    """Everything the learner must carry across restarts (pickled into Redis)."""

    def __init__(self, cc: ChampionChallenger, scorecard_eval: PrequentialEvaluator) -> None:
        self.cc = cc
        self.scorecard_eval = scorecard_eval
        self.learned_since_publish = 0
        self.calibration: CalibrationWatch | None = None  # per grade, per model (riskmon.models.calibration)


class Learner:
    """Learns from training examples; never raises out of :meth:`handle`."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        store: DecisionStore,
        config: ModelsConfig,
        error_drift: Any = None,
        alerts: Any = None,
        config_version: str = "",
        grade_bounds: tuple[float, ...] = (0.03, 0.06, 0.12, 0.25),
        monotonic: Callable[[], float] = time.monotonic,
        wall_time: Callable[[], float] = time.time,
        refit_executor: Executor | None = None,
    ) -> None:
        self._registry = registry
        self._store = store
        self._config = config
        self._drift = error_drift
        self._alerts = alerts
        self._config_version = config_version
        self._grade_bounds = grade_bounds
        self._mono = monotonic
        self._time = wall_time
        self._state: LearnerState | None = None
        self._last_publish = monotonic()
        self.last_promotion: dict[str, Any] | None = None
        self._executor = refit_executor
        #: The refit running in the background thread, and the model it is for.
        self.refit_running: tuple[Refitting, asyncio.Future[Any]] | None = None

    # -- state -----------------------------------------------------------------

    def _fresh(self, role: str) -> Model:
        spec = self._config.champion if role == "champion" else self._config.challenger
        return make_model(spec.name, spec.params)

    async def _ensure_state(self) -> LearnerState:
        if self._state is not None:
            return self._state
        raw = await self._registry.learner_state()
        state: LearnerState | None = pickle.loads(raw) if raw else None
        wanted = {self._config.champion.name, self._config.challenger.name}
        if state is not None and {state.cc.champion.name, state.cc.challenger.name} != wanted:
            log.warning(
                "configured models %s differ from the saved ones (%s, %s); starting the missing ones afresh",
                sorted(wanted),
                state.cc.champion.name,
                state.cc.challenger.name,
            )
            kept = {m.name: m for m in (state.cc.champion, state.cc.challenger) if m.name in wanted}
            state = LearnerState(
                ChampionChallenger(
                    kept.get(self._config.champion.name) or self._fresh("champion"),
                    kept.get(self._config.challenger.name) or self._fresh("challenger"),
                ),
                state.scorecard_eval,
            )
        if state is None:
            state = LearnerState(
                ChampionChallenger(self._fresh("champion"), self._fresh("challenger")), PrequentialEvaluator()
            )
            log.info("learner starts fresh models %s and %s", state.cc.champion.name, state.cc.challenger.name)
        else:
            log.info("learner resumes %s and %s", state.cc.champion.version, state.cc.challenger.version)
        self._state = state
        return state

    # -- the batch ---------------------------------------------------------------

    async def handle(self, batch: Sequence[Incoming]) -> None:
        try:
            await self._handle(batch)
        except Exception:
            # Examples are derived data: the repayment is still on its topic and
            # its label is not claimed unless learned, so a failed batch can be
            # re-derived. Log loudly; the pipeline-health alerts watch this.
            log.exception("learner failed on a batch of %d examples", len(batch))

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        state = await self._ensure_state()
        await self._collect_refit()
        examples = []
        for message in batch:
            try:
                examples.append(orjson.loads(message.value or b""))
            except orjson.JSONDecodeError:
                log.error("unreadable training example at offset %s", message.offset)
        claims = await self._store.claim_labels([e["application_id"] for e in examples])
        if claims is None:
            raise RuntimeError("Redis unavailable: labels cannot be claimed, so they are not learned twice")
        fresh = [e for e, first in zip(examples, claims, strict=True) if first]
        if fresh:
            drift_alerts = self._learn(state, fresh)
            if drift_alerts and self._alerts is not None:
                for future in await self._alerts.publish(drift_alerts):
                    await future
        await self._maybe_promote(state)
        self._start_refit(state)
        await self.maybe_publish()

    # -- background refits (riskmon.models.refits) -------------------------------------

    def _start_refit(self, state: LearnerState) -> None:
        """Hand a due refit to the background thread (one at a time); never waits for it."""
        if self.refit_running is not None:
            return
        due = refits_due(state)
        if not due:
            return
        model = due[0]
        job = model.refit_job()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmon-refit")
        future = asyncio.get_running_loop().run_in_executor(self._executor, job)
        self.refit_running = (model, future)
        log.info("refitting %s in the background", model.name)

    async def _collect_refit(self) -> bool:
        """Install a finished refit and publish it; True when one was installed."""
        if self.refit_running is None or not self.refit_running[1].done():
            return False
        model, future = self.refit_running
        self.refit_running = None
        try:
            result = future.result()
        except Exception:
            log.exception("refit of %s failed; it keeps what it had and tries again after more labels", model.name)
            return False
        model.install(result)
        log.info("installed the refit of %s", model.name)
        await self.maybe_publish(force=True)
        return True

    def _learn(self, state: LearnerState, examples: list[dict]) -> list:
        return learn_examples(
            state,
            examples,
            drift=self._drift,
            clock=self._time,
            config_version=self._config_version,
            grade_bounds=self._grade_bounds,
        )

    async def _maybe_promote(self, state: LearnerState) -> None:
        rule = self._config.promotion
        verdict = state.cc.should_promote(promotion_rule(self._config))
        request = await self._registry.take_promotion_request()
        if request is None and not (rule.automatic and verdict[0]):
            return
        record = state.cc.promote()
        calibration = getattr(state, "calibration", None)
        if calibration is not None:  # the roles' new models are judged afresh
            calibration.reset("champion")
            calibration.reset("challenger")
        record.update(
            promoted_at=self._time(),
            author=request["author"] if request else "rule",
            reason=request["reason"] if request else verdict[1],
            rule_verdict={"promote": verdict[0], "reason": verdict[1]},
            kind="manual" if request else "automatic",
        )
        await self._registry.record_promotion(record)
        self.last_promotion = record
        log.warning("promoted %s to champion (%s): %s", record["champion"], record["kind"], record["reason"])
        await self.maybe_publish(force=True)

    async def tick(self) -> None:
        """Timer work of the learner: a finished refit, the next one due, a pending promotion, then a due publish."""
        state = await self._ensure_state()
        await self._collect_refit()
        self._start_refit(state)
        await self._maybe_promote(state)
        await self.maybe_publish()

    async def maybe_publish(self, *, force: bool = False) -> bool:
        """Publish snapshots when enough labels or time passed since the last."""
        state = self._state
        if state is None:
            return False
        due = state.learned_since_publish >= self._config.publish_every_labels or (
            state.learned_since_publish > 0 and self._mono() - self._last_publish >= self._config.publish_every_seconds
        )
        if not (force or due):
            return False
        now = self._time()
        snapshots = {}
        for role, model in (("champion", state.cc.champion), ("challenger", state.cc.challenger)):
            data = model.snapshot()
            by_learner = role == "challenger" and bool(getattr(model, "judged_in_learner", False))
            pointer = ModelPointer(role, model.name, model.version, digest(data), model.n_learned, now, by_learner)
            snapshots[role] = (data, pointer)  # one pickle for the bytes and their hash
        evaluation = {
            "published_at": now,
            "comparison": state.cc.promotion_evidence(),
            "scorecard": state.scorecard_eval.summary(),
            "calibration": calibration.summary() if (calibration := getattr(state, "calibration", None)) else {},
        }
        state_bytes = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        await self._registry.publish(snapshots, evaluation, learner_state=state_bytes)
        state.learned_since_publish = 0
        self._last_publish = self._mono()
        log.info(
            "published %s (%s) and %s",
            state.cc.champion.version,
            snapshots["champion"][1].hash[:12],
            state.cc.challenger.version,
        )
        return True


def promotion_rule(config: ModelsConfig) -> PromotionRule:
    """The configured promotion rule as the champion/challenger judge reads it."""
    rule = config.promotion
    return PromotionRule(
        min_labels=max(1, rule.min_labels),
        min_auc_gain=rule.min_auc_gain,
        max_logloss_increase=rule.max_logloss_increase,
    )


def refits_due(state: LearnerState) -> list[Refitting]:
    """The models of ``state`` whose refit is due (champion first), a blend's members too."""
    return refits.refits_due([state.cc.champion, state.cc.challenger])


def _scores_itself(model: object) -> bool:
    """Judged in the learner (a GBM or a blend holding one), once it gives more than a prior."""
    if not getattr(model, "judged_in_learner", False):
        return False
    return model.ready if isinstance(model, BlendModel) else getattr(model, "fit", None) is not None


def learn_examples(
    state: LearnerState,
    examples: list[dict],
    *,
    drift: Any = None,
    clock: Callable[[], float],
    config_version: str,
    grade_bounds: tuple[float, ...] = (0.03, 0.06, 0.12, 0.25),
) -> list[Alert]:
    """Judge, then learn; returns concept-drift alerts on the champion's errors.

    Pure apart from ``state`` (the models and evaluators it updates) and the
    injected ``clock``, so the offline backtest learns exactly as the live
    learner does, on event time instead of the wall clock.
    """
    cc = state.cc
    alerts: list[Alert] = []
    if getattr(state, "calibration", None) is None:  # a state saved before calibration was watched
        state.calibration = CalibrationWatch(grade_bounds)
    calibration = state.calibration
    assert calibration is not None
    judged: tuple[list, list, list, list] = ([], [], [], [])
    unjudged: tuple[list, list] = ([], [])
    # Models the scorers do not score (a GBM challenger) are scored here, before they learn these labels;
    # not before their first refit (they would only give the prior: as a model not yet published).
    inputs = [e["inputs"] for e in examples]
    own = {
        model.name: model.predict_proba_many(inputs) for model in (cc.champion, cc.challenger) if _scores_itself(model)
    }
    # Like for like: when one model is judged here, on what it knows now, the other is too for the
    # promotion evidence. Judged on the PDs it gave at decision time, months of labels earlier, it
    # would lose to a challenger that has learned them since; its decision-time PDs still feed its
    # calibration and drift watch, which are about the decisions customers got.
    if own:
        for model in (cc.champion, cc.challenger):
            if model.name not in own and model.n_learned > 0:
                own[model.name] = model.predict_proba_many(inputs)
    for i, e in enumerate(examples):
        x, y, scores = e["inputs"], bool(e["label"]), e.get("scores", {})
        if scores.get("scorecard") is not None:
            state.scorecard_eval.update(float(scores["scorecard"]), y)
            calibration.update("scorecard", float(scores["scorecard"]), y)
        champion_pd, challenger_pd = (
            scores.get(m.name, own[m.name][i] if m.name in own else None) for m in (cc.champion, cc.challenger)
        )
        for role, pd in (("champion", champion_pd), ("challenger", challenger_pd)):
            if pd is not None:
                calibration.update(role, float(pd), y)
        if champion_pd is not None and drift is not None:
            alerts += _drift_alert(
                drift,
                abs(float(y) - float(champion_pd)),
                cc.champion.version,
                at=clock(),
                config_version=config_version,
            )
        if cc.champion.name in own and cc.challenger.name in own:  # like for like (above)
            champion_pd, challenger_pd = own[cc.champion.name][i], own[cc.challenger.name][i]
        if champion_pd is not None and challenger_pd is not None:
            for column, value in zip(judged, (x, y, float(champion_pd), float(challenger_pd)), strict=True):
                column.append(value)
        else:  # decided before these models were published: learn, but do not judge
            unjudged[0].append(x)
            unjudged[1].append(y)
    if judged[0]:
        cc.learn_many(*judged)
    if unjudged[0]:
        cc.champion.learn_many(*unjudged)
        cc.challenger.learn_many(*unjudged)
    state.learned_since_publish += len(examples)
    return alerts + _calibration_alerts(calibration, at=clock(), config_version=config_version)


def _calibration_alerts(watch: CalibrationWatch, *, at: float, config_version: str) -> list[Alert]:
    """A ``calibration`` model alert per grade whose traffic light changed (yellow, red; green resolves)."""
    from riskmon.detectors import build_alert

    alerts = []
    for role, check, before in watch.changes():
        level = LIGHT_LEVELS.get(check.light)
        if level is None and before not in LIGHT_LEVELS:
            continue  # green after nothing: nothing to say
        assert check.expected is not None and check.observed is not None
        alerts.append(
            build_alert(
                detector="calibration",
                subject={"kind": "model", "id": f"{role}:grade-{check.grade}"},
                level=level or LIGHT_LEVELS[before],
                status="firing" if level else "resolved",
                summary=(
                    f"{role} grade {check.grade}: expected default rate {check.expected:.2%}, observed "
                    f"{check.observed:.2%} over {check.n} loans; Jeffreys p={check.p_value:.3g} ({check.light}, "
                    f"PDs {check.direction})"
                ),
                started_at=at,
                updated_at=at,
                config_version=config_version,
                value=check.observed,
                threshold=check.expected,
                count=check.n,
                labels={"grade": check.grade, "light": check.light},
            )
        )
    return alerts


def _drift_alert(drift: Any, error: float, version: str, *, at: float, config_version: str) -> list[Alert]:
    """Feed one error to the concept-drift detector; an alert when it fires."""
    from riskmon.detectors import build_alert

    result = drift.update(error, at=at)
    if not result.detected:
        return []
    return [
        build_alert(
            detector="error_drift",
            subject={"kind": "model", "id": "champion"},
            level=result.level or "warning",
            status="firing",
            summary=f"concept drift in the champion's errors ({version}): {result.reason}",
            started_at=at,
            updated_at=at,
            config_version=config_version,
            value=result.estimate,
            threshold=result.before,
        )
    ]
