"""Audit records: what the trail keeps of each decision and each manual review.

A record is a plain JSON object built from the decision event, the feature
snapshot kept when it was scored (:mod:`riskmon.applications.scoring`) and the
applicant's pseudonym. Fields are picked one by one from a fixed list, so an
``applicant`` object or any other unexpected field in the inputs can never
reach the trail.

Decision record (``kind: "decision"``): ``decision_id``, ``application_id``,
``customer_id``, ``applicant_ref`` (the pseudonym, :mod:`~riskmon.audit.pseudonym`),
``stage``, ``decided_at``, ``model_version``, ``model_snapshot_hash`` (SHA-256
of the snapshot of the model that decided; null when the configured scorecard
decided, whose rules ``policy_version`` names), ``model_snapshots`` (role ->
hash of every model that scored, shadow ones included), ``model_scores`` (the
PD each gave), ``policy_version`` (policy and thresholds: the configuration's
hash), ``score``, ``grade``, ``outcome``, ``approved_amount``, ``currency``,
``reasons`` (ranked, at most four, the factors actually scored),
``features_hash`` (SHA-256 of the canonical bytes of the model inputs as
scored; null when nothing was scored), ``features`` (those inputs, or null
when they are not retained), ``source`` (where the decision was read, or
null) and ``schema_version``.

Review record (``kind: "review"``): ``decision_id``, ``application_id``,
``customer_id``, ``applicant_ref``, ``reviewer``, ``verdict``, ``reason``,
``reviewed_at``, ``overrides`` (the decision reviewed: its id, stage, outcome,
score, model and policy versions, time), ``changed`` (whether the verdict
differs from that outcome), ``source``, ``schema_version``.

The reviewer's ``reason`` is kept as written: compliance needs it. Reviewers
must not write personal data in it.

:func:`canonical_bytes` gives the exact bytes that are hashed: sorted keys,
no whitespace, UTF-8, numbers as orjson writes them (a float that survives a
JSON round trip gives the same bytes again, so a reader re-hashes what it
read and finds the writer's hash).

>>> canonical_bytes({"b": 1, "a": [0.1, None, "é"]})
b'{"a":[0.1,null,"\\xc3\\xa9"],"b":1}'
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from riskmon.schemas import dumps, format_timestamp

__all__ = [
    "KINDS",
    "MAX_REASONS",
    "RECORD_VERSION",
    "SCORECARD_PREFIX",
    "canonical_bytes",
    "decision_record",
    "features_hash",
    "review_record",
]

#: ``schema_version`` of the records built here.
RECORD_VERSION = 1
#: The kinds of record.
KINDS = ("decision", "review")
#: At most this many ranked reasons (adverse-action notices).
MAX_REASONS = 4
#: ``model_version`` prefix of decisions made by the configured scorecard (no model snapshot).
SCORECARD_PREFIX = "scorecard"


def canonical_bytes(record: Mapping) -> bytes:
    """The bytes that are hashed: sorted keys, compact, UTF-8 (orjson ``OPT_SORT_KEYS``).

    Keys must be strings. An aware datetime is written as the contract's
    timestamp, an object with ``to_dict()`` through it. Equal content gives
    equal bytes whatever the key order.

    Raises
    ------
    TypeError
        For a value JSON cannot hold (or a non-string key).
    """
    return dumps(dict(record), sort_keys=True)


def features_hash(inputs: Mapping | None) -> str | None:
    """SHA-256 (hex) of the canonical bytes of the model inputs; None without inputs.

    >>> features_hash({"amount": 5000.0}) == features_hash({"amount": 5000.0})
    True
    """
    if inputs is None:
        return None
    return hashlib.sha256(canonical_bytes(inputs)).hexdigest()


def _as_dict(obj: Any, what: str) -> Mapping:
    """A record-shaped mapping of ``obj`` (a mapping or an event with ``to_dict()``)."""
    if isinstance(obj, Mapping):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"{what} must be a mapping or an event with to_dict(), got {type(obj).__name__}")
    return to_dict()


def _time(value: object) -> object:
    return format_timestamp(value) if isinstance(value, datetime) else value


def _reasons(decision: Mapping) -> list[dict]:
    reasons = decision.get("reasons") or ()
    if len(reasons) > MAX_REASONS:
        raise ValueError(f"a decision has at most {MAX_REASONS} reasons, got {len(reasons)}")
    out = []
    for r in reasons:
        r = _as_dict(r, "a reason")
        out.append({"code": r["code"], "description": r["description"], "contribution": r["contribution"]})
    return out


def _source(source: Mapping | None) -> dict | None:
    if source is None:
        return None
    return {"topic": source["topic"], "partition": source["partition"], "offset": source["offset"]}


def _model_snapshot_hash(decision: Mapping, snapshot: Mapping | None) -> str | None:
    """The snapshot hash of the model that decided, if a model (not the scorecard) decided."""
    if snapshot is None:
        return None
    if snapshot.get("model_hash") is not None:  # the scorer says which snapshot decided
        return str(snapshot["model_hash"])
    version = decision.get("model_version")
    if not isinstance(version, str) or version.startswith(SCORECARD_PREFIX) or snapshot.get("model_version") != version:
        return None
    champion = (snapshot.get("snapshots") or {}).get("champion")
    return str(champion) if champion is not None else None


def decision_record(
    decision: Mapping,
    *,
    applicant_ref: str | None,
    snapshot: Mapping | None,
    features_retained: bool,
    source: Mapping | None = None,
    profile: Mapping | None = None,
) -> dict:
    """The audit record of one decision.

    Parameters
    ----------
    decision
        The decision event (``Decision.to_dict()`` shape, or the ``Decision``).
    applicant_ref
        The applicant's pseudonym (:func:`~riskmon.audit.pseudonym.pseudonymize`),
        or None. Never the personal data itself.
    snapshot
        The feature snapshot kept when the application was scored
        (``inputs``, ``scores``, ``model_version``, ``snapshots``, optionally
        ``model_hash``), or None when nothing was scored.
    features_retained
        Keep the inputs themselves (``features``); ``features_hash`` is there
        either way, so retained inputs can be checked against it and
        unretained ones proven later from the feature store.
    source
        Where the decision was read (``topic``, ``partition``, ``offset``), so
        that a restarted writer knows what the chain already holds.
    profile
        The customer's risk profile as the decision used it
        (:meth:`riskmon.profile.CustomerProfile.to_record`), kept as
        ``customer_profile`` when given. A ``hold`` decision's ``supersedes``
        and ``alert`` are kept too.

    Examples
    --------
    >>> from riskmon.schemas.examples import example
    >>> snap = {"inputs": {"amount": 12000.0}, "scores": {"scorecard": 0.18},
    ...         "model_version": "scorecard-v1", "snapshots": {}}
    >>> rec = decision_record(example("decision"), applicant_ref="anon-00", snapshot=snap,
    ...                       features_retained=False)
    >>> rec["outcome"], [r["code"] for r in rec["reasons"]], rec["features"], len(rec["features_hash"])
    ('review', ['DTI_HIGH', 'INQUIRIES'], None, 64)
    """
    d = _as_dict(decision, "decision")
    inputs = snapshot.get("inputs") if snapshot is not None else None
    record = {
        "schema_version": RECORD_VERSION,
        "kind": "decision",
        "decision_id": d["decision_id"],
        "application_id": d["application_id"],
        "customer_id": d.get("customer_id"),
        "applicant_ref": applicant_ref,
        "stage": d.get("stage"),
        "decided_at": _time(d["decided_at"]),
        "model_version": d.get("model_version"),
        "model_snapshot_hash": _model_snapshot_hash(d, snapshot),
        "model_snapshots": dict(snapshot.get("snapshots") or {}) if snapshot is not None else {},
        "model_scores": dict(snapshot.get("scores") or {}) if snapshot is not None else {},
        "policy_version": d.get("policy_version"),
        "score": d["score"],
        "grade": d.get("grade"),
        "outcome": d["outcome"],
        "approved_amount": d.get("approved_amount"),
        "currency": d.get("currency"),
        "reasons": _reasons(d),
        "features_hash": features_hash(inputs),
        "features": dict(inputs) if features_retained and inputs is not None else None,
        "source": _source(source),
    }
    # only when present, so that records of decisions without them are as they always were
    if profile is not None:
        record["customer_profile"] = dict(profile)
    for key in ("supersedes", "alert"):
        if d.get(key) is not None:
            record[key] = d[key]
    return record


def review_record(
    review: Mapping,
    decision: Mapping,
    *,
    applicant_ref: str | None = None,
    source: Mapping | None = None,
) -> dict:
    """The audit record of a manual review of ``decision``.

    Parameters
    ----------
    review
        The review event (``Review.to_dict()`` shape, or the ``Review``).
    decision
        The decision reviewed (the one the verdict may override).
    applicant_ref
        The applicant's pseudonym, as in the decision's record.
    source
        Where the review was read (``topic``, ``partition``, ``offset``).

    Raises
    ------
    ValueError
        If the review and the decision are about different applications.

    Examples
    --------
    >>> from riskmon.schemas.examples import example
    >>> rec = review_record(example("review"), example("decision"))
    >>> rec["verdict"], rec["overrides"]["outcome"], rec["changed"]
    ('approve', 'review', True)
    """
    r = _as_dict(review, "review")
    d = _as_dict(decision, "decision")
    if r["application_id"] != d["application_id"]:
        raise ValueError(
            f"review of application {r['application_id']!r} cannot override a decision on {d['application_id']!r}"
        )
    return {
        "schema_version": RECORD_VERSION,
        "kind": "review",
        "decision_id": d["decision_id"],
        "application_id": r["application_id"],
        "customer_id": d.get("customer_id"),
        "applicant_ref": applicant_ref,
        "reviewer": r["reviewer"],
        "verdict": r["outcome"],
        "reason": r["reason"],
        "reviewed_at": _time(r["reviewed_at"]),
        "overrides": {
            "decision_id": d["decision_id"],
            "stage": d.get("stage"),
            "outcome": d["outcome"],
            "score": d.get("score"),
            "model_version": d.get("model_version"),
            "policy_version": d.get("policy_version"),
            "decided_at": _time(d.get("decided_at")),
        },
        "changed": r["outcome"] != d["outcome"],
        "source": _source(source),
    }
