"""The console's reconcile reads the manager's saved alerts in chunks (HSCAN) from a real Redis.

What a user relies on: every alert the manager saved reaches the console, as
the manager saved it, however many there are; a value nobody can read is
skipped rather than ending the reconcile.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from riskmon.alerting.config import parse_alerting
from riskmon.alerting.manager import AlertManager
from riskmon.alerting.state_store import AlertStateStore
from riskmon.detectors import build_alert
from riskmon.runtime.web.alerts import alert_view, scan_alert_docs, scan_alert_states

pytestmark = pytest.mark.integration


def test_every_saved_alert_comes_back_in_chunks_and_a_corrupt_state_is_skipped(services) -> None:
    namespace = f"riskmon:t{uuid.uuid4().hex[:8]}"
    n = 250

    async def scenario() -> tuple[list[list[dict]], dict[str, dict], list[dict], list[dict]]:
        client = aioredis.Redis.from_url(services.redis_url)
        try:
            manager = AlertManager(parse_alerting({}))
            alerts = [
                build_alert(
                    detector="cash_24h",
                    subject={"kind": "customer", "id": f"c-{i}"},
                    level="warning",
                    status="firing",
                    summary="s",
                    started_at=i,
                    updated_at=i,
                    config_version="v",
                )
                for i in range(n)
            ]
            out = manager.process(alerts, 0.0)
            manager.commit(out)
            assert await AlertStateStore(client, namespace).save(out.states, out.groups, out.silences)
            await client.hset(f"{namespace}:alerts:state", "corrupt", b"{not json")
            chunks = [docs async for docs in scan_alert_docs(client, namespace, count=20)]
            # GET /v1/alerts' view of each state, from the raw scan, is the one it built from AlertState before
            views = [alert_view(state) async for chunk in scan_alert_states(client, namespace) for state in chunk]
            expected = [{**s.alert.to_dict(), "notified": s.notified} for s in manager.states.values()]
            # the spill's restore reads named states: a damaged one is absent, never an error
            restored = await AlertStateStore(client, namespace).states(["corrupt", "cash_24h:customer:c-1", "nobody"])
            assert list(restored) == ["cash_24h:customer:c-1"]
            assert restored["cash_24h:customer:c-1"] == manager.states["cash_24h:customer:c-1"]
            return chunks, {k: s.alert.to_dict() for k, s in manager.states.items()}, views, expected
        finally:
            await client.delete(*[f"{namespace}:alerts:{name}" for name in ("state", "groups", "silences")])
            await client.aclose()

    chunks, saved, views, expected = asyncio.run(scenario())
    assert len(chunks) > 1  # a chunk per round trip, not the whole hash at once
    got = {doc["dedup_key"]: doc for docs in chunks for doc in docs}
    assert len(saved) == n and got == saved  # each alert as the manager has it; the corrupt value left out
    key = lambda v: v["dedup_key"]  # noqa: E731
    assert sorted(views, key=key) == sorted(expected, key=key)
