"""A handler's wait for its batch's deliveries: every one awaited, the first failure raised after all."""

from __future__ import annotations

import asyncio

import pytest

from riskmon.pipeline.handler import all_delivered


def test_waits_for_deliveries_acknowledged_later_and_in_any_order() -> None:
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(3)]
        acknowledged: list[int] = []
        for i in (2, 0, 1):  # the broker acknowledges out of order, after the wait began
            loop.call_later(0.01 * (i + 1), lambda i=i: (futures[i].set_result(None), acknowledged.append(i)))
        await all_delivered(futures)
        assert all(f.done() for f in futures)
        return acknowledged

    assert sorted(asyncio.run(scenario())) == [0, 1, 2]


def test_the_first_failure_is_raised_after_every_delivery_was_waited_for() -> None:
    marked: list[str] = []

    async def marked_when_delivered(future: asyncio.Future[None]) -> None:
        await future
        marked.append("dead letter")  # like a dead letter's mark, set once the broker has it

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        refused, later, dead_letter = loop.create_future(), loop.create_future(), loop.create_future()
        refused.set_exception(RuntimeError("broker refused the decision"))
        loop.call_later(0.02, later.set_result, None)
        loop.call_later(0.03, dead_letter.set_result, None)
        with pytest.raises(RuntimeError, match="refused the decision"):
            await all_delivered([refused, later, marked_when_delivered(dead_letter)])
        assert later.done()

    asyncio.run(scenario())
    assert marked == ["dead letter"]  # awaited to the end despite the earlier failure


def test_nothing_to_wait_for() -> None:
    asyncio.run(all_delivered([]))
