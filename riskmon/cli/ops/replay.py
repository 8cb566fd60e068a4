"""``riskmon replay FILE``: produce recorded events back onto their topics.

Each event goes to ``--topic`` or to the contract topic of its kind (with the
configured prefix), keyed as the contract keys that kind, at ``--rate``
events per second, at ``--speed`` times the pace of its recorded timestamps,
or as fast as the broker takes them. The records get the current time as
their broker timestamp, not the recorded one: the worker's lag and latency
measure the pipeline, and a replay of last year is not a year late.

Nothing is lost silently: unreadable lines are reported (the first few in
full) and counted, every message's delivery is confirmed by the broker, and
the result says how many were bad or undelivered, so the caller can exit
non-zero.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from confluent_kafka import KafkaException, Producer

from riskmon.cli.ops.errors import OpsError
from riskmon.cli.ops.kafka import existing_topics, require_topic
from riskmon.cli.ops.pacing import Pacer, Progress, progress_bar, progress_line
from riskmon.schemas import SchemaError, parse_timestamp
from riskmon.schemas.event_files import BadLine, Event, EventKind, Format, detect_format, infer_kind, read_events
from riskmon.settings import PRODUCER_DEFAULTS, Settings

__all__ = ["ReplayOptions", "ReplayResult", "run_replay"]

_SHOWN = 20  # bad lines and delivery errors printed in full; the rest are counted
_MAX_MESSAGE_BYTES = 8 * 1024 * 1024 + 64 * 1024  # the broker, not the producer, decides per topic


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    path: Path
    topic: str | None = None
    fmt: Format | None = None
    rate: float | None = None
    speed: float | None = None
    key_field: str | None = None
    flush_timeout: float = 60.0


@dataclass(slots=True)
class ReplayResult:
    """What happened to the file's lines."""

    lines: int = 0  # events and bad lines read
    sent: int = 0  # acknowledged by the broker
    bad: int = 0  # unreadable, never sent
    failed: int = 0  # sent but not acknowledged
    topics: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.bad == 0 and self.failed == 0


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _recorded_at(doc: dict, kind: EventKind | None) -> float | None:
    if kind is None:
        return None
    value = doc.get(kind.time)
    try:
        return parse_timestamp(value, kind.time).timestamp() if isinstance(value, str) else None
    except SchemaError:
        return None


def _key(doc: dict, field: str | None) -> bytes | None:
    value = doc.get(field) if field else None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).encode()


class _Reporter:
    """Bad lines and delivery errors on stderr: the first few in full, then counted."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._shown = 0

    def say(self, text: str) -> None:
        self._shown += 1
        if self._shown <= _SHOWN:
            print(f"replay: {text}", file=self._err, flush=True)
        elif self._shown == _SHOWN + 1:
            print("replay: further problems are counted, not shown", file=self._err, flush=True)


def run_replay(
    settings: Settings,
    options: ReplayOptions,
    *,
    err: TextIO = sys.stderr,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayResult:
    """Replay ``options.path``; raise :class:`OpsError` for what the user must fix first."""
    path = options.path
    if not path.is_file():
        raise OpsError(f"{path}: no such file")
    fmt = options.fmt or detect_format(path)
    if fmt is None:
        raise OpsError(f"{path}: cannot tell the format from the name; use .jsonl or .csv, or pass --format")
    try:
        pacer = Pacer(rate=options.rate, speed=options.speed)
    except ValueError as exc:
        raise OpsError(str(exc)) from None

    config = settings.confluent_config()
    topics = existing_topics(config)
    if options.topic is not None:
        require_topic(options.topic, topics)
    total = _count_lines(path) - (1 if fmt == "csv" else 0)
    producer = Producer({**config, **PRODUCER_DEFAULTS, "linger.ms": 10, "message.max.bytes": _MAX_MESSAGE_BYTES})
    result = ReplayResult(topics=set())
    report = _Reporter(err)
    tty = bool(getattr(err, "isatty", lambda: False)())
    progress = Progress(tty=tty)

    def delivered(line: int) -> Callable[[Any, Any], None]:
        def callback(error: Any, message: Any) -> None:
            if error is None:
                result.sent += 1
            else:
                result.failed += 1
                report.say(f"line {line}: not delivered to {message.topic()}: {error.str()}")

        return callback

    def show(final: bool = False) -> None:
        elapsed = clock() - start
        if tty:
            end = "\n" if final else ""
            print(
                f"\r{progress_bar(result.lines, total, result.sent, result.bad, elapsed)}",
                end=end,
                file=err,
                flush=True,
            )
        elif not final:
            print(progress_line(result.lines, total, result.sent, result.bad, elapsed), file=err, flush=True)

    start = clock()
    index = 0
    with open(path, "rb") as stream:
        for item in read_events(stream, fmt):
            result.lines += 1
            if isinstance(item, BadLine):
                result.bad += 1
                report.say(f"line {item.line}: {item.reason}")
                continue
            topic, kind = _route(item, options, settings)
            if topic is None:
                result.bad += 1
                report.say(f"line {item.line}: cannot tell the event type from its fields; pass --topic")
                continue
            if topic not in result.topics:
                require_topic(topic, topics)
                result.topics.add(topic)
            due = start + pacer.due(index, _recorded_at(item.doc, kind))
            index += 1
            while (wait := due - clock()) > 0:
                producer.poll(min(wait, 0.1))
            _produce(
                producer,
                topic,
                _key(item.doc, options.key_field or (kind.key if kind else None)),
                item.value,
                delivered(item.line),
            )
            if progress.should_print(clock() - start):
                show()
    undelivered = producer.flush(options.flush_timeout)
    if undelivered:
        result.failed += undelivered
        report.say(f"{undelivered} messages not acknowledged within {options.flush_timeout:g}s")
    show(final=True)
    return result


def _route(event: Event, options: ReplayOptions, settings: Settings) -> tuple[str | None, EventKind | None]:
    kind = infer_kind(event.doc)
    if options.topic is not None:
        return options.topic, kind
    return (settings.topic(kind.topic) if kind else None), kind


def _produce(producer: Producer, topic: str, key: bytes | None, value: bytes, on_delivery: Callable) -> None:
    """Queue one message, waiting for room when the local queue is full."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.5)
        except KafkaException as exc:  # refused locally (too large for the producer, say): a failed delivery
            on_delivery(exc.args[0], _Refused(topic))
            return


class _Refused:
    """Enough of a message for the delivery callback when the producer refused it outright."""

    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic
