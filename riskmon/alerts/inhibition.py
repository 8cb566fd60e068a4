"""Inhibition: while a critical alert fires on a subject, its warnings and infos stay quiet.

A customer whose cash-out is critical does not need a second page for the
velocity warning that came with it. The muted alert is still published to
the feed, with ``suppressed_by: "inhibited:<dedup_key of the critical>"``.
Rules (``alerting.inhibit``) name the source level, the target levels and
the fields that must be equal (``subject`` by default).
"""

from __future__ import annotations

from typing import Any

from riskmon.alerts.matchers import field_value
from riskmon.alerts.model import Item, Reason

__all__ = ["InhibitStage"]


class InhibitStage:
    """Mute alerts that a firing alert of a higher level inhibits (see module doc)."""

    def exec(self, ctx: Any, items: list[Item]) -> list[Item]:
        rules = ctx.config.inhibit
        candidates = [i for i in items if i.reason is not None and i.reason.notifies and i.alert.status == "firing"]
        if not rules or not candidates:
            return items
        for item in candidates:
            for rule in rules:
                if item.alert.level not in rule.target_levels:
                    continue
                source = self._source(ctx, item, rule)
                if source is None:
                    continue
                mark = f"inhibited:{source}"
                state = ctx.states.get(item.alert.dedup_key)
                previous = state.suppressed_by if state is not None else None
                if previous == mark and item.reason is not Reason.LEVEL_CHANGED:
                    item.decide(Reason.DUPLICATE, f"still inhibited by {source}")
                else:
                    item.decide(Reason.INHIBITED, f"inhibited by firing {rule.source_level} {source}", mark)
                break
        return items

    @staticmethod
    def _source(ctx: Any, item: Item, rule: Any) -> str | None:
        wanted = [(name, field_value(item.alert, name)) for name in rule.equal]
        for key, state in ctx.states.items():
            a = state.alert
            if key == item.alert.dedup_key or a.status != "firing" or a.level != rule.source_level:
                continue
            if all(field_value(a, name) == value for name, value in wanted):
                return key
        return None
