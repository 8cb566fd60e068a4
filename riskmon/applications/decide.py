"""Pure steps of the application path: bytes in, a decision or a dead letter out.

Nothing here does I/O, so every rule of the path is tested without a broker:
decoding and validating the original bytes, deriving a deterministic
``decision_id``, applying the policy and shaping the contract's decision event.
The handler in :mod:`riskmon.applications.handler` only moves bytes between Kafka,
Redis and these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from riskmon.config import RiskConfig
from riskmon.decisioning import ScoredFactor, decide
from riskmon.pipeline.messages import Incoming
from riskmon.profile import CustomerProfile
from riskmon.schemas import Application, Decision, Reason, decode_object
from riskmon.schemas.ids import decision_id_for

if TYPE_CHECKING:  # scoring imports this module
    from riskmon.applications.scoring import Scored

__all__ = [
    "decision_id_for",
    "parse_application",
    "build_decision",
    "fallback_decision",
    "Decided",
    "decide_batch",
    "decide_scored",
    "decision_snapshot",
    "MODEL_VERSION",
]

#: ``model_version`` of decisions the configured scorecard made (the online
#: champion replaces it once it has learned enough outcomes).
MODEL_VERSION = "scorecard-v1"


def parse_application(message: Incoming, *, max_bytes: int) -> Application:
    """Decode and validate; raises :class:`SchemaError` naming the broken rule."""
    return Application.from_dict(decode_object(message.value, max_bytes=max_bytes))


def build_decision(
    application: Application,
    config: RiskConfig,
    *,
    decided_at: datetime,
    latency_ms: float,
    degraded: str | None = None,
    model_score: tuple[float, Sequence[ScoredFactor]] | None = None,
    card_score: tuple[float, Sequence[ScoredFactor]] | None = None,
    model_version: str = MODEL_VERSION,
    profile: CustomerProfile | None = None,
) -> Decision:
    """The automated decision for a valid application.

    ``model_score`` is the champion model's (PD, reasons), judged with the
    models' cut-offs; without it the configured scorecard scores with its own
    (``card_score`` when the caller already computed it, so it is not computed
    twice). ``model_version`` says which decided.
    """
    if model_score is not None:
        result = decide(application, config.model_policy, degraded=degraded, model_score=model_score, profile=profile)
    else:
        result = decide(application, config.policy, degraded=degraded, model_score=card_score, profile=profile)
    return Decision(
        decision_id=decision_id_for(application.application_id),
        application_id=application.application_id,
        customer_id=application.customer_id,
        decided_at=decided_at,
        stage="automated",
        outcome=str(result.outcome),
        score=result.score,
        grade=result.grade,
        approved_amount=result.approved_amount,
        currency=application.currency or config.currency,
        reasons=tuple(Reason(r.code, r.description, r.contribution) for r in result.reasons),
        model_version=model_version,
        policy_version=config.policy_version,
        latency_ms=round(latency_ms, 3),
    )


def decide_scored(
    application: Application,
    config: RiskConfig,
    score: Scored | None,
    *,
    decided_at: datetime,
    latency_ms: float,
    degraded: str | None = None,
    profile: CustomerProfile | None = None,
) -> tuple[Decision, Exception | None]:
    """The decision for ``application`` with its batch's ``score`` (None: the scorecard decides).

    If the policy fails, a ``review`` decision and the error (the caller
    dead-letters it). One function for the worker and the backtest, so the
    backtest decides exactly as the worker does.
    """
    try:
        return build_decision(
            application,
            config,
            decided_at=decided_at,
            latency_ms=latency_ms,
            degraded=degraded,
            model_score=score.model_score if score else None,
            card_score=score.card_score if score else None,
            model_version=score.model_version if score else MODEL_VERSION,
            profile=profile,
        ), None
    except Exception as exc:
        error = type(exc).__name__
        return fallback_decision(application, config, decided_at=decided_at, latency_ms=latency_ms, error=error), exc


@dataclass(frozen=True, slots=True)
class Decided:
    """One application's verdict: the decision, its contract dict, the snapshot kept for the
    label join (None when the scorecard decided) and the error if the policy failed."""

    decision: Decision
    record: dict
    snapshot: dict | None
    error: Exception | None


def decide_batch(
    applications: Sequence[Application],
    scores: Sequence[Scored | None],
    config: RiskConfig,
    *,
    now: Callable[[], datetime],
    latencies_ms: Sequence[float],
    degraded: str | None = None,
    profiles: Sequence[CustomerProfile | None] | None = None,
) -> list[Decided]:
    """A batch's decisions, in order: the step the live handler and the backtest share.

    ``scores`` are the batch's model scores (one scoring call per batch),
    ``now`` stamps each decision and ``latencies_ms`` are each application's
    time in the worker so far; ``profiles`` are the customers' risk profiles
    (None for one that could not be read); both come from the caller, so the backtest
    decides on event time and the worker on the wall clock.
    """
    out = []
    customers = profiles if profiles is not None else [None] * len(applications)
    for application, score, latency, profile in zip(applications, scores, latencies_ms, customers, strict=True):
        decision, error = decide_scored(
            application, config, score, decided_at=now(), latency_ms=latency, degraded=degraded, profile=profile
        )
        record = decision.to_dict()
        out.append(Decided(decision, record, decision_snapshot(score, record["decided_at"], decision.outcome), error))
    return out


def decision_snapshot(score: Scored | None, decided_at: str, outcome: str) -> dict | None:
    """The feature snapshot kept for the label join: the score's, stamped with the decision."""
    return None if score is None else {**score.snapshot, "decided_at": decided_at, "outcome": outcome}


def fallback_decision(
    application: Application, config: RiskConfig, *, decided_at: datetime, latency_ms: float, error: str
) -> Decision:
    """A ``review`` decision for a valid application whose processing failed.

    Why: a valid application must never go without a decision; a person looks
    at it instead of the machine guessing.
    """
    return Decision(
        decision_id=decision_id_for(application.application_id),
        application_id=application.application_id,
        customer_id=application.customer_id,
        decided_at=decided_at,
        stage="automated",
        outcome="review",
        score=1.0,
        grade="E",
        approved_amount=None,
        currency=application.currency or config.currency,
        reasons=(Reason("SYS_PROCESSING_ERROR", f"Held for manual review: {error}", 1.0),),
        model_version=MODEL_VERSION,
        policy_version=config.policy_version,
        latency_ms=round(latency_ms, 3),
    )
