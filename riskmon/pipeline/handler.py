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
again: a repeat is better than a loss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from riskmon.pipeline.messages import Incoming, Send, dead_letter, utcnow
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.schemas import dumps

__all__ = ["BatchHandler", "DeadLetterMarks", "Send", "all_delivered", "utcnow"]

log = logging.getLogger(__name__)


class DeadLetterMarks(Protocol):
    """Which inputs' dead letters the broker has acknowledged (:class:`riskmon.pipeline.store.DecisionStore`)."""

    async def deadletter_sent(self, message: Incoming) -> bool:
        """Whether ``message``'s dead letter was delivered before (False when that cannot be told)."""
        ...

    async def mark_deadletter_sent(self, message: Incoming) -> None:
        """Remember that ``message``'s dead letter was delivered (best effort)."""
        ...


class BatchHandler:
    """Base of the input handlers; subclasses implement :meth:`_handle`."""

    def __init__(
        self, *, send: Send, deadletter_topic: str, metrics: WorkerMetrics, wall_clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._send = send
        self._deadletter_topic = deadletter_topic
        self._metrics = metrics
        self._now = wall_clock
        self._marks: DeadLetterMarks | None = None

    def remember_deadletters(self, marks: DeadLetterMarks) -> None:
        """Send each input's dead letter once where ``marks`` can tell (see the module's doc)."""
        self._marks = marks

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
        """Queue the dead letter of ``message``; returns its delivery future (already done for a repeat)."""
        marks = self._marks
        if marks is not None and await marks.deadletter_sent(message):
            self._metrics.deadletter_repeats.labels(source_topic=message.topic).inc()
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        record = dead_letter(message, error, received_at=self._now())
        self._metrics.deadlettered(message.topic, record.error.get("type", "other"))
        delivery = await self._send(self._deadletter_topic, message.key, dumps(record.to_dict()))
        return delivery if marks is None else _marked_when_delivered(delivery, marks, message)


async def all_delivered(pending: Sequence[Awaitable[Any]]) -> None:
    """Wait for every delivery in ``pending`` (futures from ``Send``, or coroutines), then raise
    the first failure, if any.

    Why not ``asyncio.gather``: it hangs a callback on every future and schedules one call
    per acknowledgement, about 2 us per message on a batch of hundreds. Awaited in
    order, the first waits for the broker and the later ones are mostly acknowledged
    by then (the output producer hands acknowledgements back a poll at a time), so
    awaiting them costs next to nothing. Every delivery is waited for even after a
    failure, so nothing is left running when the handler moves on.
    """
    failure: Exception | None = None
    for delivery in pending:
        try:
            await delivery
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


async def _marked_when_delivered(delivery: Awaitable[Any], marks: DeadLetterMarks, message: Incoming) -> Any:
    """Await the broker's acknowledgement of a dead letter, then mark its input as dead-lettered."""
    result = await delivery
    await marks.mark_deadletter_sent(message)
    return result
