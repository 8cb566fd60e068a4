"""Output events: what the monitor publishes.

Built by our own code from keyword arguments, so ``__post_init__`` checks
only what that code could get wrong (closed vocabularies, score range, at
most four reasons, aware timestamps) and raises ``ValueError``.
``to_dict`` gives the contract's JSON shape; ``from_dict`` reads it back
(for consumers and tests: it trusts its input and does not validate the contract).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from riskmon.schemas.codec import format_timestamp, parse_timestamp
from riskmon.schemas.errors import PROCESSING_ERROR, SchemaError
from riskmon.schemas.vocab import ALERT_STATUSES, GRADES, LEVELS, OUTCOMES, STAGES, SUBJECT_KINDS

__all__ = ["Reason", "Decision", "AlertSubject", "Alert", "DeadLetter", "MAX_REASONS"]

#: At most this many reasons per decision (adverse-action notices).
MAX_REASONS = 4
_MESSAGE_MAX = 500


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _aware(name: str, value: object) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


def _as_text(obj: object, name: str) -> None:
    """Store an enum member (``Outcome.REVIEW``, ``Level.CRITICAL``) as its contract string."""
    value = getattr(obj, name)
    if value is not None and not isinstance(value, str):
        object.__setattr__(obj, name, str(value))


@dataclass(frozen=True, slots=True)
class Reason:
    """One ranked reason of a decision: a factor that was actually scored."""

    code: str
    description: str
    contribution: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.contribution):
            raise ValueError(f"reason {self.code!r}: contribution must be finite, got {self.contribution!r}")

    def to_dict(self) -> dict:
        return {"code": self.code, "description": self.description, "contribution": self.contribution}

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        return cls(d["code"], d["description"], d["contribution"])


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A decision on ``credit.decisions`` (key: ``application_id``).

    ``outcome`` accepts an ``Outcome`` member and stores its string;
    ``currency`` is an optional extension field; a list of reasons is stored
    as a tuple.

    Examples
    --------
    >>> from datetime import timezone
    >>> d = Decision(decision_id="dec-1", application_id="app-1", customer_id="cust-1",
    ...              decided_at=datetime(2026, 11, 29, 14, 38, 26, tzinfo=timezone.utc),
    ...              stage="automated", outcome="approve", score=0.04, grade="A",
    ...              approved_amount=5000.0, currency="EUR", reasons=[],
    ...              model_version="m1", policy_version="p1", latency_ms=2.5)
    >>> d.to_dict()["decided_at"], d.reasons
    ('2026-11-29T14:38:26.000Z', ())
    """

    decision_id: str
    application_id: str
    customer_id: str
    decided_at: datetime
    stage: str
    outcome: str
    score: float
    grade: str
    approved_amount: float | None
    currency: str | None = None
    reasons: tuple[Reason, ...] = ()
    model_version: str
    policy_version: str
    latency_ms: float
    #: A ``hold`` names the approval it supersedes and the alert that caused it (extension fields,
    #: present only on holds).
    supersedes: str | None = None
    alert: dict | None = None

    def __post_init__(self) -> None:
        _as_text(self, "outcome")
        _aware("decided_at", self.decided_at)
        _one_of("stage", self.stage, STAGES)
        _one_of("outcome", self.outcome, OUTCOMES)
        _one_of("grade", self.grade, GRADES)
        if not isinstance(self.score, (int, float)) or not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be a probability in [0, 1], got {self.score!r}")
        if self.approved_amount is not None and not self.approved_amount >= 0:
            raise ValueError(f"approved_amount must be >= 0 or None, got {self.approved_amount!r}")
        if not isinstance(self.reasons, tuple):
            object.__setattr__(self, "reasons", tuple(self.reasons))
        if len(self.reasons) > MAX_REASONS:
            raise ValueError(f"at most {MAX_REASONS} reasons, got {len(self.reasons)}")
        if not all(isinstance(r, Reason) for r in self.reasons):
            raise ValueError("reasons must be Reason instances")

    def to_dict(self) -> dict:
        return {
            "decision_id": self.decision_id,
            "application_id": self.application_id,
            "customer_id": self.customer_id,
            "decided_at": format_timestamp(self.decided_at),
            "stage": self.stage,
            "outcome": self.outcome,
            "score": self.score,
            "grade": self.grade,
            "approved_amount": self.approved_amount,
            "currency": self.currency,
            "reasons": [r.to_dict() for r in self.reasons],
            "model_version": self.model_version,
            "policy_version": self.policy_version,
            "latency_ms": self.latency_ms,
            **({"supersedes": self.supersedes} if self.supersedes is not None else {}),
            **({"alert": dict(self.alert)} if self.alert is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        return cls(
            decision_id=d["decision_id"],
            application_id=d["application_id"],
            customer_id=d["customer_id"],
            decided_at=parse_timestamp(d["decided_at"], "decided_at"),
            stage=d["stage"],
            outcome=d["outcome"],
            score=d["score"],
            grade=d["grade"],
            approved_amount=d.get("approved_amount"),
            currency=d.get("currency"),
            reasons=tuple(Reason.from_dict(r) for r in d.get("reasons") or ()),
            model_version=d["model_version"],
            policy_version=d["policy_version"],
            latency_ms=d["latency_ms"],
            supersedes=d.get("supersedes"),
            alert=d.get("alert"),
        )


@dataclass(frozen=True, slots=True)
class AlertSubject:
    """What an alert is about: ``kind`` (customer, portfolio, model, pipeline) and ``id``."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        _one_of("subject.kind", self.kind, SUBJECT_KINDS)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A graded alert on ``risk.alerts`` (key: ``dedup_key``). Carries no personal data.

    ``level`` accepts a ``Level`` member and stores its string; ``subject``
    may be given as a ``{kind, id}`` dict; label keys and values must be strings.
    """

    alert_id: str
    dedup_key: str
    level: str
    status: str
    detector: str
    subject: AlertSubject
    summary: str
    value: float | None = None
    threshold: float | None = None
    window: str | None = None
    started_at: datetime
    updated_at: datetime
    count: int = 1
    labels: dict[str, str] = field(default_factory=dict)
    runbook_url: str | None = None
    # Lifecycle fields set by the alert manager (riskmon.alerting); absent from
    # a detector's raw candidate and from the message when unset.
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    suppressed_by: str | None = None
    group_key: str | None = None
    notification: str | None = None

    def __post_init__(self) -> None:
        _as_text(self, "level")
        _one_of("level", self.level, LEVELS)
        _one_of("status", self.status, ALERT_STATUSES)
        if isinstance(self.subject, dict):
            object.__setattr__(self, "subject", AlertSubject(self.subject["kind"], self.subject["id"]))
        elif not isinstance(self.subject, AlertSubject):
            raise ValueError(f"subject must be an AlertSubject, got {type(self.subject).__name__}")
        _aware("started_at", self.started_at)
        _aware("updated_at", self.updated_at)
        for k, v in self.labels.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError(f"labels must map strings to strings, got {k!r}: {type(v).__name__}")

    def to_dict(self) -> dict:
        return {
            "alert_id": self.alert_id,
            "dedup_key": self.dedup_key,
            "level": self.level,
            "status": self.status,
            "detector": self.detector,
            "subject": self.subject.to_dict(),
            "summary": self.summary,
            "value": self.value,
            "threshold": self.threshold,
            "window": self.window,
            "started_at": format_timestamp(self.started_at),
            "updated_at": format_timestamp(self.updated_at),
            "count": self.count,
            "labels": dict(self.labels),
            "runbook_url": self.runbook_url,
            **self._lifecycle(),
        }

    def _lifecycle(self) -> dict:
        out: dict = {}
        for name in ("acknowledged_by", "suppressed_by", "group_key", "notification"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.acknowledged_at is not None:
            out["acknowledged_at"] = format_timestamp(self.acknowledged_at)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        acknowledged_at = d.get("acknowledged_at")
        return cls(
            alert_id=d["alert_id"],
            dedup_key=d["dedup_key"],
            level=d["level"],
            status=d["status"],
            detector=d["detector"],
            subject=AlertSubject(d["subject"]["kind"], d["subject"]["id"]),
            summary=d["summary"],
            value=d.get("value"),
            threshold=d.get("threshold"),
            window=d.get("window"),
            started_at=parse_timestamp(d["started_at"], "started_at"),
            updated_at=parse_timestamp(d["updated_at"], "updated_at"),
            count=d.get("count", 1),
            labels=dict(d.get("labels") or {}),
            runbook_url=d.get("runbook_url"),
            acknowledged_by=d.get("acknowledged_by"),
            acknowledged_at=parse_timestamp(acknowledged_at, "acknowledged_at") if acknowledged_at else None,
            suppressed_by=d.get("suppressed_by"),
            group_key=d.get("group_key"),
            notification=d.get("notification"),
        )


def _render(data: bytes | None) -> tuple[str | None, str | None]:
    """Bytes as JSON text: (UTF-8 text, None), or (base64, "base64") when not valid UTF-8."""
    if data is None:
        return None, None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def _unrender(text: str | None, encoding: str | None) -> bytes | None:
    if text is None:
        return None
    if encoding == "base64":
        return base64.b64decode(text, validate=True)
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A message that could not be processed, on ``risk.deadletter`` (key: the original key).

    ``key`` and ``raw`` are the original bytes. ``to_dict`` writes each as
    text when it is valid UTF-8, else as base64 with ``key_encoding`` /
    ``raw_encoding`` set to ``"base64"`` (the encoding fields are present only then).

    Examples
    --------
    >>> from datetime import timezone
    >>> dl = DeadLetter(source_topic="credit.applications", partition=0, offset=7, key=b"app-1",
    ...                 received_at=datetime(2026, 11, 29, 14, 38, 26, tzinfo=timezone.utc),
    ...                 error={"type": "invalid_utf8", "message": "not UTF-8", "field": None},
    ...                 raw=b"\\xff\\xfe")
    >>> d = dl.to_dict()
    >>> d["raw"], d["raw_encoding"], "key_encoding" in d
    ('//4=', 'base64', False)
    >>> DeadLetter.from_dict(d) == dl
    True
    """

    source_topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    received_at: datetime
    error: dict
    raw: bytes | None

    def __post_init__(self) -> None:
        for name in ("key", "raw"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bytes):
                object.__setattr__(self, name, bytes(value))  # bytearray / memoryview
        _aware("received_at", self.received_at)
        if not isinstance(self.error, dict) or "type" not in self.error or "message" not in self.error:
            raise ValueError("error must be a dict with type, message and field")

    @classmethod
    def from_error(
        cls,
        *,
        source_topic: str,
        partition: int | None,
        offset: int | None,
        key: bytes | None,
        raw: bytes | None,
        error: SchemaError | Exception,
        received_at: datetime,
    ) -> DeadLetter:
        """The dead letter for ``raw`` that failed with ``error``.

        A :class:`SchemaError` gives its own ``{type, message, field}``; any
        other exception gives type ``processing_error``, a message starting
        with the exception's class name, and a null field.
        """
        if isinstance(error, SchemaError):
            err = error.to_error()
        else:
            detail = str(error)
            message = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
            if len(message) > _MESSAGE_MAX:
                message = message[: _MESSAGE_MAX - 1] + "…"
            err = {"type": PROCESSING_ERROR, "message": message, "field": None}
        return cls(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=key,
            received_at=received_at,
            error=err,
            raw=raw,
        )

    def to_dict(self) -> dict:
        key, key_encoding = _render(self.key)
        raw, raw_encoding = _render(self.raw)
        out: dict = {
            "source_topic": self.source_topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": key,
        }
        if key_encoding:
            out["key_encoding"] = key_encoding
        out["received_at"] = format_timestamp(self.received_at)
        out["error"] = {
            "type": self.error["type"],
            "message": self.error["message"],
            "field": self.error.get("field"),
        }
        out["raw"] = raw
        if raw_encoding:
            out["raw_encoding"] = raw_encoding
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        """Read a dead letter back, restoring the exact original bytes.

        Raises ``ValueError`` (``binascii.Error``) on malformed base64.
        """
        return cls(
            source_topic=d["source_topic"],
            partition=d.get("partition"),
            offset=d.get("offset"),
            key=_unrender(d.get("key"), d.get("key_encoding")),
            received_at=parse_timestamp(d["received_at"], "received_at"),
            error=dict(d["error"]),
            raw=_unrender(d.get("raw"), d.get("raw_encoding")),
        )
