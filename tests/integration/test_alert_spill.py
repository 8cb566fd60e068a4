"""Resolved alerts beyond the in-memory limit live in Redis only, and come back when named.

What a user relies on: the alert manager decides exactly as if every resolved
alert were still in memory (a late duplicate is still a duplicate, a repeat
fires again as a new episode), while its memory holds only the newest
resolved alerts; and a week later the spilled ones leave Redis too. Runs the
real handler on a real Redis; the Kafka side is a recording ``send`` (what it
publishes is compared, not how the broker carries it).
"""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from riskmon.alerting import handler as alert_manager
from riskmon.alerting.clock import EventClock
from riskmon.alerting.config import parse_alerting
from riskmon.alerting.handler import AlertManagerHandler
from riskmon.alerting.metrics import AlertMetrics
from riskmon.alerting.state_store import AlertStateStore
from riskmon.detectors import build_alert
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.metrics import WorkerMetrics

pytestmark = pytest.mark.integration

T0 = 1_796_000_000.0
N = 30


def _candidate(i: int, status: str, at: float, started: float) -> Incoming:
    alert = build_alert(
        detector="cash_24h",
        subject={"kind": "customer", "id": f"c-{i}"},
        level="warning",
        status=status,
        summary="s",
        started_at=started,
        updated_at=at,
        config_version="v",
    )
    return Incoming("candidates", 0, None, alert.dedup_key.encode(), orjson.dumps(alert.to_dict()), 0.0)


async def _run(redis_url: str, namespace: str, limit: int) -> tuple[list[tuple[str, dict]], list[int]]:
    """Fire N alerts, resolve them, replay a late duplicate resolution and a repeat of one; returns
    what was published and, after each step, how many states the manager holds in memory."""
    client = aioredis.Redis.from_url(redis_url)
    published: list[tuple[str, dict]] = []

    async def send(topic: str, key: bytes | None, value: bytes) -> asyncio.Future:
        published.append((topic, orjson.loads(value)))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    saved_limit = alert_manager.RESOLVED_IN_MEMORY
    alert_manager.RESOLVED_IN_MEMORY = limit
    wall = [T0]
    handler = AlertManagerHandler(
        config=parse_alerting({}),
        store=AlertStateStore(client, namespace),
        send=send,
        alerts_topic="alerts",
        notifications_topic="notifications",
        deadletter_topic="dead",
        metrics=WorkerMetrics(CollectorRegistry()),
        alert_metrics=AlertMetrics(CollectorRegistry()),
        clock=EventClock(wall=lambda: wall[0]),
    )
    sizes = []
    try:
        await handler.handle([_candidate(i, "firing", T0, T0) for i in range(N)])
        await handler.handle([_candidate(i, "resolved", T0 + 60 + i, T0) for i in range(N)])
        sizes.append(len(handler.manager.states))
        await handler.handle([_candidate(0, "resolved", T0 + 60, T0)])  # the oldest resolution, delivered again
        await handler.handle([_candidate(2, "firing", T0, T0)])  # customer 2's first firing, delivered late
        await handler.handle([_candidate(1, "firing", T0 + 600, T0 + 600)])  # customer 1 alerts again
        sizes.append(len(handler.manager.states))
        wall[0] = T0 + 8 * 86400  # a week and a day later: everything resolved is forgotten, memory and Redis
        await handler.tick()
        sizes.append(await client.hlen(f"{namespace}:alerts:state"))
        return published, sizes
    finally:
        alert_manager.RESOLVED_IN_MEMORY = saved_limit
        await client.delete(*[f"{namespace}:alerts:{name}" for name in ("state", "groups", "silences")])
        await client.aclose()


def test_spilled_resolved_alerts_decide_as_if_in_memory_and_leave_redis_after_a_week(services) -> None:
    spilled, sizes = asyncio.run(_run(services.redis_url, f"riskmon:t{uuid.uuid4().hex[:8]}", limit=10))
    control, control_sizes = asyncio.run(_run(services.redis_url, f"riskmon:t{uuid.uuid4().hex[:8]}", limit=10_000))
    assert spilled == control  # the same alerts and notifications, in the same order
    feed = [(doc["dedup_key"], doc["status"]) for topic, doc in spilled if topic == "alerts"]
    assert feed.count(("cash_24h:customer:c-0", "resolved")) == 1  # the late duplicate was recognised
    assert feed[-1] == ("cash_24h:customer:c-1", "firing")  # the repeat is a new episode
    assert control_sizes[:2] == [N, N]
    assert sizes[0] == 5  # beyond 10 resolved in memory, spilled down to half
    assert sizes[1] <= 10  # customers 0 and 2 came back for their duplicates, 1 for its repeat
    # Only the firing alerts are left in Redis (a spilled key that came back is no longer pruned as spilled)
    assert sizes[2] == control_sizes[2] == 2
