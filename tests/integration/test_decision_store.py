"""The decision store's batch commands on the real Redis: reserve, look up, confirm.

These are the rules the exactly-one-decision guarantee stands on: the first
decision stored for an application wins and every later attempt gets those
bytes back; "delivered" is only set by confirm; a feature snapshot, once kept,
is never replaced. Each batch is one server-side script, so these tests read
the keys back with a plain client to see what Redis really holds.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from riskmon.pipeline.store import DecisionStore

pytestmark = pytest.mark.integration


@pytest.fixture
def namespace() -> str:
    return f"riskmon:t{uuid.uuid4().hex[:8]}"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_the_first_reservation_wins_and_later_ones_get_its_bytes(services, namespace) -> None:
    async def scenario() -> tuple[list[bytes] | None, list[bytes] | None]:
        store = DecisionStore(services.redis_url, ttl_seconds=600, namespace=namespace)
        try:
            first = await store.reserve([("a1", b"first-a1"), ("a2", b"first-a2")])
            second = await store.reserve([("a2", b"second-a2"), ("a3", b"first-a3"), ("a1", b"second-a1")])
            return first, second
        finally:
            await store.close()

    first, second = run(scenario())
    assert first == [b"first-a1", b"first-a2"]
    assert second == [b"first-a2", b"first-a3", b"first-a1"]
    plain = redis.Redis.from_url(services.redis_url)
    assert plain.get(f"{namespace}:decision:a2") == b"first-a2"
    assert 0 < plain.ttl(f"{namespace}:decision:a3") <= 600


def test_confirm_marks_delivery_keeps_profiles_and_never_replaces_a_snapshot(services, namespace) -> None:
    async def scenario() -> tuple[list, bool, bool, list]:
        store = DecisionStore(services.redis_url, ttl_seconds=600, namespace=namespace)
        try:
            await store.reserve([("a1", b"d1"), ("a2", b"d2")])
            before = await store.lookup(["a1", "a2"])
            ok = await store.confirm([("a1", "c1", b'{"p":1}', b'{"f":1}'), ("a2", "c2", b'{"p":2}', None)])
            again = await store.confirm([("a1", "c1", b'{"p":3}', b'{"f":"later"}')])
            after = await store.lookup(["a1", "a2", "unknown"])
            return before, ok, again, after
        finally:
            await store.close()

    before, ok, again, after = run(scenario())
    assert [(x.stored, x.delivered) for x in before] == [(b"d1", False), (b"d2", False)]
    assert ok and again
    assert [(x.stored, x.delivered) for x in after] == [(b"d1", True), (b"d2", True), (None, False)]
    plain = redis.Redis.from_url(services.redis_url)
    assert plain.get(f"{namespace}:profile:c1") == b'{"p":3}'  # the latest decision's profile
    assert plain.get(f"{namespace}:profile:c2") == b'{"p":2}'
    assert plain.get(f"{namespace}:features:a1") == b'{"f":1}'  # what the models saw the first time
    assert not plain.exists(f"{namespace}:features:a2")  # no snapshot, no key
    assert all(0 < plain.ttl(f"{namespace}:{k}") <= 600 for k in ("delivered:a1", "profile:c2", "features:a1"))


def test_an_unreachable_redis_degrades_instead_of_raising() -> None:
    async def scenario() -> tuple[object, object, str | None]:
        store = DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60, timeout=0.2)
        try:
            reserved = await store.reserve([("a1", b"d1")])
            confirmed = await store.confirm([("a1", "c1", b"{}", None)])
            return reserved, confirmed, store.degraded
        finally:
            await store.close()

    reserved, confirmed, degraded = run(scenario())
    assert reserved is None and confirmed is False
    assert degraded == "decision state store (Redis) unavailable"
