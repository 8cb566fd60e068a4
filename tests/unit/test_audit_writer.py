"""The audit writer's retry rule, without a broker: a failed batch is tried again, never skipped."""

from __future__ import annotations

import asyncio

from riskmon.audit.writer import RETRY_DELAYS, AuditWriter
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore


def test_a_batch_that_fails_is_retried_until_it_is_chained() -> None:
    # Faust acknowledges a batch when handle() returns: returning after a failure
    # (the broker down) lost those decisions' audit records for good.
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def send(topic: str, key: bytes | None, value: bytes) -> None:
        raise AssertionError("not reached: _handle is replaced below")

    writer = AuditWriter(
        store=DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60),  # never connected in this test
        send=send,  # type: ignore[arg-type]
        audit_topic="risk.audit",
        kafka_config={"bootstrap.servers": "127.0.0.1:1"},
        checkpoint_key_bytes=b"k" * 16,
        sleep=sleep,
    )
    batch = [Incoming("risk.audit.pending", 0, 7, None, b'{"records": []}', 0.0)]
    attempts: list[object] = []
    resumed_fresh: list[bool] = []

    async def flaky(b: list[Incoming]) -> None:
        attempts.append(b)
        resumed_fresh.append(writer._chain is None)  # each retry re-reads the log first
        if len(attempts) <= 5:
            raise ConnectionError("broker unreachable")

    writer._handle = flaky  # type: ignore[method-assign]
    writer._chain = object()  # type: ignore[assignment]  # as if a chain had been resumed
    asyncio.run(writer.handle(batch))

    assert attempts == [batch] * 6, "the same batch, until it succeeds"
    assert slept == [*RETRY_DELAYS, RETRY_DELAYS[-1]]
    assert resumed_fresh == [False, True, True, True, True, True]
