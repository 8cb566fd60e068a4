"""Alert candidates: a detector's :class:`~riskmon.detectors.threshold.Transition` in the ``risk.alerts`` shape.

A candidate is a :class:`riskmon.schemas.Alert`; the alerting stage
(grouping, suppression, routing) decides whether it is sent. Everything in it
is deterministic, so reprocessing the same events yields the same alerts:

* ``dedup_key`` = ``"<detector>:<subject kind>:<subject id>"``: one key per
  thing watched, readable, and made of identifiers only. Detector names and
  subject ids must match the contract's identifier pattern
  (``[A-Za-z0-9._:-]``, 1 to 128 characters; detector names without ``:``),
  so a name, an e-mail or a phone number cannot slip in.
* ``alert_id`` = ``"alt-"`` + the first 32 hex digits of SHA-256 of
  ``dedup_key | started_at (RFC 3339, ms) | level | status``: the same
  episode at the same level and status always has the same id; a resolution
  has its own id. A re-escalation to a level already reached in the episode
  repeats that level's id, with a later ``updated_at`` and a higher ``count``.
* ``count`` is the transition's rank in its episode (1 = the first firing).
* ``level`` of a resolution is the level that was resolved.
* ``labels`` always carry ``config_version``; label keys that name personal
  data (``applicant``, ``name``, ``email``...) are refused.

>>> from riskmon.detectors.threshold import LevelSpec, ThresholdDetector
>>> from riskmon.schemas import AlertSubject
>>> det = ThresholdDetector({"warning": LevelSpec(enter=5, exit=3)})
>>> tr = det.update(6, at=1795963106.0)
>>> a = alert_candidate(tr, detector="txn_velocity", subject=AlertSubject("customer", "cust-42"),
...                     config_version="3f2a9c1d", window="1h")
>>> a.dedup_key, a.status, a.level, a.count, a.started_at.isoformat()
('txn_velocity:customer:cust-42', 'firing', 'warning', 1, '2026-11-29T14:38:26+00:00')
>>> a.summary
'txn_velocity on customer cust-42: entered warning: 6 >= 5 for 1 observation'
>>> a.alert_id
'alt-65ec0c1c007a202fa8ca37b803636582'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from riskmon.detectors.base import utc
from riskmon.detectors.threshold import Transition
from riskmon.schemas.codec import format_timestamp
from riskmon.schemas.outputs import Alert, AlertSubject
from riskmon.schemas.vocab import Level

__all__ = ["alert_candidate", "build_alert", "dedup_key", "alert_id", "PERSONAL_LABEL_KEYS"]

#: Label keys refused because they name personal data.
PERSONAL_LABEL_KEYS = frozenset(
    {"applicant", "name", "full_name", "national_id", "ssn", "phone", "email", "address", "date_of_birth", "dob"}
)
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DETECTOR = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _subject(subject: AlertSubject | Mapping[str, str]) -> AlertSubject:
    if isinstance(subject, Mapping):
        subject = AlertSubject(subject["kind"], subject["id"])
    if not isinstance(subject, AlertSubject):
        raise ValueError(f"subject must be an AlertSubject or {{kind, id}}, got {type(subject).__name__}")
    if not isinstance(subject.id, str) or not _ID.fullmatch(subject.id):
        raise ValueError("subject.id must be an identifier of 1 to 128 characters from [A-Za-z0-9._:-]")
    return subject


def dedup_key(detector: str, subject: AlertSubject | Mapping[str, str]) -> str:
    """``"<detector>:<kind>:<id>"``, after checking both are identifiers.

    >>> dedup_key("psi_score", {"kind": "model", "id": "pd-v3"})
    'psi_score:model:pd-v3'
    """
    if not isinstance(detector, str) or not _DETECTOR.fullmatch(detector):
        raise ValueError(f"detector must be 1 to 64 characters from [A-Za-z0-9._-], got {detector!r}")
    s = _subject(subject)
    return f"{detector}:{s.kind}:{s.id}"


def alert_id(key: str, started_at: float, level: Level | str, status: str) -> str:
    """The deterministic id of an alert message: episode, level and status of ``key``."""
    material = f"{key}|{format_timestamp(utc(started_at))}|{Level.parse(level)}|{status}"
    return "alt-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def _labels(labels: Mapping[str, str] | None, config_version: str) -> dict[str, str]:
    if not isinstance(config_version, str) or not config_version:
        raise ValueError("config_version must be a non-empty string")
    out: dict[str, str] = {}
    for k, v in (labels or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError(f"labels must map strings to strings, got {k!r}: {type(v).__name__}")
        if k.lower() in PERSONAL_LABEL_KEYS:
            raise ValueError(f"label {k!r} names personal data, which never goes into alerts")
        out[k] = v
    out["config_version"] = config_version
    return out


def build_alert(
    *,
    detector: str,
    subject: AlertSubject | Mapping[str, str],
    level: Level | str,
    status: str,
    summary: str,
    started_at: float,
    updated_at: float,
    config_version: str,
    value: float | None = None,
    threshold: float | None = None,
    window: str | None = None,
    count: int = 1,
    labels: Mapping[str, str] | None = None,
    runbook_url: str | None = None,
) -> Alert:
    """An :class:`Alert` from explicit parts (times in epoch seconds), for detections that are not transitions.

    For instance a drift detection: ``status="firing"``, ``started_at`` and
    ``updated_at`` both the detection's event time.
    """
    s = _subject(subject)
    key = dedup_key(detector, s)
    lvl = Level.parse(level)
    return Alert(
        alert_id=alert_id(key, started_at, lvl, status),
        dedup_key=key,
        level=str(lvl),
        status=status,
        detector=detector,
        subject=s,
        summary=summary,
        value=value,
        threshold=threshold,
        window=window,
        started_at=utc(started_at),
        updated_at=utc(updated_at),
        count=count,
        labels=_labels(labels, config_version),
        runbook_url=runbook_url,
    )


def alerts_on(transition: Transition | None, **kwargs: Any) -> list[Alert]:
    """``[alert_candidate(transition, **kwargs)]``, or no alert when nothing changed."""
    return [alert_candidate(transition, **kwargs)] if transition is not None else []


def alert_candidate(
    transition: Transition,
    *,
    detector: str,
    subject: AlertSubject | Mapping[str, str],
    config_version: str,
    window: str | None = None,
    labels: Mapping[str, str] | None = None,
    summary: str | None = None,
    runbook_url: str | None = None,
) -> Alert:
    """The alert candidate of a threshold :class:`Transition` (firing, or resolved when it clears).

    ``summary`` defaults to ``"<detector> on <kind> <id>: <transition reason>"``.
    """
    s = _subject(subject)
    resolved = transition.level is None
    level: Any = transition.previous if resolved else transition.level
    assert level is not None, "a transition always has a level on one side"
    return build_alert(
        detector=detector,
        subject=s,
        level=level,
        status="resolved" if resolved else "firing",
        summary=summary if summary is not None else f"{detector} on {s.kind} {s.id}: {transition.reason}",
        started_at=transition.started_at,
        updated_at=transition.at,
        config_version=config_version,
        value=transition.value,
        threshold=transition.threshold,
        window=window,
        count=transition.seq,
        labels=labels,
        runbook_url=runbook_url,
    )
