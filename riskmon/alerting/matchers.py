"""Which alerts a matcher names: the one matching rule shared by routes, silences and inhibition.

A matcher maps a field to its alternatives: ``{"level": ("critical",),
"detector": ("txn_velocity", "cash_24h")}`` matches an alert whose level is
critical and whose detector is either. Fields: ``level``, ``detector``,
``subject_kind``, ``subject_id``, ``dedup_key``, ``labels.<name>``.

>>> from riskmon.detectors import build_alert
>>> a = build_alert(detector="cash_24h", subject={"kind": "customer", "id": "c-1"}, level="warning",
...                 status="firing", summary="s", started_at=0, updated_at=0, config_version="v")
>>> matches({"level": ("warning", "critical"), "subject_kind": ("customer",)}, a)
True
>>> matches({"labels.config_version": ("other",)}, a)
False
"""

from __future__ import annotations

from collections.abc import Mapping

from riskmon.schemas import Alert

__all__ = ["field_value", "matches"]


def field_value(alert: Alert, name: str) -> str | None:
    """The value of one matchable field of ``alert`` (None when a label is absent)."""
    if name == "level":
        return alert.level
    if name == "detector":
        return alert.detector
    if name == "subject_kind":
        return alert.subject.kind
    if name == "subject_id":
        return alert.subject.id
    if name == "subject":
        return f"{alert.subject.kind}:{alert.subject.id}"
    if name == "dedup_key":
        return alert.dedup_key
    if name.startswith("labels."):
        return alert.labels.get(name[len("labels.") :])
    raise ValueError(f"unknown alert field {name!r}")


def matches(matcher: Mapping[str, tuple[str, ...]], alert: Alert) -> bool:
    """True when every field of ``matcher`` has one of its values (an empty matcher matches all)."""
    return all(field_value(alert, name) in values for name, values in matcher.items())
