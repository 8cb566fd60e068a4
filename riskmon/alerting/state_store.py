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
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from riskmon.alerting.model import AlertState, GroupState
from riskmon.alerting.silences import Silence
from riskmon.keyspace import is_cluster_namespace
from riskmon.pipeline import cluster_batches
from riskmon.pipeline.profile_lua import SET_OPEN_ALERT
from riskmon.pipeline.store import clock_entry, queue_script
from riskmon.profile import clock_key, risk_key
from riskmon.redis_clients import REDIS_ERRORS

__all__ = ["AlertStateStore", "EXPOSURE_TOTAL"]

log = logging.getLogger(__name__)

EXPOSURE_TOTAL = "__total__"
_ERRORS = REDIS_ERRORS


#: The customers' open alerts in their risk profiles (``alerts``: JSON detector -> level),
#: changed in place by each published alert: KEYS are the profile keys then the
#: clock key, ARGV the profile TTL and the clock entry, then pairs (detector,
#: level, '' when the alert resolved).
PROFILE_ALERTS_LUA = (
    SET_OPEN_ALERT
    + """
local ttl = ARGV[1]
local n = #KEYS - 1
for i = 1, n do
  local j = (i - 1) * 2 + 3
  set_open_alert(KEYS[i], ARGV[j], ARGV[j + 1])
  redis.call('EXPIRE', KEYS[i], ttl)
end
redis.call('HSET', KEYS[#KEYS], 'alerts', ARGV[2])
return n
"""
)


class AlertStateStore:
    """Async Redis persistence of :class:`~riskmon.alerting.manager.AlertManager` state; never raises.

    It also keeps the customers' open alerts in their risk profiles
    (:mod:`riskmon.profile`), in the same round trip as the state.
    """

    def __init__(self, client: Any, namespace: str, *, profile_ttl_seconds: int = 400 * 86400) -> None:
        self._client = client
        self._ns = namespace
        self._profile_ttl = profile_ttl_seconds
        self._profile_script = client.register_script(PROFILE_ALERTS_LUA)

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
        self,
        states: Mapping[str, AlertState],
        groups: Mapping[str, GroupState],
        silences: Mapping[str, Silence],
        *,
        profiles: Sequence[tuple[str, str, str | None]] = (),
        oldest: float | None = None,
    ) -> bool:
        """Write changed entries in one round trip; False when Redis is unavailable.

        ``profiles`` are (customer, detector, level or None when resolved): the
        published customer alerts, applied to the customers' risk profiles in
        the same round trip; ``oldest`` is their batch's oldest broker
        timestamp, for the profile clock.
        """
        if not (states or groups or silences or profiles):
            return True
        try:
            pipe = self._client.pipeline(transaction=False)
            if profiles:
                now = time.time()
                keys = [risk_key(self._ns, customer) for customer, _, _ in profiles] + [clock_key(self._ns)]
                args: list[Any] = [self._profile_ttl, clock_entry(oldest, now)]
                for _, detector, level in profiles:
                    args += (detector, level or "")
                if is_cluster_namespace(self._ns):
                    cluster_batches.queue_open_alerts(pipe, keys, args)
                else:
                    queue_script(pipe, self._profile_script, keys, args)
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
