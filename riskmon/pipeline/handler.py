"""The shell every input handler shares: never raise, dead-letter what fails.

Why: an exception escaping a Faust agent acks the message and loses it, and
Faust's ``take_events`` acks a whole batch when the body raises. riskmon's
batcher (:mod:`riskmon.runtime.patches.batching`) leaves such a batch unacknowledged,
so it is read again after a restart, but the agent has stopped until then:
one bad event would halt its partition. So a handler
processes its batch in :meth:`_handle`; if that raises (a bug, a broker
hiccup), :meth:`handle` retries the events one by one, and an event that still
fails goes to the dead-letter topic with its original bytes and the error.

A dead letter is sent once per input where Redis allows it, as a decision
is: after a crash the uncommitted inputs are read again, and an input whose
dead letter the broker already acknowledged (a mark by topic, partition and
offset, :class:`DeadLetterMarks`) is not sent again. Without Redis it is sent
again: a repeat is better than a loss. The marks cost one Redis read and one
write for all the dead letters a batch awaits together, never a round trip
per bad event: each dead letter's check, send and mark run when the batch
awaits its deliveries, and :class:`_Together` turns the checks (and the
marks) made in one turn of the event loop into one call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from riskmon.pipeline.messages import Incoming, Send, dead_letter, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.schemas import dumps

__all__ = ["BatchHandler", "DeadLetterMarks", "Send", "utcnow"]

log = logging.getLogger(__name__)


class DeadLetterMarks(Protocol):
    """Which inputs' dead letters the broker has acknowledged (:class:`riskmon.pipeline.store.DecisionStore`)."""

    async def deadletters_sent(self, messages: Sequence[Incoming]) -> list[bool]:
        """For each message, whether its dead letter was delivered before (False when that cannot be told)."""
        ...

    async def mark_deadletters_sent(self, messages: Sequence[Incoming]) -> None:
        """Remember that these messages' dead letters were delivered (best effort)."""
        ...


T = TypeVar("T")


class _Together(Generic[T]):
    """One call of ``run`` for all the items asked for in the same turn of the event loop."""

    def __init__(self, run: Callable[[list[Incoming]], Awaitable[list[T]]]) -> None:
        self._run = run
        self._waiting: list[tuple[Incoming, asyncio.Future[T]]] = []

    async def __call__(self, message: Incoming) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._waiting.append((message, answer))
        if len(self._waiting) == 1:
            loop.call_soon(lambda: loop.create_task(self._flush()))
        return await answer

    async def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            results = await self._run([message for message, _ in waiting])
        except Exception as exc:  # the marks never raise; should they, every waiter hears it
            for _, answer in waiting:
                answer.set_exception(exc)
            return
        for (_, answer), result in zip(waiting, results, strict=True):
            answer.set_result(result)


class BatchHandler:
    """Base of the input handlers; subclasses implement :meth:`_handle`."""

    def __init__(
        self, *, send: Send, deadletter_topic: str, metrics: WorkerMetrics, wall_clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._send = send
        self._deadletter_topic = deadletter_topic
        self._metrics = metrics
        self._now = wall_clock
        self._sent: _Together[bool] | None = None
        self._mark: _Together[None] | None = None

    def remember_deadletters(self, marks: DeadLetterMarks) -> None:
        """Send each input's dead letter once where ``marks`` can tell (see the module's doc)."""
        self._sent = _Together(marks.deadletters_sent)

        async def mark(messages: list[Incoming]) -> list[None]:
            await marks.mark_deadletters_sent(messages)
            return [None] * len(messages)

        self._mark = _Together(mark)

    async def handle(self, batch: Sequence[Incoming]) -> None:
        """Process ``batch``; every message ends processed or dead-lettered."""
        try:
            await self._handle(batch)
        except Exception:
            log.exception("%s: batch of %d failed; retrying its events one by one", type(self).__name__, len(batch))
            for message in batch:
                try:
                    await self._handle([message])
                except Exception as exc:
                    log.exception("event at %s[%s]@%s failed", message.topic, message.partition, message.offset)
                    # If even the dead-letter topic refuses it, the broker itself is
                    # failing: let it raise, and Faust's producer crash surfaces it.
                    await (await self._deadletter(message, exc))

    async def _handle(self, batch: Sequence[Incoming]) -> None:
        raise NotImplementedError

    async def _deadletter(self, message: Incoming, error: Exception) -> Awaitable[Any]:
        """Queue the dead letter of ``message``; returns what to await for its delivery.

        With marks, that is the whole of it (check, send, acknowledgement, mark),
        run when the batch awaits its deliveries, so that the batch's checks and
        marks each go to Redis together.
        """
        received_at = self._now()
        if self._sent is None:
            return await self._send_deadletter(message, error, received_at)
        return self._deadletter_once(message, error, received_at)

    async def _send_deadletter(self, message: Incoming, error: Exception, received_at: datetime) -> Awaitable[Any]:
        record = dead_letter(message, error, received_at=received_at)
        self._metrics.deadlettered(message.topic, record.error.get("type", "other"))
        return await self._send(self._deadletter_topic, message.key, dumps(record.to_dict()))

    async def _deadletter_once(self, message: Incoming, error: Exception, received_at: datetime) -> Any:
        """Send ``message``'s dead letter unless it was delivered before; mark it once acknowledged."""
        assert self._sent is not None and self._mark is not None
        if await self._sent(message):
            self._metrics.deadletter_repeats.labels(source_topic=message.topic).inc()
            return None
        result = await (await self._send_deadletter(message, error, received_at))
        await self._mark(message)
        return result
