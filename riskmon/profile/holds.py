"""Holds: a customer's recent approvals re-issued as reviews when an alert on the customer turns critical.

Why: the approval flow and the alert feed meet in both directions. A customer
under a critical alert is not approved (the ``CUSTOMER_ALERT`` rule); and an
approval decided shortly *before* the alert, which an approval service may not
have acted on yet, is re-issued as a ``review`` decision of stage ``hold`` on
``credit.decisions``, naming the decision it supersedes and the alert. A
consumer that ignores the stage sees one more review decision for the
application, nothing else changes; a manual review settles it as it settles
any review.

Pure: the approvals (as the application path keeps them in the customer's
profile) and the alert in, hold decisions out. The id is deterministic, one
hold per application: a redelivered alert, or a second critical alert, yields
the same decision, which the decision store then sends at most once.

>>> from datetime import datetime, timezone
>>> from riskmon.schemas import Alert
>>> from riskmon.schemas import AlertSubject
>>> at = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
>>> alert = Alert(alert_id="al-1", dedup_key="cash_24h:customer:c-1", level="critical", status="firing",
...               detector="cash_24h", subject=AlertSubject("customer", "c-1"), summary="cash-out",
...               started_at=at, updated_at=at)
>>> approvals = [{"decision_id": "dec-a", "application_id": "a-1", "at": 1767266000.0, "score": 0.03,
...               "grade": "A", "model_version": "scorecard-v1", "approved_amount": 5000.0, "currency": "USD"}]
>>> [(h.stage, h.outcome, h.supersedes, h.reasons[0].code) for h in holds_for(alert, approvals,
...     now=1767269000.0, window_seconds=86400, policy_version="rules-v1+abc")]
[('hold', 'review', 'dec-a', 'CUSTOMER_ALERT')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from riskmon.schemas import Alert, Decision, Reason
from riskmon.schemas.ids import decision_id_for

__all__ = ["HOLD_STAGE", "hold_id", "holds_for", "is_hold_trigger"]

HOLD_STAGE = "hold"


def hold_id(application_id: str) -> str:
    """The hold's decision id: one per application, whatever alert caused it.

    >>> hold_id("a-1") == decision_id_for("a-1", HOLD_STAGE)
    True
    """
    return decision_id_for(application_id, HOLD_STAGE)


def is_hold_trigger(alert: Alert) -> bool:
    """A firing critical alert about a customer."""
    return alert.subject.kind == "customer" and alert.level == "critical" and alert.status == "firing"


def holds_for(
    alert: Alert,
    approvals: Sequence[Mapping[str, Any]],
    *,
    now: float,
    window_seconds: float,
    policy_version: str,
) -> list[Decision]:
    """The hold decisions ``alert`` calls for: one per approval decided within ``window_seconds`` before ``now``.

    ``approvals`` are the customer's recent approvals (decision id,
    application id, ``at`` in epoch seconds, score, grade...). Entries that
    cannot be read are skipped: a hold must never be a guess.
    """
    if window_seconds <= 0 or not is_hold_trigger(alert):
        return []
    out: list[Decision] = []
    seen: set[str] = set()
    for entry in approvals:
        try:
            application_id = str(entry["application_id"])
            at = float(entry["at"])
            score = float(entry.get("score", 1.0))
            decision = Decision(
                decision_id=hold_id(application_id),
                application_id=application_id,
                customer_id=alert.subject.id,
                decided_at=datetime.fromtimestamp(now, UTC),
                stage=HOLD_STAGE,
                outcome="review",
                score=min(1.0, max(0.0, score)),
                grade=str(entry.get("grade", "E")),
                approved_amount=None,
                currency=entry.get("currency"),
                reasons=(
                    Reason(
                        "CUSTOMER_ALERT",
                        f"Approval held for review: a critical {alert.detector} alert opened on the customer",
                        1.0,
                    ),
                ),
                model_version=str(entry.get("model_version", "unknown")),
                policy_version=policy_version,
                latency_ms=0.0,
                supersedes=str(entry["decision_id"]),
                alert={
                    "dedup_key": alert.dedup_key,
                    "alert_id": alert.alert_id,
                    "detector": alert.detector,
                    "level": alert.level,
                },
            )
        except (KeyError, TypeError, ValueError):
            continue
        if application_id in seen or not now - window_seconds <= at <= now:
            continue
        seen.add(application_id)
        out.append(decision)
    return out
