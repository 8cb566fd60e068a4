"""What a backtest reports: per configuration, and how the new one differs from the current.

Everything here is computed from :class:`~riskmon.backtest.engine.RunResult`
and is plain JSON (the ``--json`` file; the terminal table and the HTML page
render it). Identifiers and numbers only: decisions carry no ``applicant``,
alerts never do.

Definitions, in one place:

* *rates*: each outcome's share of the automated decisions.
* *bad rate among approvals*: of the approved applications whose loan has a
  final outcome in the stream (default or ``models.bad_days_past_due`` days
  past due: bad; paid off: good), the share that went bad. A recorded stream
  only has outcomes for loans the *live* policy approved, so an application
  the new policy approves but the live one refused has none: the coverage
  (``labelled``) is reported beside each rate.
* *alerts*: raw detector candidates (firing ones by level, resolutions),
  the alert manager's feed after dedup (firing messages by level, those muted
  by inhibition or silences left out), and its notifications after grouping
  (what receivers would get).
* *incident detected*: a firing alert of level warning or above on the
  incident's customer, from its first labelled transaction until
  :data:`DETECTION_GRACE_SECONDS` after its last; the delay is from the first
  labelled transaction to the first such alert's ``updated_at``.
* *decision time*: the measured time each decision took to compute offline
  (scoring and policy), percentiles by nearest rank.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from riskmon.backtest.engine import RunResult
from riskmon.backtest.recorded import Incident
from riskmon.portfolio.summaries import model_family
from riskmon.schemas import Alert
from riskmon.schemas.vocab import LEVELS, OUTCOMES

__all__ = ["DETECTION_GRACE_SECONDS", "summarise", "compare", "percentile", "detect"]

DETECTION_GRACE_SECONDS = 3600.0
_DETECTING_LEVELS = ("warning", "critical")


#: The reason codes of the policy's customer rules (:mod:`riskmon.decisioning.customer`).
CUSTOMER_RULE_CODES = ("CUSTOMER_ALERT", "EXISTING_DELINQUENCY", "EXPOSURE_LIMIT", "PROFILE_STALE")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1), None for no values.

    >>> percentile([5, 1, 3, 2, 4], 0.5), percentile([5, 1, 3, 2, 4], 0.99), percentile([], 0.5)
    (3, 5, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def detect(incident: Incident, alerts: Iterable[Alert]) -> dict[str, Any]:
    """Whether, when and by what ``alerts`` caught ``incident`` (see module doc)."""
    hits = [
        a
        for a in alerts
        if a.status == "firing"
        and a.level in _DETECTING_LEVELS
        and a.suppressed_by is None
        and a.subject.kind == "customer"
        and a.subject.id == incident.customer_id
        and incident.start <= a.updated_at.timestamp() <= incident.end + DETECTION_GRACE_SECONDS
    ]
    if not hits:
        return {"detected": False, "delay_s": None, "level": None, "detectors": []}
    first = min(hits, key=lambda a: a.updated_at)
    top = max((a.level for a in hits), key=LEVELS.index)
    return {
        "detected": True,
        "delay_s": round(first.updated_at.timestamp() - incident.start, 3),
        "level": top,
        "detectors": sorted({a.detector for a in hits}),
    }


def _levels(items: Iterable[Any]) -> dict[str, int]:
    """Counts by level of alerts or notifications (anything with ``.level``)."""
    counts = Counter(a.level for a in items)
    return {level: counts.get(level, 0) for level in LEVELS}


def _decisions(r: RunResult) -> dict[str, Any]:
    n = len(r.decisions)
    counts = Counter(d["outcome"] for d in r.decisions)
    held = sum(1 for d in r.decisions if any(x["code"] == "SYS_DEGRADED" for x in d["reasons"]))
    return {
        "n": n,
        "counts": {o: counts.get(o, 0) for o in OUTCOMES},
        "rates": {o: _rate(counts.get(o, 0), n) for o in OUTCOMES},
        "by_model": dict(Counter(model_family(d["model_version"]) for d in r.decisions).most_common()),
        "held_by_model_alert": held,
        "policy_failures": r.failed_decisions,
        # decisions a customer rule held (its code among the reasons), and approvals re-issued as holds
        "by_customer_rule": {
            code: sum(1 for d in r.decisions if any(x["code"] == code for x in d["reasons"]))
            for code in CUSTOMER_RULE_CODES
        },
        "holds": len(r.holds),
    }


def _performance(r: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for outcome in OUTCOMES:
        ids = [d["application_id"] for d in r.decisions if d["outcome"] == outcome]
        known = [r.labels[i] for i in ids if i in r.labels]
        out[outcome] = {
            "decided": len(ids),
            "labelled": len(known),
            "bad": sum(known),
            "bad_rate": _rate(sum(known), len(known)),
        }
    return out


def _alerts(r: RunResult, incidents: Sequence[Incident]) -> dict[str, Any]:
    firing = [a for a in r.candidates if a.status == "firing"]
    feed = [a for a in r.published if a.status == "firing" and a.suppressed_by is None]
    triggers = [n for n in r.notifications if n.action == "trigger"]
    labelled = {i.customer_id for i in incidents}
    alarms = {a.subject.id for a in firing if a.subject.kind == "customer" and a.level in _DETECTING_LEVELS}
    return {
        "candidates": {
            "firing": _levels(firing),
            "resolved": sum(1 for a in r.candidates if a.status == "resolved"),
            "by_detector": dict(sorted(Counter(a.detector for a in firing).items())),
        },
        "feed": {
            "firing": _levels(feed),
            "messages": len(r.published),
            "muted": sum(1 for a in r.published if a.suppressed_by is not None),
        },
        "notifications": {
            "trigger": _levels(triggers),
            "by_action": dict(sorted(Counter(n.action for n in r.notifications).items())),
            "groups": len({n.group_key for n in r.notifications}),
        },
        "manager_reasons": dict(sorted(r.manager_reasons.items())),
        # customers alerted (warning or above) that carry no incident label: only meaningful when the stream is labelled
        "unlabelled_customers_alerted": len(alarms - labelled) if incidents else None,
    }


def strategy(r: RunResult, *, points: int = 20) -> dict[str, list[dict[str, float]]]:
    """Each model's strategy curve over the labelled applications: approval rate against bad rate among
    approvals, approving every PD below a cut-off (:func:`riskmon.decisioning.cutoffs.strategy_curve`).

    Every model scored every application (the scorecard and both online models), so the curves compare them
    on the same loans, whichever decided.
    """
    from riskmon.decisioning.cutoffs import strategy_curve

    by_model: dict[str, tuple[list[float], list[bool]]] = {}
    for application_id, scores in r.scores.items():
        label = r.labels.get(application_id)
        if label is None:
            continue
        for model, pd in scores.items():
            pds, bads = by_model.setdefault(model, ([], []))
            pds.append(pd)
            bads.append(label)
    return {
        model: [
            {"cutoff": round(c.cutoff, 6), "approval_rate": c.approval_rate, "bad_rate_approved": c.bad_rate_approved}
            for c in strategy_curve(pds, bads, points=points)
        ]
        for model, (pds, bads) in sorted(by_model.items())
        if any(bads) and not all(bads)
    }


def summarise(r: RunResult, incidents: Sequence[Incident]) -> dict[str, Any]:
    """One configuration's figures (see module doc)."""
    millis = [s * 1000.0 for s in r.decision_seconds]
    detections: list[dict[str, Any]] = [
        {
            "label": i.label,
            "customer_id": i.customer_id,
            "events": i.events,
            "raw": detect(i, r.candidates),
            "managed": detect(i, r.published),
        }
        for i in incidents
    ]
    return {
        "config": {
            "source": r.config.source,
            "version": r.config.version[:12],
            "policy_version": r.config.policy_version,
        },
        "decisions": _decisions(r),
        "performance": _performance(r),
        "strategy": strategy(r),
        "alerts": _alerts(r, incidents),
        "incidents": {
            "total": len(incidents),
            "detected_raw": sum(d["raw"]["detected"] for d in detections),
            "detected_managed": sum(d["managed"]["detected"] for d in detections),
            "each": detections,
        },
        "decision_time_ms": {
            "n": len(millis),
            **{
                name: None if (v := percentile(millis, q)) is None else round(v, 4)
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
            },
        },
        "stream": {
            "dead_letters": {f"{t}:{rule}": n for (t, rule), n in sorted(r.deadletters.items())},
            "duplicates": r.duplicates,
            "reviews_counted": r.reviews,
            "late_transactions": r.late_dropped,
            "labels_learned": r.learned,
            "model_publications": r.publications,
            "promotions": r.promotions,
        },
    }


def compare(baseline: RunResult, new: RunResult, *, examples: int = 10) -> dict[str, Any]:
    """How outcomes move from the current configuration to the new one, application by application."""
    before = {d["application_id"]: d["outcome"] for d in baseline.decisions}
    matrix: Counter = Counter()
    changed: list[str] = []
    for d in new.decisions:
        old = before.get(d["application_id"])
        if old is None:
            continue
        matrix[(old, d["outcome"])] += 1
        if old != d["outcome"]:
            changed.append(d["application_id"])
    return {
        "outcome_matrix": {old: {o: matrix.get((old, o), 0) for o in OUTCOMES} for old in OUTCOMES},
        "changed": len(changed),
        "changed_examples": changed[:examples],
    }
