"""Silences: an operator mutes matching alerts for a while, with author and reason.

A silenced alert still reaches the feed (``risk.alerts``, with
``suppressed_by: "silence:<id>"``) so nobody loses sight of it; receivers
are not notified. Silences are created and expired from the command line
(``riskmon silence``) or the console; they travel to the manager as control
messages, so they are ordered with the alerts they mute.

>>> s = Silence.create(matcher={"detector": ("txn_anomaly",)}, starts_at=0.0, ends_at=3600.0,
...                    author="ops-anna", comment="known merchant outage", created_at=0.0)
>>> s.id, s.active(10.0), s.active(3600.0)
('sil-52d4bb687e644cb6', True, False)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from riskmon.alerting.matchers import matches
from riskmon.alerting.model import Item, Reason
from riskmon.schemas import Alert

__all__ = ["Silence", "SilenceStage", "parse_matcher"]

_FIELDS = ("level", "detector", "subject_kind", "subject_id", "dedup_key")


def parse_matcher(text: str) -> dict[str, tuple[str, ...]]:
    """``"detector=txn_anomaly,level=warning|info"`` -> ``{detector: (txn_anomaly,), level: (warning, info)}``.

    >>> parse_matcher("detector=cash_24h,level=warning|critical")
    {'detector': ('cash_24h',), 'level': ('warning', 'critical')}
    >>> parse_matcher("name=x")
    Traceback (most recent call last):
    ...
    ValueError: matcher field 'name' must be one of level, detector, subject_kind, subject_id,
      dedup_key or labels.<name>
    """
    out: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, values = part.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            raise ValueError(f"matcher {part!r} must look like field=value or field=a|b")
        if name not in _FIELDS and not (name.startswith("labels.") and len(name) > 7):
            raise ValueError(f"matcher field {name!r} must be one of {', '.join(_FIELDS)} or labels.<name>")
        out[name] = tuple(v.strip() for v in values.split("|") if v.strip())
    if not out:
        raise ValueError("a silence needs at least one matcher (field=value)")
    return out


@dataclass(frozen=True)
class Silence:
    id: str
    matcher: Mapping[str, tuple[str, ...]]
    starts_at: float
    ends_at: float
    author: str
    comment: str
    created_at: float

    @classmethod
    def create(
        cls,
        *,
        matcher: Mapping[str, tuple[str, ...]],
        starts_at: float,
        ends_at: float,
        author: str,
        comment: str,
        created_at: float,
    ) -> Silence:
        """A new silence; its id is derived from its content, so a resent request is one silence."""
        if not author.strip() or not comment.strip():
            raise ValueError("a silence needs an author and a reason")
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        material = orjson.dumps(
            {
                "m": {k: list(v) for k, v in matcher.items()},
                "s": starts_at,
                "e": ends_at,
                "a": author,
                "c": comment,
                "t": created_at,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return cls(
            id="sil-" + hashlib.sha256(material).hexdigest()[:16],
            matcher=dict(matcher),
            starts_at=starts_at,
            ends_at=ends_at,
            author=author,
            comment=comment,
            created_at=created_at,
        )

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def expire(self, now: float) -> Silence:
        return replace(self, ends_at=min(self.ends_at, now))

    def mutes(self, alert: Alert, now: float) -> bool:
        return self.active(now) and matches(self.matcher, alert)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "matcher": {k: list(v) for k, v in self.matcher.items()},
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "author": self.author,
            "comment": self.comment,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Silence:
        return cls(
            id=d["id"],
            matcher={k: tuple(v) for k, v in d["matcher"].items()},
            starts_at=float(d["starts_at"]),
            ends_at=float(d["ends_at"]),
            author=d["author"],
            comment=d["comment"],
            created_at=float(d["created_at"]),
        )


class SilenceStage:
    """Firing alerts that would notify but match an active silence are published, not notified."""

    def exec(self, ctx: Any, items: list[Item]) -> list[Item]:
        for item in items:
            if item.reason is None or not item.reason.notifies or item.alert.status != "firing":
                continue
            silence = next((s for s in ctx.silences.values() if s.mutes(item.alert, ctx.wall_now)), None)
            if silence is None:
                continue
            mark = f"silence:{silence.id}"
            state = ctx.states.get(item.alert.dedup_key)
            if state is not None and state.suppressed_by == mark and item.reason is not Reason.LEVEL_CHANGED:
                item.decide(Reason.DUPLICATE, f"still silenced by {silence.id}")
            else:
                item.decide(Reason.SILENCED, f"silenced by {silence.id} ({silence.author}: {silence.comment})", mark)
        return items
