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
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["DecisionStore", "Lookup", "key_namespace"]

log = logging.getLogger(__name__)


def key_namespace(topic_prefix: str) -> str:
    """The Redis key prefix for a topic prefix.

    >>> key_namespace(""), key_namespace("staging.")
    ('riskmon', 'riskmon:staging')
    """
    cleaned = topic_prefix.strip(".:")
    return f"riskmon:{cleaned}" if cleaned else "riskmon"


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
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        self._ttl = ttl_seconds
        self._ns = namespace
        self._backoff = backoff_seconds
        self._clock = clock
        self._down_until = 0.0
        self.last_error: str | None = None

    @property
    def client(self) -> aioredis.Redis:
        """The shared connection pool (the model registry uses it too)."""
        return self._client

    @property
    def namespace(self) -> str:
        return self._ns

    @property
    def degraded(self) -> str | None:
        """Why the store is unusable right now, or None when it is healthy."""
        if self._clock() < self._down_until:
            return "decision state store (Redis) unavailable"
        return None

    def _failed(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._clock() >= self._down_until:
            log.warning("Redis unavailable (%s); holding approvals for review for %.0fs", self.last_error, self._backoff)
        self._down_until = self._clock() + self._backoff

    async def _pipeline(self, fill: Callable[[Any], None]) -> list[Any] | None:
        """One round trip: ``fill`` queues commands; None when Redis is down (and
        the store then backs off), so every caller degrades the same way."""
        if self.degraded:
            return None
        try:
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            return await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None

    async def lookup(self, application_ids: Sequence[str]) -> list[Lookup] | None:
        """Stored decision bytes and delivery marks; None when Redis is down."""
        if not application_ids:
            return None if self.degraded else []

        def fill(pipe: Any) -> None:
            # two MGETs, not two commands per application: redis-py's cost is per command
            pipe.mget([f"{self._ns}:decision:{app_id}" for app_id in application_ids])
            pipe.mget([f"{self._ns}:delivered:{app_id}" for app_id in application_ids])

        raw = await self._pipeline(fill)
        if raw is None:
            return None
        stored, delivered = raw
        return [Lookup(value, mark is not None) for value, mark in zip(stored, delivered)]

    async def reserve(self, entries: Sequence[tuple[str, bytes]]) -> list[bytes] | None:
        """Store each new decision unless one exists; return the bytes to send.

        The returned bytes are the stored ones: ours when the reservation won,
        the earlier decision when another attempt got there first.
        """
        if not entries:
            return None if self.degraded else []

        keys = [f"{self._ns}:decision:{app_id}" for app_id, _ in entries]

        def fill(pipe: Any) -> None:
            for key, (_, value) in zip(keys, entries):
                pipe.set(key, value, nx=True, ex=self._ttl)
            pipe.mget(keys)  # after every SET NX in the pipeline: the bytes that won

        raw = await self._pipeline(fill)
        if raw is None:
            return None
        return [stored if stored is not None else value for stored, (_, value) in zip(raw[-1], entries)]

    async def confirm(self, delivered: Sequence[tuple[str, str, bytes, bytes | None]]) -> bool:
        """Mark decisions delivered, update customer profiles, keep feature snapshots.

        ``delivered`` holds (application_id, customer_id, profile JSON, feature
        snapshot JSON or None) tuples. The feature snapshot is what the models
        saw at decision time; the label path joins repayments with it later.
        """
        if not delivered:
            return not self.degraded

        def fill(pipe: Any) -> None:
            for app_id, customer_id, profile, features in delivered:
                pipe.set(f"{self._ns}:delivered:{app_id}", b"1", ex=self._ttl)
                pipe.set(f"{self._ns}:profile:{customer_id}", profile, ex=self._ttl)
                if features is not None:
                    pipe.set(f"{self._ns}:features:{app_id}", features, ex=self._ttl, nx=True)

        return await self._pipeline(fill) is not None

    async def join_labels(self, application_ids: Sequence[str]) -> list[tuple[bytes | None, bool]] | None:
        """For each application: its decision-time feature snapshot, and whether
        no label was learned for it yet. None when Redis is down.

        This only reads: the learner claims a label (:meth:`claim_labels`) when
        it learns it, so a crash between here and the training topic loses nothing.
        """
        if not application_ids:
            return []

        def fill(pipe: Any) -> None:
            for app_id in application_ids:
                pipe.get(f"{self._ns}:features:{app_id}")
                pipe.exists(f"{self._ns}:labelled:{app_id}")

        raw = await self._pipeline(fill)
        return None if raw is None else [(raw[i], not raw[i + 1]) for i in range(0, len(raw), 2)]

    async def claim_labels(self, application_ids: Sequence[str]) -> list[bool] | None:
        """Claim each application's label for learning (``SET NX``): True the first time only."""
        if not application_ids:
            return []

        def fill(pipe: Any) -> None:
            for app_id in application_ids:
                pipe.set(f"{self._ns}:labelled:{app_id}", b"1", nx=True, ex=self._ttl)

        raw = await self._pipeline(fill)
        return None if raw is None else [bool(x) for x in raw]

    async def get_decision(self, application_id: str) -> bytes | None:
        """The stored decision of one application (None if unknown or Redis is down)."""
        if self.degraded:
            return None
        try:
            return await self._client.get(f"{self._ns}:decision:{application_id}")
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None

    async def close(self) -> None:
        """Release the connection pool."""
        await self._client.aclose()
