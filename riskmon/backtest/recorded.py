"""Recorded streams: the JSON-lines files ``riskmon backtest`` reads and ``riskmon backtest record`` writes.

The format is the one ``riskmon replay`` reads, so one file can be replayed
to a live worker and backtested offline. One JSON object per line, either

* a contract input event exactly as produced, e.g. ``{"application_id": ...}``
  (what ``riskmon replay`` sends and ``riskmon backtest record`` writes for
  every JSON object): its topic is named by a ``topic`` field if it has one,
  else inferred from its fields by replay's own rule
  (:func:`riskmon.schemas.event_files.infer_kind`); or
* a wrapped record ``{"topic": "credit.transactions", "key": "cust-1",
  "value": {...}}`` (optionally ``"timestamp"``, the broker's, in ms). A
  ``value`` that is a string is the raw text of a message that was not a
  JSON object (base64 when ``"value_encoding": "base64"``): kept so that the
  backtest counts it as a dead letter, as the worker did.

Topic names may carry the deployment's prefix (``staging.credit.applications``).
Blank lines and lines starting with ``#`` are skipped. A line that is not a
JSON object, or whose topic cannot be told, is a mistake in the file: the
error names the file and the line. An event that breaks the contract is not:
it becomes a dead letter in the results, like on the worker.

Labels: a transaction's ``features.incident`` (a string) names the labelled
incident it belongs to (``riskmon.demo.transactions`` labels its injected
incidents this way). Transaction features are not model or detector inputs,
so the label changes nothing the worker computes. Applications are labelled
by their loans' repayment outcomes in the same stream.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from riskmon.schemas import (
    DEFAULT_MAX_MESSAGE_BYTES,
    Application,
    Repayment,
    Review,
    SchemaError,
    Transaction,
    TransactionOutcome,
    decode_object,
)

__all__ = [
    "TOPICS",
    "Incident",
    "Parsed",
    "RecordedEvent",
    "StreamFileError",
    "incidents",
    "infer_topic",
    "load_stream",
    "parse_event",
    "read_stream",
]

#: Contract input topics and their records.
TOPICS: dict[str, type[Application] | type[Transaction] | type[Repayment] | type[Review] | type[TransactionOutcome]] = {
    "credit.applications": Application,
    "credit.transactions": Transaction,
    "credit.repayments": Repayment,
    "credit.reviews": Review,
    "credit.transaction_outcomes": TransactionOutcome,
}

Record = Application | Transaction | Repayment | Review | TransactionOutcome


class StreamFileError(ValueError):
    """The data file cannot be read as a recorded stream; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One line of a recorded stream: which topic, and the message's original bytes."""

    line: int
    topic: str  # the contract's topic name, without any prefix
    value: bytes
    key: str | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A recorded event validated as the worker validates it: a record or the broken rule."""

    event: RecordedEvent
    record: Record | None
    error: SchemaError | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """A labelled incident: the transactions of one customer that carry the same ``features.incident``."""

    label: str
    customer_id: str
    start: float  # epoch seconds of its first and last transaction
    end: float
    events: int


def infer_topic(doc: dict) -> str | None:
    """The contract topic of a bare event, from its ``topic`` field or, as replay does, its fields.

    None when neither tells, or when the fields are an output's (a decision,
    an alert, a dead letter): those are not inputs to replay.

    >>> infer_topic({"event_id": "e", "application_id": "a", "status": "late"})
    'credit.repayments'
    >>> infer_topic({"topic": "prod.credit.transactions", "transaction_id": "t"})
    'credit.transactions'
    >>> infer_topic({"name": "x"}), infer_topic({"decision_id": "d", "application_id": "a"})
    (None, None)
    """
    from riskmon.schemas.event_files import infer_kind

    named = doc.get("topic")
    if isinstance(named, str):
        return _canonical(named)
    kind = infer_kind(doc)
    return kind.topic if kind is not None and kind.topic in TOPICS else None


def _canonical(name: str) -> str | None:
    for topic in TOPICS:
        if name == topic or name.endswith("." + topic):
            return topic
    return None


def _wrapped_value(doc: dict, where: str) -> bytes:
    value = doc["value"]
    if isinstance(value, dict):
        return orjson.dumps(value)
    if isinstance(value, str):
        if doc.get("value_encoding") == "base64":
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise StreamFileError(f"{where}: value is not valid base64") from None
        return value.encode("utf-8")
    raise StreamFileError(f"{where}: value must be an object or a string, got {type(value).__name__}")


def _event(line_no: int, text: bytes, where: str) -> RecordedEvent:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise StreamFileError(f"{where}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise StreamFileError(f"{where}: must be a JSON object, got {type(doc).__name__}")
    if "topic" in doc and "value" in doc:
        topic = _canonical(doc["topic"]) if isinstance(doc["topic"], str) else None
        if topic is None:
            raise StreamFileError(f"{where}: topic {doc['topic']!r} is not an input topic ({', '.join(TOPICS)})")
        key = doc.get("key")
        stamp = doc.get("timestamp")
        return RecordedEvent(
            line_no,
            topic,
            _wrapped_value(doc, where),
            key=key if isinstance(key, str) else None,
            timestamp_ms=stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None,
        )
    topic = infer_topic(doc)
    if topic is None:
        raise StreamFileError(
            f"{where}: not an input event (application, transaction, repayment or review): give it a topic "
            'field or wrap it as {"topic": ..., "value": {...}}'
        )
    return RecordedEvent(line_no, topic, text)


def read_stream(path: str | Path) -> Iterator[RecordedEvent]:
    """The events of a recorded stream, in file order."""
    p = Path(path)
    if not p.is_file():
        raise StreamFileError(f"data file {p} does not exist" if not p.exists() else f"data file {p} is not a file")
    with p.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text or text.startswith(b"#"):
                continue
            yield _event(line_no, text, f"{p}:{line_no}")


def parse_event(event: RecordedEvent, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Parsed:
    """Validate an event as the worker does: the record, or the rule it breaks."""
    try:
        return Parsed(event, TOPICS[event.topic].from_dict(decode_object(event.value, max_bytes=max_bytes)))
    except SchemaError as exc:
        return Parsed(event, None, exc)


def load_stream(path: str | Path, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[Parsed]:
    """Read and validate a whole recorded stream (once: every configuration replays the same list)."""
    return [parse_event(e, max_bytes=max_bytes) for e in read_stream(path)]


def incidents(events: list[Parsed]) -> list[Incident]:
    """The labelled incidents of a stream, in order of their first transaction.

    >>> from riskmon.schemas import dumps
    >>> def tx(i, label):
    ...     doc = {"transaction_id": f"t{i}", "customer_id": "c1", "occurred_at": f"2026-01-01T00:00:0{i}Z",
    ...            "amount": 5, "type": "purchase", "features": {"incident": label} if label else {}}
    ...     return parse_event(RecordedEvent(i, "credit.transactions", dumps(doc)))
    >>> found = incidents([tx(1, "burst"), tx(2, None), tx(3, "burst")])
    >>> [(i.label, i.customer_id, i.end - i.start, i.events) for i in found]
    [('burst', 'c1', 2.0, 2)]
    """
    found: dict[tuple[str, str], list[datetime]] = {}
    for parsed in events:
        record = parsed.record
        if not isinstance(record, Transaction):
            continue
        label = record.features.get("incident")
        if isinstance(label, str) and label:
            found.setdefault((label, record.customer_id), []).append(record.occurred_at)
    out = [
        Incident(label, customer, min(times).timestamp(), max(times).timestamp(), len(times))
        for (label, customer), times in found.items()
    ]
    return sorted(out, key=lambda i: (i.start, i.label, i.customer_id))
