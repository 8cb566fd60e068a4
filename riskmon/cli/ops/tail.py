"""``riskmon tail alerts|decisions|deadletters``: follow a topic, one readable line per event.

Why explicit offsets rather than a consumer group's reset policy: "from the
end" must mean the end when the command started, so an event produced after
the ``# tailing`` line on stderr is always shown, including on partitions
nobody has written to yet. The consumer never commits: tailing leaves no
trace in the cluster's groups beyond a short-lived member.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from riskmon.cli.ops.errors import OpsError
from riskmon.cli.ops.kafka import existing_topics, require_topic
from riskmon.cli.ops.render import clean, render_alert, render_deadletter, render_decision
from riskmon.client import watermark_high
from riskmon.schemas import Level
from riskmon.settings import Settings

__all__ = ["TailOptions", "accepts", "render", "run_tail", "STREAMS"]

#: What ``tail`` can follow: the contract topic of each stream (without prefix).
STREAMS: dict[str, str] = {"alerts": "risk.alerts", "decisions": "credit.decisions", "deadletters": "risk.deadletter"}


@dataclass(frozen=True, slots=True)
class TailOptions:
    stream: Literal["alerts", "decisions", "deadletters"]
    from_beginning: bool = False
    limit: int | None = None
    min_level: str | None = None
    detectors: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    json: bool = False
    color: bool = False

    def __post_init__(self) -> None:
        if self.stream != "alerts" and (self.min_level or self.detectors):
            raise OpsError(f"--level and --detector filter alerts only, not {self.stream}")
        if self.stream != "decisions" and self.outcomes:
            raise OpsError(f"--outcome filters decisions only, not {self.stream}")
        if self.limit is not None and self.limit < 1:
            raise OpsError(f"--limit must be at least 1, got {self.limit}")
        if self.min_level is not None:
            try:
                Level.parse(self.min_level)
            except ValueError as exc:
                raise OpsError(str(exc)) from None


def accepts(options: TailOptions, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes the filters; an event without the filtered field does not.

    >>> o = TailOptions("alerts", min_level="warning", detectors=("cash_24h",))
    >>> [accepts(o, {"level": lv, "detector": "cash_24h"}) for lv in ("info", "warning", "critical", None)]
    [False, True, True, False]
    >>> accepts(o, {"level": "critical", "detector": "txn_velocity"})
    False
    >>> accepts(TailOptions("decisions", outcomes=("reject",)), {"outcome": "approve"})
    False
    """
    if options.min_level is not None:
        try:
            if Level.parse(str(event.get("level"))) < Level.parse(options.min_level):
                return False
        except ValueError:
            return False
    if options.detectors and event.get("detector") not in options.detectors:
        return False
    return not (options.outcomes and event.get("outcome") not in options.outcomes)


def render(options: TailOptions, event: Mapping[str, Any], raw: bytes) -> str:
    """The line printed for ``event``: its original JSON with ``--json``, else the readable form."""
    if options.json:
        return raw.decode("utf-8", errors="replace")
    renderer = {"alerts": render_alert, "decisions": render_decision, "deadletters": render_deadletter}[options.stream]
    return renderer(event, color=options.color)


def _start_offsets(consumer: Consumer, topic: str, from_beginning: bool) -> list[TopicPartition]:
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = sorted(metadata.topics[topic].partitions)
    if from_beginning:
        return [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
    # watermark_high retries while a new topic's leader is still being elected
    return [TopicPartition(topic, p, watermark_high(consumer, TopicPartition(topic, p))) for p in partitions]


def run_tail(settings: Settings, options: TailOptions, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print events until ``options.limit`` were shown (or forever); return how many were."""
    topic = settings.topic(STREAMS[options.stream])
    config = settings.confluent_config()
    require_topic(topic, existing_topics(config))
    consumer = Consumer(
        {
            **config,
            "group.id": f"riskmon-tail-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "fetch.message.max.bytes": 10_000_000,
        }
    )
    shown = 0
    try:
        consumer.assign(_start_offsets(consumer, topic, options.from_beginning))
        where = "the beginning" if options.from_beginning else "the end"
        print(f"# tailing {topic} from {where}; Ctrl-C to stop", file=err, flush=True)
        while options.limit is None or shown < options.limit:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    print(f"# {topic}: {error.str()}", file=err, flush=True)
                continue
            raw = message.value() or b""
            try:
                event = orjson.loads(raw)
                if not isinstance(event, dict):
                    raise ValueError("not an object")
            except ValueError:
                print(
                    f"# {topic}[{message.partition()}]@{message.offset()}: not a JSON object: {clean(raw[:80])}",
                    file=err,
                    flush=True,
                )
                continue
            if accepts(options, event):
                print(render(options, event, raw), file=out, flush=True)
                shown += 1
    finally:
        consumer.close()
    return shown
