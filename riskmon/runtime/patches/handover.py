"""Handing a fetched message to the agents without four tasks per message.

What Faust does: its consumer (``Consumer._drain_messages``, faust-streaming
0.15.3) hands every fetched message to the conductor with
``await self.wait_first(callback(message), self.suspend_flow.wait())``.
mode's ``wait_first`` wraps the callback, the suspend flag and the service's
stopped and crashed flags in four tasks, waits for the first, then cancels
the other three: about 60 us of CPU per message under uvloop
(``tests/unit/test_handover.py`` shows the task count), for a callback that
almost never waits. The callback only puts the message's event on its
agents' queues; it waits only when a queue is full or the flow is suspended
for a rebalance, and only then does it need to be abandoned.

What we change: :func:`hand_over` first runs the callback inline, as a plain
``await`` would. If it finishes without waiting (the usual case) no task is
made. If it has to wait, the coroutine, already started, is handed to
``wait_first`` exactly as Faust would hand it (:func:`resume` continues it
from where it stopped), so a rebalance still abandons it. When the flow is
already suspended, Faust's own call is used unchanged. The copy of Faust's
loop that calls it lives in :mod:`riskmon.runtime.patches.fetch_wait`.

How to drop it: delete this module and ``_Consumer._drain_messages`` in
:mod:`riskmon.runtime.patches.fetch_wait`; Faust's own loop then runs, at
the cost above.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, cast

__all__ = ["hand_over", "resume"]


@types.coroutine
def resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Continue ``coro``, started with ``coro.send(None)`` which yielded ``pending``.

    A task running this waits for ``pending`` as if it had started ``coro``
    itself, and then passes every result, exception and cancellation on, the
    way ``yield from`` delegates. Its return value is ``coro``'s.
    """
    while True:
        try:
            value = yield pending
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # a cancellation or error meant for coro
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coro.send(value)
            except StopIteration as stop:
                return stop.value


async def hand_over(
    callback: Callable[[Any], Awaitable[Any]],
    message: Any,
    suspend_flow: Any,
    wait_first: Callable[..., Awaitable[Any]],
) -> None:
    """Deliver ``message`` through ``callback``, abandoning it if the flow is suspended while it waits.

    The same outcome as Faust's ``wait_first(callback(message), suspend_flow.wait())``;
    the tasks are made only when the callback has to wait.
    """
    if suspend_flow.is_set():
        await wait_first(callback(message), suspend_flow.wait())
        return
    coro = cast(Coroutine[Any, Any, Any], callback(message))  # Faust's callback is an ``async def``
    try:
        pending = coro.send(None)
    except StopIteration:
        return
    await wait_first(_finish(coro, pending), suspend_flow.wait())


async def _finish(coro: Coroutine[Any, Any, Any], pending: Any) -> Any:
    # wait_first takes awaitables (``collections.abc.Awaitable``), which a
    # generator-based coroutine is not; a native one wraps it.
    return await resume(coro, pending)
