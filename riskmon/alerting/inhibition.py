"""Inhibition: while a critical alert fires on a subject, its warnings and infos stay quiet.

A customer whose cash-out is critical does not need a second page for the
velocity warning that came with it. The muted alert is still published to
the feed, with ``suppressed_by: "inhibited:<dedup_key of the critical>"``.
Rules (``alerting.inhibit``) name the source level, the target levels and
the fields that must be equal (``subject`` by default).
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from riskmon.alerting.matchers import field_value
from riskmon.alerting.model import Item, Reason
from riskmon.alerting.state_index import IndexedStates

__all__ = ["InhibitStage"]


class InhibitStage:
    """Mute alerts that a firing alert of a higher level inhibits (see module doc).

    The sources are looked up among the firing alerts at the rule's source
    level (:class:`~riskmon.alerting.state_index.IndexedStates`), not by
    scanning every alert state per candidate: with thousands of open customer
    alerts that scan was a third of a loaded worker's time.
    """

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
        """The first firing alert at the rule's source level that agrees on the ``equal`` fields."""
        wanted = [(name, field_value(item.alert, name)) for name in rule.equal]
        for key in _firing_keys(ctx.states, rule.source_level):
            state = ctx.states.get(key)
            if state is None or key == item.alert.dedup_key:
                continue
            a = state.alert
            if a.status != "firing" or a.level != rule.source_level:
                continue
            if all(field_value(a, name) == value for name, value in wanted):
                return key
        return None


def _firing_keys(states: Any, level: str) -> list[str]:
    """Keys that may hold a firing alert at ``level``: the index of the committed
    states, then whatever this batch wrote on top (callers re-check each state)."""
    maps = states.maps if isinstance(states, ChainMap) else [states]
    keys: dict[str, None] = {}
    for m in reversed(maps):
        if isinstance(m, IndexedStates):
            keys.update(dict.fromkeys(m.firing(level)))
        else:
            keys.update(dict.fromkeys(m))
    return list(keys)
