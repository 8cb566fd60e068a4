"""Redis memory of decisions already made: exactly one decision per application.

Kafka delivers at least once: after a crash or a rebalance the worker sees an
application again, and a producer may send the same application twice. The
store makes the second time harmless:

1. Before sending, the exact bytes of a new decision are reserved under
   ``riskmon:decision:<application_id>`` with ``SET NX``. If a decision is
   already there, that stored one is used, so a re-send is byte-identical.
2. After the broker acknowledged the batch, ``riskmon:delivered:<id>`` marks
   it delivered; a later copy of the application is then skipped.

Also kept: ``riskmon:profile:<customer_id>``, the latest decision summary per
customer for approval services. Keys hold identifiers only, never personal
data. Every round trip is one pipeline per batch. A topic prefix (an
environment such as ``staging.``) also prefixes the keys, ``riskmon:staging:...``,
so environments sharing a Redis never see each other's decisions.

Redis is an accelerator, not the source of truth. When it is unreachable the
store reports itself *degraded* (the policy then holds approvals for review),
skips Redis for a short back-off instead of paying a timeout per batch, and the
deterministic ``decision_id`` still lets consumers drop duplicates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from riskmon.keyspace import cluster_namespace, entity_key, is_cluster_namespace
from riskmon.pipeline import cluster_batches
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.profile_lua import KEEP_APPROVAL
from riskmon.profile import CustomerProfile, clock_key, profile_from_redis, risk_key
from riskmon.profile.fields import APPROVALS, last_decision_key
from riskmon.profile.profile import clock_delays
from riskmon.redis_clients import REDIS_ERRORS, async_client, is_cluster_url

__all__ = ["UNAVAILABLE", "DecisionStore", "Delivered", "Lookup", "clock_entry", "key_namespace", "queue_script"]

log = logging.getLogger(__name__)

#: How long an input's dead-letter mark is kept (a week).
DEADLETTER_MARK_SECONDS = 7 * 86400

#: What :attr:`DecisionStore.degraded` says while Redis is unusable.
UNAVAILABLE = "decision state store (Redis) unavailable"


#: Reserve a batch's decisions in one command: ``SET NX EX`` each, and for
#: those that lost, the bytes that won (nil where ours won). One script per
#: batch rather than a pipeline of a command per application: redis-py's cost
#: is per command (packing, parsing), Redis's is not.
RESERVE_LUA = """
local ttl = ARGV[1]
local won = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[i + 1], 'NX', 'EX', ttl) then
    won[i] = false
  else
    won[i] = redis.call('GET', key)
  end
end
return won
"""

#: Look a batch up in one command: its applications' stored decisions and
#: delivery marks, its customers' latest-decision summaries and risk profiles,
#: their exposures and the profile clock. KEYS: n decision keys, n delivered
#: keys, m summary keys (all read with GET), m profile keys, the exposure book,
#: the clock; ARGV: n, then the m customer ids. One command, not one per
#: customer: redis-py's cost is per command. Missing values come back as false
#: (nil cannot sit in a Lua table).
LOOKUP_LUA = """
local n = tonumber(ARGV[1])
local m = #ARGV - 1
local strings = 2 * n + m
local out = {}
for i = 1, strings do
  out[i] = redis.call('GET', KEYS[i]) or false
end
for i = 1, m do
  out[strings + i] = redis.call('HGETALL', KEYS[strings + i])
end
local exposures = {}
for i = 1, m do
  exposures[i] = redis.call('HGET', KEYS[strings + m + 1], ARGV[i + 1]) or false
end
out[strings + m + 1] = exposures
out[strings + m + 2] = redis.call('HGETALL', KEYS[strings + m + 2])
return out
"""

#: Confirm a batch's deliveries in one command. KEYS come in fours per
#: application (delivered mark, latest-decision summary, feature snapshot,
#: the customer's risk profile), then the profile clock; ARGV is the TTL, the
#: hold window (seconds), now (epoch seconds) and the clock entry, then per
#: application its summary, its snapshot ('' for none: a snapshot is never
#: overwritten, the first one is what the models saw) and, for an approval,
#: its entry in the profile's recent approvals ('' otherwise). Approvals older
#: than the window leave the list, which keeps at most 20.
CONFIRM_LUA = (
    KEEP_APPROVAL
    + """
local ttl = ARGV[1]
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local n = #KEYS - 1
for i = 1, n, 4 do
  local j = (i - 1) / 4 * 3 + 5
  redis.call('SET', KEYS[i], '1', 'EX', ttl)
  redis.call('SET', KEYS[i + 1], ARGV[j], 'EX', ttl)
  if ARGV[j + 1] ~= '' then
    redis.call('SET', KEYS[i + 2], ARGV[j + 1], 'NX', 'EX', ttl)
  end
  if ARGV[j + 2] ~= '' and window > 0 then
    keep_approval(KEYS[i + 3], ARGV[j + 2], window, now)
  end
  redis.call('EXPIRE', KEYS[i + 3], ttl)
end
redis.call('HSET', KEYS[#KEYS], 'decisions', ARGV[4])
return n / 4
"""
)


def key_namespace(topic_prefix: str, redis_url: str = "") -> str:
    """The Redis key prefix for a topic prefix; hash-tagged when ``redis_url`` is a Redis Cluster's
    (:mod:`riskmon.keyspace`).

    >>> key_namespace(""), key_namespace("staging."), key_namespace("staging.", "redis+cluster://h:7000")
    ('riskmon', 'riskmon:staging', '{riskmon:staging}')
    """
    cleaned = topic_prefix.strip(".:")
    namespace = f"riskmon:{cleaned}" if cleaned else "riskmon"
    return cluster_namespace(namespace) if is_cluster_url(redis_url) else namespace


def _pairs(flat: Sequence[Any]) -> dict[Any, Any]:
    """A Lua ``HGETALL`` reply (``[field, value, ...]``) as a mapping."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def queue_script(pipe: Any, script: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """Queue a registered Lua script in a pipeline; the pipeline loads it first if Redis does not know it yet.

    (redis-py's ``script(keys, args, client=pipe)`` does the same, but as a coroutine.)
    """
    pipe.scripts.add(script)
    pipe.evalsha(script.sha, len(keys), *keys, *args)


def clock_entry(oldest: float | None, now: float) -> bytes:
    """A profile writer's entry in ``<ns>:risk-clock``: its batch's delay (from ``oldest``, the batch's
    oldest broker timestamp; 0 when unknown) and when it wrote.

    >>> clock_entry(1_799_999_999.75, 1_800_000_000.0)
    b'[0.25,1800000000.0]'
    """
    delay = 0.0 if oldest is None else max(0.0, now - oldest)
    return orjson.dumps([round(delay, 3), round(now, 3)])


@dataclass(frozen=True, slots=True)
class Delivered:
    """One decision the broker acknowledged, as :meth:`DecisionStore.confirm` records it."""

    application_id: str
    customer_id: str
    summary: bytes  # the latest-decision summary (JSON, no personal data)
    snapshot: bytes | None  # the feature snapshot (JSON), None when nothing was scored
    approval: bytes | None = None  # for an approval, its entry in the profile's recent approvals (JSON)
    produced_at: float | None = None  # the application's broker timestamp (epoch seconds)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What Redis knows about one application."""

    stored: bytes | None
    delivered: bool


class DecisionStore:
    """Reserve, look up and confirm decisions in Redis, one pipeline per batch."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: int,
        namespace: str = "riskmon",
        backoff_seconds: float = 5.0,
        timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = async_client(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        #: On a Redis Cluster no call may touch two hash slots: batches go as
        #: pipelines of single-slot commands (riskmon.pipeline.cluster_batches).
        self.cluster = is_cluster_url(url)
        if self.cluster and not is_cluster_namespace(namespace):
            namespace = cluster_namespace(namespace)
        self._ttl = ttl_seconds
        self._ns = namespace
        self._backoff = backoff_seconds
        self._clock = clock
        self._down_until = 0.0
        self.last_error: str | None = None
        self._reserve_script = self._client.register_script(RESERVE_LUA)
        self._confirm_script = self._client.register_script(CONFIRM_LUA)
        self._lookup_script = self._client.register_script(LOOKUP_LUA)

    def key(self, kind: str, entity_id: str) -> str:
        """The key of one application's ``kind`` of state (decision, delivered, features, labelled...)."""
        return entity_key(self._ns, kind, entity_id)

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys`` in one round trip: one MGET on one server; on a cluster,
        where the keys span slots, one GET per key sent to each node at once. Raises
        Redis's errors (``REDIS_ERRORS``): the callers degrade each in their own way."""
        if self.cluster:
            return list(await self._client.mget_nonatomic(list(keys)))
        return list(await self._client.mget(list(keys)))

    @property
    def client(self) -> aioredis.Redis:
        """The shared connection pool (the model registry uses it too)."""
        return self._client

    @property
    def namespace(self) -> str:
        return self._ns

    @property
    def ttl_seconds(self) -> int:
        """How long decisions, snapshots and customer profiles are kept after their last write."""
        return self._ttl

    @property
    def degraded(self) -> str | None:
        """Why the store is unusable right now, or None when it is healthy."""
        if self._clock() < self._down_until:
            return UNAVAILABLE
        return None

    def _failed(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._clock() >= self._down_until:
            log.warning(
                "Redis unavailable (%s); holding approvals for review for %.0fs", self.last_error, self._backoff
            )
        self._down_until = self._clock() + self._backoff

    async def _pipeline(self, fill: Callable[[Any], None]) -> list[Any] | None:
        """One round trip: ``fill`` queues commands; None when Redis is down (and
        the store then backs off), so every caller degrades the same way."""

        async def run() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            return await pipe.execute()

        return await self._guarded(run)

    async def _guarded(self, call: Callable[[], Awaitable[Any]]) -> Any | None:
        """``call()``'s result; None when Redis is down or fails (the store then backs off)."""
        if self.degraded:
            return None
        try:
            return await call()
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return None

    async def lookup(self, application_ids: Sequence[str]) -> list[Lookup] | None:
        """Stored decision bytes and delivery marks; None when Redis is down."""
        if not application_ids:
            return None if self.degraded else []

        decisions = [self.key("decision", app_id) for app_id in application_ids]
        marks = [self.key("delivered", app_id) for app_id in application_ids]

        def fill(pipe: Any) -> None:
            # one server: two MGETs, not two commands per application (redis-py's cost is per command);
            # a cluster: a GET per key (an MGET must stay within one slot)
            cluster_batches.queue_mget(pipe, decisions, cluster=self.cluster)
            cluster_batches.queue_mget(pipe, marks, cluster=self.cluster)

        raw = await self._pipeline(fill)
        if raw is None:
            return None
        stored, delivered = cluster_batches.split_mgets(raw, [len(decisions), len(marks)], cluster=self.cluster)
        return [Lookup(value, mark is not None) for value, mark in zip(stored, delivered, strict=True)]

    async def reserve(self, entries: Sequence[tuple[str, bytes]]) -> list[bytes] | None:
        """Store each new decision unless one exists; return the bytes to send.

        The returned bytes are the stored ones: ours when the reservation won,
        the earlier decision when another attempt got there first.
        """
        if not entries:
            return None if self.degraded else []

        keys = [self.key("decision", app_id) for app_id, _ in entries]
        args = [self._ttl, *(value for _, value in entries)]
        if self.cluster:
            raw = await self._pipeline(lambda pipe: cluster_batches.queue_reserve(pipe, keys, args))
        else:
            raw = await self._guarded(lambda: self._reserve_script(keys=keys, args=args))
        if raw is None:
            return None
        return [stored if stored is not None else value for stored, (_, value) in zip(raw, entries, strict=True)]

    async def confirm(
        self, delivered: Sequence[Delivered | tuple[str, str, bytes, bytes | None]], *, hold_window_seconds: float = 0.0
    ) -> bool:
        """Mark decisions delivered, keep feature snapshots, and update each customer's profile:
        the latest-decision summary (``<ns>:profile:<customer>``) and, for approvals,
        the risk profile's recent approvals (kept
        ``hold_window_seconds``). The feature snapshot is what the models saw at
        decision time; the label path joins repayments with it later.
        """
        if not delivered:
            return not self.degraded
        entries = [d if isinstance(d, Delivered) else Delivered(*d) for d in delivered]
        now = time.time()
        oldest = min((d.produced_at for d in entries if d.produced_at is not None), default=None)
        keys: list[str] = []
        args: list[Any] = [self._ttl, hold_window_seconds, now, clock_entry(oldest, now)]
        for d in entries:
            keys += (
                self.key("delivered", d.application_id),
                last_decision_key(self._ns, d.customer_id),
                self.key("features", d.application_id),
                risk_key(self._ns, d.customer_id),
            )
            args += (d.summary, d.snapshot if d.snapshot is not None else b"", d.approval or b"")
        keys.append(clock_key(self._ns))
        if self.cluster:
            return await self._pipeline(lambda pipe: cluster_batches.queue_confirm(pipe, keys, args)) is not None
        return await self._guarded(lambda: self._confirm_script(keys=keys, args=args)) is not None

    async def approvals(self, customer_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]] | None:
        """Each customer's recent approvals from its risk profile (for holds); None when Redis is down."""

        def fill(pipe: Any) -> None:
            for customer in customer_ids:
                pipe.hget(risk_key(self._ns, customer), APPROVALS)

        raw = await self._pipeline(fill)
        if raw is None:
            return None
        out: dict[str, list[dict[str, Any]]] = {}
        for customer, value in zip(customer_ids, raw, strict=True):
            if value:  # read as the application path reads it: unreadable entries are left out
                out[customer] = [dict(a) for a in profile_from_redis({APPROVALS: value}).approvals]
        return out

    def _deadletter_key(self, message: Incoming) -> str:
        return self.key("deadlettered", f"{message.topic}:{message.partition}:{message.offset}")

    async def deadletter_sent(self, message: Incoming) -> bool:
        """Whether ``message``'s dead letter was delivered before; False when Redis is down."""
        key = self._deadletter_key(message)
        return bool(await self._guarded(lambda: self._client.exists(key)))

    async def mark_deadletter_sent(self, message: Incoming) -> None:
        """Remember for a week that ``message`` was dead-lettered: replays after a crash come within minutes."""
        key = self._deadletter_key(message)
        await self._guarded(lambda: self._client.set(key, b"1", ex=DEADLETTER_MARK_SECONDS))

    async def mark_delivered(self, decision_keys: Sequence[str]) -> bool:
        """Mark decisions stored under ``decision_keys`` (see :meth:`reserve`) delivered; False when Redis is down."""

        def fill(pipe: Any) -> None:
            for key in decision_keys:
                pipe.set(self.key("delivered", key), b"1", ex=self._ttl)

        return not decision_keys or await self._pipeline(fill) is not None

    async def lookup_with_profiles(
        self, application_ids: Sequence[str], customer_ids: Sequence[str]
    ) -> tuple[list[Lookup], dict[str, CustomerProfile]] | None:
        """:meth:`lookup` and each customer's risk profile, in the same round trip; None when Redis is down."""
        if not application_ids:
            return None if self.degraded else ([], {})
        customers = list(dict.fromkeys(customer_ids))
        ns = self._ns
        keys = [
            *(self.key("decision", app_id) for app_id in application_ids),
            *(self.key("delivered", app_id) for app_id in application_ids),
            *(last_decision_key(ns, customer) for customer in customers),
            *(risk_key(ns, customer) for customer in customers),
            f"{ns}:exposure",
            clock_key(ns),
        ]
        args = [len(application_ids), *customers]
        if self.cluster:
            raw = await self._pipeline(lambda pipe: cluster_batches.queue_lookup(pipe, keys, args))
            raw = None if raw is None else cluster_batches.lookup_reply(raw, keys, args)
        else:
            raw = await self._guarded(lambda: self._lookup_script(keys=keys, args=args))
        if raw is None:
            return None
        n, m = len(application_ids), len(customers)
        stored, delivered = raw[:n], raw[n : 2 * n]
        summaries, hashes = raw[2 * n : 2 * n + m], raw[2 * n + m : 2 * n + 2 * m]
        exposures, delays = raw[2 * n + 2 * m], clock_delays(_pairs(raw[2 * n + 2 * m + 1]))
        lookups = [Lookup(value or None, bool(mark)) for value, mark in zip(stored, delivered, strict=True)]
        # customers Redis knows nothing of share one profile (only the deployment-wide delays): most
        # applicants of a stream are new, and a profile per customer cost as much as the lookup itself
        unknown: CustomerProfile | None = None
        profiles: dict[str, CustomerProfile] = {}
        for customer, summary, fields, exposure in zip(customers, summaries, hashes, exposures, strict=True):
            if fields or exposure or summary:
                profiles[customer] = profile_from_redis(
                    _pairs(fields), exposure=exposure or None, delays=delays, last_decision=summary or None
                )
            else:
                if unknown is None:
                    unknown = profile_from_redis(None, delays=delays)
                profiles[customer] = unknown
        return lookups, profiles

    async def join_labels(
        self, application_ids: Sequence[str], *, also: Callable[[Any], None] | None = None
    ) -> list[tuple[bytes | None, bool]] | None:
        """For each application: its decision-time feature snapshot, and whether
        no label was learned for it yet. None when Redis is down.

        This only reads labels: the learner claims a label (:meth:`claim_labels`)
        when it learns it, so a crash between here and the training topic loses
        nothing. ``also`` queues more commands (the customers' risk profiles) in
        the same round trip; their replies are not returned.
        """
        if not application_ids and also is None:
            return []

        def fill(pipe: Any) -> None:
            for app_id in application_ids:
                pipe.get(self.key("features", app_id))
                pipe.exists(self.key("labelled", app_id))
            if also is not None:
                also(pipe)

        raw = await self._pipeline(fill)
        if raw is None:
            return None
        return [(raw[i], not raw[i + 1]) for i in range(0, 2 * len(application_ids), 2)]

    async def claim_labels(self, application_ids: Sequence[str]) -> list[bool] | None:
        """Claim each application's label for learning (``SET NX``): True the first time only."""
        if not application_ids:
            return []

        def fill(pipe: Any) -> None:
            for app_id in application_ids:
                pipe.set(self.key("labelled", app_id), b"1", nx=True, ex=self._ttl)

        raw = await self._pipeline(fill)
        return None if raw is None else [bool(x) for x in raw]

    async def get_decision(self, application_id: str) -> bytes | None:
        """The stored decision of one application (None if unknown or Redis is down)."""
        if self.degraded:
            return None
        try:
            return await self._client.get(self.key("decision", application_id))
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return None

    async def close(self) -> None:
        """Release the connection pool."""
        await self._client.aclose()
