"""The model registry on the real Redis: what a publication stores, and for how long.

A champion's snapshot is named by the decisions it made, so it is kept for
the audit trail's retention; a challenger's only scored in shadow, and the
learner publishes up to thousands of times a day, so it is kept a week.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from riskmon.learning.registry import CHALLENGER_SNAPSHOT_TTL_SECONDS, ModelPointer, ModelRegistry
from riskmon.redis_clients import async_client
from tests.integration.conftest import key_namespace_of, redis_client

pytestmark = [pytest.mark.integration, pytest.mark.redis_cluster]

RETENTION = 400 * 86400


def test_a_champion_snapshot_is_kept_for_the_retention_a_challengers_for_a_week(services) -> None:
    namespace = key_namespace_of(f"t{uuid.uuid4().hex[:8]}.", services.redis_url)  # one slot on a cluster

    def publish(champion: str, challenger: str) -> None:
        async def scenario() -> None:
            client = async_client(services.redis_url)
            try:
                registry = ModelRegistry(client, namespace=namespace, snapshot_ttl_seconds=RETENTION)
                first = ModelPointer("champion", "a", "a-n1", champion, 1, 0.0)
                second = ModelPointer("challenger", "b", "b-n1", challenger, 1, 0.0)
                await registry.publish(
                    {"champion": (champion.encode(), first), "challenger": (challenger.encode(), second)},
                    {"published_at": 0.0},
                    learner_state=b"state",
                )
                pointers = await registry.pointers()
                assert pointers["challenger"].hash == challenger and pointers["champion"].hash == champion
            finally:
                await client.aclose()

        asyncio.run(scenario())

    r = redis_client(services.redis_url)
    publish("h-champion", "h-challenger")
    champion_ttl = r.ttl(f"{namespace}:model:snapshot:h-champion")
    challenger_ttl = r.ttl(f"{namespace}:model:snapshot:h-challenger")
    assert RETENTION - 60 < champion_ttl <= RETENTION
    assert CHALLENGER_SNAPSHOT_TTL_SECONDS - 60 < challenger_ttl <= CHALLENGER_SNAPSHOT_TTL_SECONDS
    assert r.get(f"{namespace}:model:snapshot:h-challenger") == b"h-challenger"

    publish("h-challenger", "h-champion")  # a promotion: the challenger now decides, kept as long as decisions
    assert RETENTION - 60 < r.ttl(f"{namespace}:model:snapshot:h-challenger") <= RETENTION
    # the demoted champion's snapshot, named by the decisions it made, keeps its long TTL
    assert RETENTION - 60 < r.ttl(f"{namespace}:model:snapshot:h-champion") <= RETENTION

    publish("h-challenger", "h-new")
    r.expire(f"{namespace}:model:snapshot:h-new", 100)  # as if a week had nearly passed
    publish("h-challenger", "h-new")  # published again as the challenger: a week from now
    assert r.ttl(f"{namespace}:model:snapshot:h-new") > CHALLENGER_SNAPSHOT_TTL_SECONDS - 60
    r.close()
