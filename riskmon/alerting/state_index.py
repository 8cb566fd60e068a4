"""The manager's alert states, with the firing ones indexed by level.

Why: inhibition asks, for every notifying warning, "is a critical firing on
the same subject?", and the quiet-period tick asks "which firing alerts have
gone quiet?". Answered by scanning every alert state, both grew with the book:
at a few thousand open customer alerts the inhibition scan alone was a third
of a loaded worker's time (py-spy), and the 1,000,000-event run slowed from
1,380 to under 300 events/s as alerts accumulated. The firing alerts at one
level are few; the index keeps them apart as states change, whatever writes
them (the manager's commit and prune, or a load from Redis).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping

from riskmon.alerting.model import AlertState

__all__ = ["IndexedStates"]


class IndexedStates(MutableMapping[str, AlertState]):
    """A dict of alert states by dedup key that also knows its firing keys per level.

    >>> from riskmon.alerting.model import AlertState
    >>> states = IndexedStates()
    >>> len(states), list(states.firing("critical"))
    (0, [])
    """

    def __init__(self, states: Mapping[str, AlertState] | Iterable[tuple[str, AlertState]] = ()) -> None:
        self._states: dict[str, AlertState] = {}
        self._firing: dict[str, dict[str, None]] = {}  # level -> firing dedup keys, in the order they fired
        self.update(states)

    def __getitem__(self, key: str) -> AlertState:
        return self._states[key]

    def __setitem__(self, key: str, state: AlertState) -> None:
        old = self._states.get(key)
        if old is not None and old.firing and (not state.firing or old.alert.level != state.alert.level):
            self._firing[old.alert.level].pop(key, None)
        self._states[key] = state
        if state.firing:
            self._firing.setdefault(state.alert.level, {})[key] = None

    def __delitem__(self, key: str) -> None:
        old = self._states.pop(key)
        if old.firing:
            self._firing[old.alert.level].pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, key: object) -> bool:
        return key in self._states

    def get(self, key: str, default: AlertState | None = None) -> AlertState | None:  # type: ignore[override]
        return self._states.get(key, default)

    def firing(self, level: str | None = None) -> list[str]:
        """Keys of the firing alerts at ``level`` (every level when None), oldest first per level."""
        if level is not None:
            return list(self._firing.get(level, ()))
        return [key for keys in self._firing.values() for key in keys]
