"""Read a test's output topics and check what users of the monitor rely on.

The fault tests (kill -9, SIGTERM, broker and Redis outages, malformed storms,
rebalances) all end the same way: every input must be accounted for, and
nothing may be decided twice. This module holds that check once:

* every valid application has a decision, exactly one ``decision_id`` (the
  deterministic one), and the ``automated`` stage;
* a decision seen more than once on the topic is byte-identical (at-least-once
  delivery may repeat a message; it must never change a decision) unless the
  caller says Redis lost its memory, when only the ``decision_id`` must agree;
* no decision for an application nobody sent, and none for a bad input;
* every bad input is in ``risk.deadletter`` with its original bytes;
* optionally, every decision on the topic (automated, or a ``hold`` that
  re-issues an approval under its own ``decision_id``) is in the audit trail
  exactly once, and the trail's sequence numbers have no gap.

It reads with a group-less consumer assigned to every partition from the
first offset, and :meth:`OutputReader.read_to_end` stops at the high
watermark taken when it was called: the end is the broker's, not a guess.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from riskmon.applications.decide import decision_id_for
from tests.integration.conftest import values

__all__ = ["Expected", "OutputReader", "Report", "verify", "original_bytes"]

OUTPUT_TOPICS = ("credit.decisions", "risk.deadletter", "risk.alerts", "risk.audit")


@dataclass
class Expected:
    """What went in: valid applications by id, bad inputs by their (unique) key."""

    valid: set[str] = field(default_factory=set)
    bad: dict[bytes, bytes | None] = field(default_factory=dict)  # key -> original value


@dataclass
class Report:
    """What came out, in numbers a failure message or a log line can quote."""

    decisions: int
    applications_decided: int
    repeated_decisions: int  # copies beyond the first, byte-identical unless Redis was lost
    changed_repeats: int  # copies whose bytes differ from the first (same decision_id)
    dead_letters: int
    repeated_dead_letters: int  # the same source position dead-lettered again after a restart
    audited: int


def original_bytes(letter: dict) -> bytes:
    """The input bytes a dead letter kept (text, or base64 when they were not UTF-8)."""
    if letter.get("raw_encoding") == "base64":
        return base64.b64decode(letter["raw"])
    return letter["raw"].encode("utf-8")


class OutputReader:
    """Every message of a test's output topics, read from the first offset."""

    def __init__(self, bootstrap: str, prefix: str, topics: Iterable[str] = OUTPUT_TOPICS) -> None:
        self.prefix = prefix
        self.names = list(topics)
        self.messages: dict[str, list[Message]] = {name: [] for name in self.names}
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"verifier-{uuid.uuid4().hex}",  # never committed: assignment only
                "enable.auto.commit": False,
                "fetch.message.max.bytes": 10_000_000,
                "log_level": 0,
                # risk.audit is written in transactions: a fenced or killed writer's batch is aborted, never read
                "isolation.level": "read_committed",
            }
        )
        self._assigned: list[TopicPartition] = []
        self._positions: dict[tuple[str, int], int] = {}

    def _assign(self) -> None:
        """Assign every partition of every output topic that exists by now."""
        metadata = self._consumer.list_topics(timeout=10)
        wanted = []
        for name in self.names:
            topic = metadata.topics.get(self.prefix + name)
            if topic is None or topic.error is not None:
                continue
            wanted += [TopicPartition(self.prefix + name, p, OFFSET_BEGINNING) for p in topic.partitions]
        if len(wanted) != len(self._assigned):
            new = [
                tp for tp in wanted if (tp.topic, tp.partition) not in {(a.topic, a.partition) for a in self._assigned}
            ]
            self._consumer.incremental_assign(new)
            self._assigned += new

    def poll(self, seconds: float = 0.5) -> int:
        """Read what arrives within ``seconds``; returns how many messages came."""
        if not self._assigned:
            self._assign()
        count = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for msg in self._consumer.consume(1000, timeout=0.1):
                if msg.error():
                    continue
                self.messages[msg.topic()[len(self.prefix) :]].append(msg)
                self._positions[(msg.topic(), msg.partition())] = msg.offset() + 1
                count += 1
        # the consumer's own positions too: transaction markers take offsets no message is read at
        for tp in self._consumer.position(self._assigned) if self._assigned else []:
            key = (tp.topic, tp.partition)
            self._positions[key] = max(self._positions.get(key, 0), tp.offset)
        return count

    def wait_until(self, condition: Callable[[OutputReader], bool], *, timeout: float, what: str) -> None:
        """Read until ``condition(self)`` holds; AssertionError naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; {self.summary()}")
            self._assign()
            self.poll(0.5)

    def read_to_end(self, timeout: float = 60.0) -> None:
        """Read every partition up to its high watermark as of now."""
        self._assign()
        ends = {}
        for tp in self._assigned:
            _, high = self._consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
            ends[(tp.topic, tp.partition)] = high
        deadline = time.monotonic() + timeout
        while any(self._positions.get(tp, 0) < high for tp, high in ends.items()):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read the output topics to their end; {self.summary()}")
            self.poll(0.2)

    def docs(self, name: str) -> list[dict]:
        return values(self.messages[name])

    def decided(self) -> set[str]:
        """Application ids with at least one automated decision so far."""
        return {d["application_id"] for d in self.docs("credit.decisions") if d.get("stage") == "automated"}

    def dead_lettered_keys(self) -> set[bytes | None]:
        return {m.key() for m in self.messages["risk.deadletter"]}

    def accounted_for(self, expected: Expected) -> bool:
        """Every valid application decided and every bad input dead-lettered (so far)."""
        return expected.valid <= self.decided() and set(expected.bad) <= self.dead_lettered_keys()

    def summary(self) -> str:
        return ", ".join(f"{name}: {len(msgs)}" for name, msgs in self.messages.items())

    def close(self) -> None:
        self._consumer.close()


def verify(
    reader: OutputReader,
    expected: Expected,
    *,
    redis_lost: bool = False,
    audit: bool = False,
    max_repeats: int | None = None,
    max_deadletter_repeats: int | None = None,
) -> Report:
    """Check the invariants on what ``reader`` has read; raise AssertionError listing every breach.

    ``redis_lost``: Redis forgot decisions during the test (restarted empty or
    down while a batch was read again), so a repeat may carry new bytes; it
    must still carry the same ``decision_id``. ``max_repeats``: how many
    repeated decisions the scenario allows (0 for a clean shutdown).
    """
    problems: list[str] = []
    copies: dict[str, list[bytes]] = defaultdict(list)
    for msg in reader.messages["credit.decisions"]:
        doc = orjson.loads(msg.value())
        if doc.get("stage") != "automated":
            continue
        app_id = doc["application_id"]
        copies[app_id].append(msg.value())
        if msg.key() != app_id.encode():
            problems.append(f"decision of {app_id} keyed {msg.key()!r}")
        if doc["decision_id"] != decision_id_for(app_id):
            problems.append(f"decision of {app_id} has decision_id {doc['decision_id']}, not the deterministic one")

    missing = expected.valid - copies.keys()
    if missing:
        problems.append(f"{len(missing)} valid applications have no decision (gap), e.g. {sorted(missing)[:5]}")
    unexpected = copies.keys() - expected.valid
    if unexpected:
        problems.append(
            f"{len(unexpected)} decisions for applications nobody sent as valid, e.g. {sorted(unexpected)[:5]}"
        )
    repeats = sum(len(v) - 1 for v in copies.values())
    changed = sum(1 for v in copies.values() for other in v[1:] if other != v[0])
    if changed and not redis_lost:
        examples = [a for a, v in copies.items() if len(set(v)) > 1][:5]
        problems.append(f"{changed} repeated decisions differ from the first copy, e.g. {examples}")
    if max_repeats is not None and repeats > max_repeats:
        problems.append(f"{repeats} repeated decisions, at most {max_repeats} allowed here")

    letters_by_key: dict[bytes | None, list[dict]] = defaultdict(list)
    positions: Counter = Counter()
    for msg in reader.messages["risk.deadletter"]:
        letter = orjson.loads(msg.value())
        letters_by_key[msg.key()].append(letter)
        positions[(letter["source_topic"], letter["partition"], letter["offset"])] += 1
    for key, raw in expected.bad.items():
        letters = letters_by_key.get(key)
        if not letters:
            problems.append(f"bad input {key!r} has no dead letter (gap)")
        elif any(original_bytes(letter) != (raw or b"") for letter in letters):
            problems.append(f"dead letter of {key!r} does not keep the original bytes")
    valid_keys = {a.encode() for a in expected.valid}
    wrongly = [k for k in letters_by_key if k in valid_keys]
    if wrongly:
        problems.append(f"valid applications dead-lettered: {wrongly[:5]}")

    audited = 0
    if audit:
        entries = reader.docs("risk.audit")
        seqs = [e["seq"] for e in entries]
        if seqs != list(range(len(seqs))):
            problems.append("the audit trail's sequence numbers have a gap, a repeat or a fork")
        # per decision, not per application: a hold re-issues an approval as a decision of its own
        # (stage ``hold``, its own ``decision_id``), sent and audited like the first
        decisions = [e["record"] for e in entries if e["record"]["kind"] == "decision"]
        per_decision = Counter(r["decision_id"] for r in decisions)
        audited = sum(1 for r in decisions if r.get("stage") == "automated")
        automated = {r["application_id"] for r in decisions if r.get("stage") == "automated"}
        if automated != copies.keys():
            problems.append(f"audit trail covers {len(automated)} applications, decisions {len(copies)}")
        sent = {orjson.loads(m.value())["decision_id"] for m in reader.messages["credit.decisions"]}
        unaudited = sent - per_decision.keys()
        if unaudited:
            problems.append(f"{len(unaudited)} decisions sent but not audited, e.g. {sorted(unaudited)[:5]}")
        twice = [d for d, n in per_decision.items() if n > 1]
        if twice:
            problems.append(f"{len(twice)} decisions audited more than once, e.g. {twice[:5]}")

    repeated_letters = sum(n - 1 for n in positions.values())
    if max_deadletter_repeats is not None and repeated_letters > max_deadletter_repeats:
        problems.append(f"{repeated_letters} inputs dead-lettered again, at most {max_deadletter_repeats} allowed here")

    report = Report(
        decisions=sum(len(v) for v in copies.values()),
        applications_decided=len(copies),
        repeated_decisions=repeats,
        changed_repeats=changed,
        dead_letters=sum(positions.values()),
        repeated_dead_letters=repeated_letters,
        audited=audited,
    )
    assert not problems, "\n".join(problems) + f"\n{report}"
    return report
