"""What every handler exchanges with the runtime: a consumed message in, a send callable out.

Handlers never see a Faust event: :class:`Incoming` carries the original bytes
and where they came from, and ``Send`` queues an output and returns its
delivery future. Keeping these here, below the runtime, lets every domain
handler be built and tested without the stream framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riskmon.schemas import DeadLetter

__all__ = ["Incoming", "Send", "dead_letter", "oldest_timestamp", "utcnow"]


@dataclass(frozen=True, slots=True)
class Incoming:
    """One consumed message, exactly as the broker delivered it."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None
    received_monotonic: float
    timestamp: float | None = None  # the broker record's timestamp (epoch seconds): when it was produced


def dead_letter(message: Incoming, error: Exception, *, received_at: datetime) -> DeadLetter:
    """The dead-letter record for ``message``: original bytes plus the error."""
    return DeadLetter.from_error(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        raw=message.value,
        error=error,
        received_at=received_at,
    )


#: ``send(topic, key, value)`` queues a message and returns its delivery future.
Send = Callable[[str, bytes | None, bytes], Awaitable[Awaitable[Any]]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def oldest_timestamp(batch: Sequence[Incoming]) -> float | None:
    """The broker timestamp of the batch's oldest message (None when none has one): where its delay starts."""
    return min((m.timestamp for m in batch if m.timestamp is not None), default=None)
