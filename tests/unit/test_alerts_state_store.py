"""The alert manager's Redis persistence degrades instead of failing when Redis is unreachable."""

from __future__ import annotations

import asyncio
import socket

import redis.asyncio as aioredis

from riskmon.alerting.config import parse_alerting
from riskmon.alerting.manager import AlertManager
from riskmon.alerting.state_store import AlertStateStore
from riskmon.detectors import build_alert


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


def test_unreachable_redis_loads_nothing_saves_nothing_and_never_raises():
    async def go():
        client = aioredis.Redis.from_url(
            f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.2, socket_timeout=0.2
        )
        store = AlertStateStore(client, "riskmon:test")
        m = AlertManager(parse_alerting({}))
        a = build_alert(
            detector="cash_24h",
            subject={"kind": "customer", "id": "c-1"},
            level="warning",
            status="firing",
            summary="s",
            started_at=0,
            updated_at=0,
            config_version="v",
        )
        out = m.process([a], 0.0)
        m.commit(out)
        results = (
            await store.load(),
            await store.save(out.states, out.groups, out.silences),
            await store.exposures(["c-1"]),
            await store.states(["cash_24h:customer:c-1"]),
        )
        await client.aclose()
        return results, m

    (loaded, saved, exposures, states), m = asyncio.run(go())
    assert loaded is None and saved is False and exposures == ({}, None) and states is None
    assert m.states["cash_24h:customer:c-1"].firing  # memory stays authoritative
