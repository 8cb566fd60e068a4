"""What every stage reads and writes: the clock, the configuration, the state, the outputs.

The clock is a number passed in (``now``), never read from the system, so
tests control time exactly (Alertmanager passes its clock the same way).
``states`` and ``groups`` are overlays over the committed state: stages write
new frozen values into the overlay, and the manager commits it only after the
batch's messages were acknowledged by the broker.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from riskmon.alerting.config import AlertingConfig
from riskmon.alerting.model import AlertState, GroupState, Notification
from riskmon.alerting.silences import Silence

__all__ = ["Context"]


@dataclass
class Context:
    now: float
    config: AlertingConfig
    states: MutableMapping[str, AlertState] = field(default_factory=dict)
    groups: MutableMapping[str, GroupState] = field(default_factory=dict)
    silences: Mapping[str, Silence] = field(default_factory=dict)
    #: customer id -> outstanding exposure; ``portfolio_exposure`` is the whole book's.
    exposures: Mapping[str, float] = field(default_factory=dict)
    portfolio_exposure: float | None = None
    notifications: list[Notification] = field(default_factory=list)
    routed: int = 0  # notifications[:routed] already have their receivers
    #: Operators' time (silences start and end on the wall clock even when a
    #: backlog of older events is replayed); defaults to ``now``.
    wall: float | None = None

    @property
    def wall_now(self) -> float:
        return self.now if self.wall is None else self.wall

    @classmethod
    def overlay(
        cls,
        now: float,
        config: AlertingConfig,
        states: MutableMapping[str, AlertState],
        groups: MutableMapping[str, GroupState],
        **kwargs: object,
    ) -> Context:
        """A context whose writes land in fresh top maps over ``states`` and ``groups``."""
        return cls(now=now, config=config, states=ChainMap({}, states), groups=ChainMap({}, groups), **kwargs)  # type: ignore[arg-type]

    def changes(self) -> tuple[dict[str, AlertState], dict[str, GroupState]]:
        """What the stages wrote (for an overlay context)."""
        states = self.states.maps[0] if isinstance(self.states, ChainMap) else dict(self.states)
        groups = self.groups.maps[0] if isinstance(self.groups, ChainMap) else dict(self.groups)
        return dict(states), dict(groups)
