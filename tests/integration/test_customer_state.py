"""Customer detector state crosses workers through the real Redis.

After a rebalance another worker (with an empty memory cache) takes over a
customer's partition; its velocity window must carry on from what the first
worker counted, or a burst split across the hand-over would never alert.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from riskmon.config import load_config
from riskmon.keyspace import cluster_namespace, entity_key
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore
from riskmon.redis_clients import is_cluster_url
from riskmon.transactions.handler import STATE_TTL_SECONDS, TransactionHandler
from riskmon.transactions.watch import CustomerStates
from tests.integration.conftest import redis_client

pytestmark = [pytest.mark.integration, pytest.mark.redis_cluster]
CONFIG = load_config(None)


class Alerts:
    """Collects what the handler would publish."""

    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, alerts: list[Any]) -> list[Any]:
        self.published += alerts
        return []


def _transactions(customer: str, first: int, n: int, start: datetime) -> list[Incoming]:
    docs = [
        {
            "transaction_id": f"tx-{customer}-{i}",
            "customer_id": customer,
            "amount": 19.99,
            "type": "purchase",
            "occurred_at": (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
        }
        for i in range(first, first + n)
    ]
    return [
        Incoming("credit.transactions", 0, i, customer.encode(), orjson.dumps(d), received_monotonic=0.0)
        for i, d in enumerate(docs)
    ]


async def _worker(url: str, namespace: str, batches: list[list[Incoming]]) -> Alerts:
    """One worker's handler, fresh memory, handling ``batches`` in turn."""
    store = DecisionStore(url, ttl_seconds=600, namespace=namespace)
    alerts = Alerts()

    async def send(topic: str, key: bytes | None, value: bytes) -> Any:
        raise AssertionError(f"nothing but alerts is sent here, got one for {topic}")

    handler = TransactionHandler(
        config=CONFIG,
        store=store,
        send=send,
        alerts=alerts,  # type: ignore[arg-type]
        deadletter_topic="risk.deadletter",
        max_message_bytes=1 << 18,
        metrics=WorkerMetrics(),
    )
    try:
        for batch in batches:
            await handler.handle(batch)
    finally:
        await store.close()
    return alerts


def test_a_second_worker_carries_on_from_the_state_the_first_saved(services) -> None:
    namespace = f"riskmon:t{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC) - timedelta(minutes=5)
    customers = [f"cust-{k}" for k in range(30)]  # many customers per batch, as in a busy partition
    first = [[m for c in customers for m in _transactions(c, 0, 3, start)]]
    asyncio.run(_worker(services.redis_url, namespace, first))

    plain = redis_client(services.redis_url)
    states = CustomerStates(CONFIG.detectors)
    stored_ns = (
        cluster_namespace(namespace) if is_cluster_url(services.redis_url) else namespace
    )  # as the store tags it
    for customer in customers:
        key = entity_key(stored_ns, "watch:state", customer)  # riskmon:<ns>:watch:state:<customer> on one server
        watch = states.decode(plain.get(key))
        assert watch.velocity.current.count == 3, customer
        assert 0 < plain.ttl(key) <= STATE_TTL_SECONDS

    # The second worker sees only 8 more of cust-0's transactions: 11 in the hour crosses the
    # warning level (enter 10), 8 alone would not. It must count the first worker's three.
    levels = CONFIG.detectors.customer_thresholds("txn_velocity")
    second = asyncio.run(_worker(services.redis_url, namespace, [_transactions("cust-0", 3, 8, start)]))
    fired = [(a.detector, str(a.level)) for a in second.published if a.subject.id == "cust-0"]
    assert fired == [("txn_velocity", "warning")], f"{fired}: the first worker's count was not carried over ({levels})"
