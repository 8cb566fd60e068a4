"""A dead letter is sent once per input where the marks can tell, and again where they cannot."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.metrics import WorkerMetrics


class Marks:
    """Marks in memory; ``down`` plays Redis being unreachable (nothing can be told)."""

    def __init__(self) -> None:
        self.sent: set[tuple[str, int, int]] = set()
        self.down = False

    async def deadletter_sent(self, message: Incoming) -> bool:
        return not self.down and (message.topic, message.partition, message.offset) in self.sent

    async def mark_deadletter_sent(self, message: Incoming) -> None:
        if not self.down:
            self.sent.add((message.topic, message.partition, message.offset))


class Refuser(BatchHandler):
    """Dead-letters every event, as a handler does with bad input."""

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        await asyncio.gather(*[await self._deadletter(m, ValueError("not an application")) for m in batch])


def run(handler: Refuser, batch: list[Incoming]) -> None:
    asyncio.run(handler.handle(batch))


def make() -> tuple[Refuser, list[bytes], WorkerMetrics]:
    sent: list[bytes] = []

    async def send(topic: str, key: bytes | None, value: bytes) -> Any:
        sent.append(value)
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    metrics = WorkerMetrics()
    return Refuser(send=send, deadletter_topic="risk.deadletter", metrics=metrics), sent, metrics


def batch(*offsets: int) -> list[Incoming]:
    return [Incoming("credit.applications", 0, o, b"k%d" % o, b"{bad", 0.0, None) for o in offsets]


def test_an_input_read_again_after_a_crash_is_not_dead_lettered_twice() -> None:
    handler, sent, metrics = make()
    marks = Marks()
    handler.remember_deadletters(marks)
    run(handler, batch(1, 2))
    run(handler, batch(1, 2, 3))  # the replay after a restart, and one new bad input
    offsets = [orjson.loads(v)["offset"] for v in sent]
    assert offsets == [1, 2, 3]
    assert metrics.deadletter_repeats.labels(source_topic="credit.applications")._value.get() == 2


def test_without_the_marks_a_repeat_is_sent_rather_than_lost() -> None:
    handler, sent, _ = make()
    marks = Marks()
    handler.remember_deadletters(marks)
    run(handler, batch(1))
    marks.down = True
    run(handler, batch(1))
    assert [orjson.loads(v)["offset"] for v in sent] == [1, 1]


def test_an_input_is_marked_only_once_its_dead_letter_is_acknowledged() -> None:
    marks = Marks()

    async def scenario() -> None:
        acked = asyncio.get_running_loop().create_future()

        async def send(topic: str, key: bytes | None, value: bytes) -> Any:
            return acked

        handler = Refuser(send=send, deadletter_topic="risk.deadletter", metrics=WorkerMetrics())
        handler.remember_deadletters(marks)
        handling = asyncio.ensure_future(handler.handle(batch(7)))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not handling.done() and not marks.sent  # not acknowledged yet: a crash now must send it again
        acked.set_result(None)
        await handling
        assert marks.sent == {("credit.applications", 0, 7)}

    asyncio.run(scenario())
