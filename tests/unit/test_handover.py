"""The consumer's hand-over of a fetched message (riskmon.runtime.patches.handover)."""

from __future__ import annotations

import asyncio

import pytest
from mode import Service
from mode.utils.locks import Event

from riskmon.runtime.patches.handover import hand_over


class _Waiter(Service):
    """A mode service, for its real ``wait_first``."""


def _run(coro_fn):
    """Run ``coro_fn(tasks)`` on a fresh loop whose task factory counts the tasks made."""
    made: list[asyncio.Task] = []

    async def main():
        loop = asyncio.get_running_loop()

        def factory(loop, coro, **kwargs):
            task = asyncio.Task(coro, loop=loop, **kwargs)
            made.append(task)
            return task

        loop.set_task_factory(factory)
        return await coro_fn(made)

    return asyncio.run(main())


def test_a_callback_that_does_not_wait_is_delivered_without_any_task():
    delivered = []

    async def callback(message):
        delivered.append(message)

    async def scenario(made):
        service = _Waiter()
        for m in range(3):
            await hand_over(callback, m, Event(), service.wait_first)
        faust_way = len(made)
        await service.wait_first(callback(3), Event().wait())
        return faust_way, len(made) - faust_way

    ours, fausts = _run(scenario)
    assert delivered == [0, 1, 2, 3]
    assert ours == 0
    assert fausts == 4  # the callback, the suspend flag, stopped, crashed


def test_a_callback_that_waits_is_finished_by_wait_first():
    steps = []
    gates: list[asyncio.Future] = []

    async def callback(message):
        steps.append(("start", message))
        opened = await gates[0]
        steps.append(("end", message, opened))
        return "ignored"

    async def scenario(made):
        loop = asyncio.get_running_loop()
        gates.append(loop.create_future())
        loop.call_later(0.01, gates[0].set_result, "opened")
        await hand_over(callback, "m", Event(), _Waiter().wait_first)
        return len(made)

    tasks = _run(scenario)
    assert steps == [("start", "m"), ("end", "m", "opened")]
    assert tasks == 4


def test_a_waiting_callback_is_abandoned_when_the_flow_is_suspended():
    steps = []

    async def callback(message):
        steps.append("start")
        try:
            await asyncio.get_running_loop().create_future()  # a full queue that never drains
        except asyncio.CancelledError:
            steps.append("cancelled")
            raise
        steps.append("delivered")

    async def scenario(made):
        suspend = Event()
        asyncio.get_running_loop().call_later(0.01, suspend.set)
        await asyncio.wait_for(hand_over(callback, "m", suspend, _Waiter().wait_first), 2)
        await asyncio.sleep(0)  # let the abandoned callback see its cancellation

    _run(scenario)
    assert steps == ["start", "cancelled"]


def test_when_the_flow_is_already_suspended_faust_own_call_decides():
    calls = []

    async def callback(message):
        calls.append(message)

    async def wait_first(*coros):
        calls.append(len(coros))
        for coro in coros:  # what Faust's would do if the callback won
            if asyncio.iscoroutine(coro):
                await coro

    async def scenario(made):
        suspend = Event()
        suspend.set()
        await hand_over(callback, "m", suspend, wait_first)

    _run(scenario)
    assert calls == [2, "m"]


@pytest.mark.parametrize("wait_first_", [True, False])
def test_errors_in_the_callback_reach_the_drain_loop(wait_first_):
    async def callback(message):
        if wait_first_:
            await asyncio.sleep(0.001)
        raise ValueError("bad message")

    async def scenario(made):
        await hand_over(callback, "m", Event(), _Waiter().wait_first)

    with pytest.raises(ValueError, match="bad message"):
        _run(scenario)


def test_a_callback_yielding_to_the_loop_is_resumed():
    order = []

    async def callback(message):
        order.append("before")
        await asyncio.sleep(0)  # a bare yield, not a future
        order.append("after")

    async def scenario(made):
        await hand_over(callback, "m", Event(), _Waiter().wait_first)

    _run(scenario)
    assert order == ["before", "after"]
