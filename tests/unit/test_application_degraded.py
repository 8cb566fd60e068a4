"""A batch Redis could not look up holds its approvals, even when Redis's
back-off ends before the batch is decided.

The worker once read the store's state again after awaiting the scorer's
refresh; when the 5 s back-off ran out in between, a batch decided without any
Redis lookup was approved as if Redis were healthy (seen once in CI's outage test).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from riskmon.applications.handler import ApplicationHandler
from riskmon.config import load_config
from riskmon.decisioning.policy import DEGRADED_CODE
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore

CONFIG = load_config(None)
SAFE = {
    "application_id": "app-safe",
    "customer_id": "cust-1",
    "submitted_at": "2026-11-29T14:38:26.123Z",
    "amount": 2_000,
    "term_months": 36,
    "annual_income": 90_000,
    "currency": "USD",
    "product": "personal_loan",
    "channel": "web",
    "features": {"debt_to_income": 5, "inquiries_6m": 0, "revol_util": 10},
    "applicant": {"name": "Jane Example", "national_id": "123-45-6789"},
}


class StepClock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _decide(clock_jumps_after_lookup: bool) -> dict:
    clock = StepClock()
    # port 1 on loopback refuses at once: Redis is down throughout
    store = DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60, backoff_seconds=5.0, clock=clock)
    lookup = store.lookup_with_profiles

    async def lookup_then_time_passes(ids: Any, customers: Any) -> Any:
        result = await lookup(ids, customers)
        if clock_jumps_after_lookup:
            clock.now = 6.0  # the back-off ends while the batch is still being decided
        return result

    store.lookup_with_profiles = lookup_then_time_passes  # type: ignore[method-assign]
    sent: list[tuple[str, bytes]] = []

    async def send(topic: str, key: bytes | None, value: bytes) -> Any:
        sent.append((topic, value))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    handler = ApplicationHandler(
        config=CONFIG,
        store=store,
        send=send,
        decisions_topic="credit.decisions",
        deadletter_topic="risk.deadletter",
        max_message_bytes=1 << 18,
        metrics=WorkerMetrics(),
    )
    message = Incoming("credit.applications", 0, 0, b"app-safe", orjson.dumps(SAFE), received_monotonic=0.0)

    async def run() -> None:
        # a failure a moment ago (t = 0 s), through the store's own path: backing off until t = 5 s
        assert await store.lookup(["app-earlier"]) is None and store.degraded
        await handler.handle([message])
        await store.close()

    asyncio.run(run())
    decisions = [orjson.loads(v) for topic, v in sent if topic == "credit.decisions"]
    assert len(decisions) == 1, sent
    return decisions[0]


def test_an_application_decided_while_redis_is_backed_off_is_held_for_review() -> None:
    decision = _decide(clock_jumps_after_lookup=False)
    assert (decision["outcome"], decision["reasons"][0]["code"]) == ("review", DEGRADED_CODE)


def test_the_back_off_ending_mid_batch_does_not_release_an_approval_redis_never_checked() -> None:
    decision = _decide(clock_jumps_after_lookup=True)
    assert (decision["outcome"], decision["reasons"][0]["code"]) == ("review", DEGRADED_CODE)
