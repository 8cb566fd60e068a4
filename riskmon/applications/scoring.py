"""What a worker scores with: the published champion, a challenger in shadow.

Each worker is a *scorer*: it never learns, it loads the snapshots that the one
learner publishes (:mod:`riskmon.learning.learner`) and swaps them in between
two batches when the registry's pointer moves. Why not learn everywhere: with
partitions spread over workers, each would learn from a different slice of the
labels and two workers would score the same applicant differently.

Cold start: until the champion has learned ``min_labels`` labels, the
configured scorecard decides (``model_version`` ``scorecard-v1``) while the
models score in shadow, so the first thousand decisions are not made by a
model that has seen ten defaults. A worker that finds a snapshot in the
registry loads it before its first decision; it never starts from an empty
model when one exists.

Every decision keeps a *feature snapshot*: the model inputs, the PD each
model gave (scorecard, champion, challenger) and the snapshot hashes. The
label path joins repayments with it, so evaluation is prequential (the score
given at decision time, not a later re-score) and the audit trail can show
exactly what was scored.

A LightGBM challenger (:mod:`riskmon.models.gbm`), or a blend holding one
(:mod:`riskmon.models.blend`), is not scored here: the learner judges it on
the same labels, so it costs decisions nothing; once promoted to champion it
scores and explains every application like any champion.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from riskmon.applications.decide import MODEL_VERSION
from riskmon.config import Policy
from riskmon.decisioning import ScoredFactor
from riskmon.decisioning.policy import scorecard
from riskmon.learning.registry import ModelPointer, ModelRegistry
from riskmon.models.families import Model, restore_model
from riskmon.models.features import model_inputs
from riskmon.profile import CustomerProfile
from riskmon.redis_clients import REDIS_ERRORS
from riskmon.schemas import Application

__all__ = ["ModelScorer", "Scored", "SCORECARD_VERSION"]

log = logging.getLogger(__name__)

SCORECARD_VERSION = MODEL_VERSION


@dataclass(frozen=True, slots=True)
class Scored:
    """One application's scores: what decides, and what is kept for learning."""

    model_score: tuple[float, tuple[ScoredFactor, ...]] | None  # None: the scorecard decides
    card_score: tuple[float, tuple[ScoredFactor, ...]]  # the scorecard's (PD, reasons), computed once
    model_version: str
    snapshot: dict  # the feature snapshot kept for the label join


class ModelScorer:
    """Champion and challenger of one worker, refreshed from the registry."""

    def __init__(
        self,
        registry: ModelRegistry | None,
        *,
        min_labels: int,
        refresh_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        score_every_model: bool = False,
    ) -> None:
        """``score_every_model``: score a GBM challenger in shadow too (the offline backtest, where the
        decision path's cost does not matter and its decision-time PDs draw its strategy curve)."""
        self._score_every_model = score_every_model
        self._registry = registry
        self._min_labels = min_labels
        self._refresh = refresh_seconds
        self._mono = monotonic
        self._next_refresh = 0.0
        self.models: dict[str, Model] = {}
        #: Why approvals are held (a critical model alert), or None.
        self.model_alert: str | None = None
        self.pointers: dict[str, ModelPointer] = {}

    async def refresh(self, *, force: bool = False) -> None:
        """Swap in newly published snapshots (at most every ``refresh_seconds``)."""
        if self._registry is None or (not force and self._mono() < self._next_refresh):
            return
        self._next_refresh = self._mono() + self._refresh
        try:
            alert = await self._registry.model_alert()
            self.model_alert = f"model alert: {alert}" if alert else None
            pointers = await self._registry.pointers()
            for role, pointer in pointers.items():
                current = self.pointers.get(role)
                if current is not None and current.hash == pointer.hash:
                    continue
                if pointer.scored_by_learner and not self._score_every_model:
                    # a challenger this scorer skips anyway (score()): keep its hash for the feature
                    # snapshot, not its bytes (a GET and an unpickle on the decision path, for nothing)
                    self.models.pop(role, None)
                    self.pointers[role] = pointer
                    continue
                data = await self._registry.snapshot(pointer.hash)
                if data is None:
                    log.warning("snapshot %s of %s is missing from the registry", pointer.hash[:12], role)
                    continue
                self.models[role] = restore_model(data)
                self.pointers[role] = pointer
                log.info(
                    "now scoring %s with %s (%s, %d labels)",
                    role,
                    pointer.version,
                    pointer.hash[:12],
                    pointer.n_learned,
                )
        except REDIS_ERRORS as exc:
            log.warning("model registry unreachable (%s); keeping the models in memory", exc)
        except Exception:  # a corrupt snapshot must not stop decisions: keep what we have
            log.exception("could not load a published model; keeping the models in memory")

    def score(
        self,
        applications: Sequence[Application],
        policy: Policy,
        profiles: Sequence[CustomerProfile | None] | None = None,
    ) -> list[Scored]:
        """Score a batch: batched model calls, explanations for the deciding model only.

        The customers' risk profiles join the inputs as ``behaviour.*`` (none for a profile that
        could not be read), so the models learn what a customer's live risk is worth.
        """
        inputs = [model_inputs(a) for a in applications]
        for x, profile in zip(inputs, profiles or (), strict=False):
            if profile is not None:
                x.update(profile.behaviour_inputs())
        shadow: dict[str, list[float]] = {}  # model name -> PDs; the learner judges models by name
        for role in ("champion", "challenger"):
            model = self.models.get(role)
            if role == "challenger" and getattr(model, "judged_in_learner", False) and not self._score_every_model:
                continue  # a GBM challenger: the learner scores it, off the decision path
            if model is not None and inputs:
                shadow[model.name] = model.predict_proba_many(inputs)
        champion = self.models.get("champion")
        deciding = champion is not None and champion.n_learned >= self._min_labels
        hashes = {role: p.hash for role, p in self.pointers.items()}
        explanations = champion.explain_many(inputs) if deciding and champion is not None else []
        out = []
        for i, (application, x) in enumerate(zip(applications, inputs, strict=True)):
            card = scorecard(application, policy)
            card_pd = card[0]
            if deciding:
                assert champion is not None
                pd = shadow[champion.name][i]
                reasons = tuple(ScoredFactor(code, text, share) for code, text, share in explanations[i])
                model_score = (float(pd), reasons)
                version = champion.version
            else:
                model_score, version = None, SCORECARD_VERSION
            out.append(
                Scored(
                    model_score=model_score,
                    card_score=card,
                    model_version=version,
                    snapshot={
                        "application_id": application.application_id,
                        "inputs": x,
                        "scores": {"scorecard": round(card_pd, 6), **{name: pds[i] for name, pds in shadow.items()}},
                        "model_version": version,
                        "snapshots": hashes,
                    },
                )
            )
        return out

    def score_or_none(
        self,
        applications: Sequence[Application],
        policy: Policy,
        profiles: Sequence[CustomerProfile | None] | None = None,
    ) -> list[Scored | None]:
        """:meth:`score`, or None for each application when the models fail: the scorecard decides then."""
        try:
            return list(self.score(applications, policy, profiles))
        except Exception:
            log.exception("model scoring failed for a batch of %d; the scorecard decides", len(applications))
            return [None] * len(applications)
