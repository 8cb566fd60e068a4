"""The alert manager's state in Redis: open alerts, groups, silences, delivered notifications.

Redis is an accelerator here, not the source of truth. The manager works
from memory and writes its changes after each batch's messages were
acknowledged; on start it loads what Redis has. If Redis is wiped or down,
the manager starts empty and may notify an open alert again: the
notification carries the same deterministic group key (PagerDuty's
``dedup_key``, Alertmanager's label set), so receivers fold it into the
incident already open instead of opening a second one.

Keys (hash fields carry identifiers only; no personal data anywhere):
``<ns>:alerts:state`` (dedup_key -> state), ``<ns>:alerts:groups``,
``<ns>:alerts:silences``, ``<ns>:alerts:delivered:<receiver>:<notification_id>``
(with a TTL), and ``<ns>:exposure`` (customer id -> outstanding exposure,
with field ``__total__`` for the whole book) written by the portfolio watch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from riskmon.alerting.model import AlertState, GroupState
from riskmon.alerting.silences import Silence

__all__ = ["AlertStateStore", "EXPOSURE_TOTAL"]

log = logging.getLogger(__name__)

EXPOSURE_TOTAL = "__total__"
_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:  # redis is a dependency; the import stays local to this I/O module
    from redis.exceptions import RedisError

    _ERRORS = (RedisError, OSError)
except ImportError:  # pragma: no cover
    pass


class AlertStateStore:
    """Async Redis persistence of :class:`~riskmon.alerting.manager.AlertManager` state; never raises."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._client = client
        self._ns = namespace

    def key(self, name: str) -> str:
        return f"{self._ns}:{name}"

    async def load(self) -> tuple[dict[str, AlertState], dict[str, GroupState], dict[str, Silence]] | None:
        """Everything saved, or None when Redis cannot be read."""
        try:
            pipe = self._client.pipeline(transaction=False)
            for name in ("alerts:state", "alerts:groups", "alerts:silences"):
                pipe.hgetall(self.key(name))
            raw_states, raw_groups, raw_silences = await pipe.execute()
        except _ERRORS as exc:
            log.warning("alert state not loaded from Redis (%s); starting from what the stream brings", exc)
            return None
        states = {k.decode(): AlertState.from_dict(orjson.loads(v)) for k, v in raw_states.items()}
        groups = {k.decode(): GroupState.from_dict(orjson.loads(v)) for k, v in raw_groups.items()}
        silences = {k.decode(): Silence.from_dict(orjson.loads(v)) for k, v in raw_silences.items()}
        return states, groups, silences

    async def states(self, keys: list[str]) -> dict[str, AlertState] | None:
        """The saved states of ``keys`` (those Redis has and can be read), or None when Redis cannot be read."""
        if not keys:
            return {}
        try:
            values = await self._client.hmget(self.key("alerts:state"), keys)
        except _ERRORS as exc:
            log.warning("alert states not read from Redis (%s)", exc)
            return None
        found: dict[str, AlertState] = {}
        for key, value in zip(keys, values, strict=True):
            if value is None:
                continue
            try:
                found[key] = AlertState.from_dict(orjson.loads(value))
            except Exception as exc:  # a damaged entry: treated as absent, never fails the batch
                log.warning("alert state %s in Redis is unreadable (%s); treated as absent", key, exc)
        return found

    async def save(
        self, states: Mapping[str, AlertState], groups: Mapping[str, GroupState], silences: Mapping[str, Silence]
    ) -> bool:
        """Write changed entries in one round trip; False when Redis is unavailable."""
        if not (states or groups or silences):
            return True
        try:
            pipe = self._client.pipeline(transaction=False)
            if states:
                pipe.hset(self.key("alerts:state"), mapping={k: orjson.dumps(v.to_dict()) for k, v in states.items()})
            if groups:
                pipe.hset(self.key("alerts:groups"), mapping={k: orjson.dumps(v.to_dict()) for k, v in groups.items()})
            if silences:
                pipe.hset(
                    self.key("alerts:silences"), mapping={k: orjson.dumps(v.to_dict()) for k, v in silences.items()}
                )
            await pipe.execute()
            return True
        except _ERRORS as exc:
            log.warning("alert state not saved to Redis (%s); memory stays authoritative", exc)
            return False

    async def forget(self, states: list[str], groups: list[str]) -> None:
        """Delete pruned entries (see :meth:`AlertManager.prune`); best effort."""
        try:
            pipe = self._client.pipeline(transaction=False)
            if states:
                pipe.hdel(self.key("alerts:state"), *states)
            if groups:
                pipe.hdel(self.key("alerts:groups"), *groups)
            if states or groups:
                await pipe.execute()
        except _ERRORS as exc:
            log.warning("pruned alert state not deleted from Redis (%s)", exc)

    async def exposures(self, customer_ids: list[str]) -> tuple[dict[str, float], float | None]:
        """Outstanding exposure of ``customer_ids`` and of the whole book (empty when unknown)."""
        if not customer_ids:
            return {}, None
        try:
            values = await self._client.hmget(self.key("exposure"), [*customer_ids, EXPOSURE_TOTAL])
        except _ERRORS:
            return {}, None
        out = {c: float(v) for c, v in zip(customer_ids, values[:-1], strict=True) if v is not None}
        return out, float(values[-1]) if values[-1] is not None else None
