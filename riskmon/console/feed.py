"""What of an alert or a decision reaches the console page, and the board of alerts it shows.

Why allow-lists: the page is a new way out of the system. A field reaches it
only when named here, so a field added to a message later (by a producer
that ignores the contract, or by us) cannot leak personal data to a browser.
Decisions carry no ``applicant`` by contract, and the console keeps it that
way even if one arrives with it; it also leaves out ``customer_id``, which
an operator watching outcomes does not need.

The board merges two sources of the same alerts: the feed (``risk.alerts``,
in publication order per key, since the key is the dedup key) and the alert
manager's saved state in Redis (read at start and now and then, to cover
what was published before the console's tail began). A Redis copy replaces
the board's only when it is strictly further along (:func:`progress`), so
the two can be applied in any order without going back in time.

>>> board = AlertBoard()
>>> doc = {"dedup_key": "cash_24h:customer:c-1", "level": "warning", "status": "firing", "detector": "cash_24h",
...        "subject": {"kind": "customer", "id": "c-1"}, "summary": "cash", "started_at": "2026-01-01T00:00:00Z",
...        "updated_at": "2026-01-01T00:05:00Z", "count": 1, "labels": {}, "secret": "x"}
>>> board.apply_feed(doc)["level"], "secret" in board.get("cash_24h:customer:c-1")
('warning', False)
>>> board.reconcile([{**doc, "updated_at": "2026-01-01T00:01:00Z", "level": "info"}])  # older: ignored
[]
>>> board.open_by_level()
{'info': 0, 'warning': 1, 'critical': 0}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from riskmon.schemas.vocab import LEVELS

__all__ = ["ALERT_FIELDS", "DECISION_FIELDS", "alert_view", "decision_view", "progress", "AlertBoard", "DecisionRing"]

#: Alert fields shown: the contract's, plus the manager's lifecycle fields.
ALERT_FIELDS = (
    "alert_id",
    "dedup_key",
    "level",
    "status",
    "detector",
    "subject",
    "summary",
    "value",
    "threshold",
    "window",
    "started_at",
    "updated_at",
    "count",
    "labels",
    "runbook_url",
    "acknowledged_by",
    "acknowledged_at",
    "suppressed_by",
    "group_key",
    "notification",
)
#: Decision fields shown; never ``applicant``, ``customer_id`` or features.
DECISION_FIELDS = (
    "decision_id",
    "application_id",
    "decided_at",
    "stage",
    "outcome",
    "score",
    "grade",
    "approved_amount",
    "currency",
    "model_version",
    "policy_version",
    "latency_ms",
)
_REASON_FIELDS = ("code", "description", "contribution")
_MAX_REASONS = 4


def alert_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The allow-listed copy of an alert message for the page."""
    out = {k: doc[k] for k in ALERT_FIELDS if k in doc}
    subject = doc.get("subject")
    subject = subject if isinstance(subject, Mapping) else {}
    out["subject"] = {"kind": str(subject.get("kind", "")), "id": str(subject.get("id", ""))}
    labels = doc.get("labels")
    out["labels"] = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}
    return out


def decision_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The allow-listed copy of a decision for the page: outcome, grade, score, top reasons.

    >>> view = decision_view({"application_id": "a-1", "outcome": "reject", "applicant": {"name": "Jane"},
    ...                       "customer_id": "c-1", "reasons": [{"code": "DTI_HIGH", "contribution": 0.4, "x": 1}]})
    >>> sorted(view), view["reasons"]
    (['application_id', 'outcome', 'reasons'], [{'code': 'DTI_HIGH', 'contribution': 0.4}])
    """
    out = {k: doc[k] for k in DECISION_FIELDS if k in doc}
    reasons = doc.get("reasons")
    if isinstance(reasons, list):
        out["reasons"] = [
            {k: r[k] for k in _REASON_FIELDS if k in r} for r in reasons[:_MAX_REASONS] if isinstance(r, Mapping)
        ]
    return out


def _epoch(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def progress(doc: Mapping[str, Any]) -> tuple[float, int, float]:
    """How far along an alert's life a copy is: event time, then resolution, then acknowledgement.

    An acknowledgement keeps ``updated_at`` and adds ``acknowledged_at``; a
    resolution or a new episode moves ``updated_at`` on.
    """
    return (
        _epoch(doc.get("updated_at")),
        1 if doc.get("status") == "resolved" else 0,
        _epoch(doc.get("acknowledged_at")),
    )


class AlertBoard:
    """The alerts the console shows, by dedup key, newest first; bounded.

    Every firing alert is kept; of the resolved ones only the ``keep_resolved``
    most recently updated, so a long-running worker does not grow without end.
    """

    def __init__(self, keep_resolved: int = 500) -> None:
        self.keep_resolved = keep_resolved
        self._alerts: dict[str, dict[str, Any]] = {}
        # keys of the views that are not firing: trimming looks at these alone, not at every
        # firing alert of the book (a scan of all of them per message was 12% of a loaded worker)
        self._resolved: dict[str, None] = {}

    def _put(self, key: str, view: dict[str, Any]) -> None:
        self._alerts[key] = view
        if view.get("status") != "firing":
            self._resolved[key] = None
        else:
            self._resolved.pop(key, None)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._alerts.get(key)

    def apply_feed(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        """A message from ``risk.alerts``: it supersedes what the board has (the feed is ordered per key)."""
        key = doc.get("dedup_key")
        if not isinstance(key, str) or doc.get("level") not in LEVELS:
            return None
        view = alert_view(doc)
        self._put(key, view)
        self._trim()
        return view

    def reconcile(self, docs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The manager's saved alerts; each replaces the board's copy only when further along.

        Returns those that did."""
        changed = []
        for doc in docs:
            key = doc.get("dedup_key")
            if not isinstance(key, str) or doc.get("level") not in LEVELS:
                continue
            mine = self._alerts.get(key)
            if mine is None or progress(doc) > progress(mine):
                view = alert_view(doc)
                self._put(key, view)
                changed.append(view)
        if changed:
            self._trim()
        return [view for view in changed if view["dedup_key"] in self._alerts]

    def alerts(self) -> list[dict[str, Any]]:
        """Firing first, then by level (most severe first), then most recently updated."""
        return sorted(
            self._alerts.values(),
            key=lambda a: (a.get("status") != "firing", -LEVELS.index(a["level"]), -progress(a)[0]),
        )

    def open_by_level(self) -> dict[str, int]:
        counts = {level: 0 for level in LEVELS}
        for a in self._alerts.values():
            if a.get("status") == "firing":
                counts[a["level"]] += 1
        return counts

    def _trim(self) -> None:
        if len(self._resolved) <= self.keep_resolved:
            return
        resolved = sorted((self._alerts[k] for k in self._resolved), key=progress)
        for a in resolved[: len(resolved) - self.keep_resolved]:
            del self._alerts[a["dedup_key"]]
            del self._resolved[a["dedup_key"]]


class DecisionRing:
    """The most recent decisions, kept as raw bytes and decoded only when someone looks.

    Why raw: every worker's console sees every decision, but few have a
    browser attached; parsing only for a snapshot or a connected page keeps
    the console's cost off the decision path's CPU.
    """

    def __init__(self, size: int = 100) -> None:
        self._raw: deque[bytes] = deque(maxlen=size)

    def add(self, raw: bytes) -> None:
        self._raw.append(raw)

    def views(self, decode: Any) -> list[dict[str, Any]]:
        """Newest first; undecodable entries are skipped."""
        out = []
        for raw in reversed(self._raw):
            try:
                doc = decode(raw)
            except Exception:
                continue
            if isinstance(doc, dict):
                out.append(decision_view(doc))
        return out
