"""The audit writer's retry rules, without a broker: a failed batch is tried again, never skipped;
a fenced writer leaves its batch to the new one only once it no longer holds the pending partition."""

from __future__ import annotations

import asyncio

from riskmon.audit.appender import WriterFenced
from riskmon.audit.signing import CheckpointSigner
from riskmon.audit.writer import RETRY_DELAYS, AuditWriter
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore


def writer_with(sleep_log: list[float], *, owns: bool = True) -> AuditWriter:
    async def sleep(seconds: float) -> None:
        sleep_log.append(seconds)

    return AuditWriter(
        store=DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60),  # never connected in these tests
        audit_topic="risk.audit",
        kafka_config={"bootstrap.servers": "127.0.0.1:1"},
        signer=CheckpointSigner.development(),
        owns=lambda: owns,
        sleep=sleep,
    )


BATCH = [Incoming("risk.audit.pending", 0, 7, None, b'{"records": []}', 0.0)]


def test_a_batch_that_fails_is_retried_until_it_is_chained() -> None:
    # Faust acknowledges a batch when handle() returns: returning after a failure
    # (the broker down) lost those decisions' audit records for good.
    slept: list[float] = []
    writer = writer_with(slept)
    attempts: list[object] = []
    resumed_fresh: list[bool] = []

    async def flaky(b: list[Incoming]) -> None:
        attempts.append(b)
        resumed_fresh.append(writer._chain is None)  # each retry re-reads the log first
        if len(attempts) <= 5:
            raise ConnectionError("broker unreachable")

    writer._handle = flaky  # type: ignore[method-assign]
    writer._chain = object()  # type: ignore[assignment]  # as if a chain had been resumed
    asyncio.run(writer.handle(BATCH))

    assert attempts == [BATCH] * 6, "the same batch, until it succeeds"
    assert slept == [*RETRY_DELAYS, RETRY_DELAYS[-1]]
    assert resumed_fresh == [False, True, True, True, True, True]


def test_a_fenced_writer_that_lost_the_partition_gives_its_batch_up() -> None:
    slept: list[float] = []
    writer = writer_with(slept, owns=False)
    attempts: list[object] = []

    async def fenced(b: list[Incoming]) -> None:
        attempts.append(b)
        raise WriterFenced("a newer writer took the transactional id")

    writer._handle = fenced  # type: ignore[method-assign]
    asyncio.run(writer.handle(BATCH))
    assert attempts == [BATCH] and slept == [] and writer.fenced == 1


def test_a_fenced_writer_that_still_holds_the_partition_takes_it_back_and_retries() -> None:
    slept: list[float] = []
    writer = writer_with(slept, owns=True)
    attempts: list[object] = []

    async def fenced_once(b: list[Incoming]) -> None:
        attempts.append(b)
        if len(attempts) == 1:
            raise WriterFenced("fenced by a zombie")

    writer._handle = fenced_once  # type: ignore[method-assign]
    asyncio.run(writer.handle(BATCH))
    assert attempts == [BATCH, BATCH] and writer.fenced == 0
