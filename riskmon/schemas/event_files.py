"""Recorded events for ``riskmon replay``: reading JSON lines or CSV, and telling their kind.

Why the kind matters: it chooses the contract topic, the message key (so a
replayed customer's events stay in order on one partition, as the contract
keys them) and the field that holds the recorded time (for ``--speed``).

A line that cannot be read is returned as a :class:`BadLine` with its number
and the reason, never dropped: the caller reports and counts it. JSON lines
keep their original bytes, so a replay sends exactly what was recorded. CSV
cells are typed by the contract's field kinds (money and counts become
numbers), dotted headers build objects (``features.debt_to_income``), and
empty cells are left out; a value that does not fit its kind stays text, for
the worker to dead-letter as it would any producer's mistake.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from riskmon.schemas import INPUT_EVENTS, dumps

__all__ = ["EventKind", "KINDS", "BadLine", "Event", "infer_kind", "read_events", "Format", "detect_format"]

Format = Literal["jsonl", "csv"]


@dataclass(frozen=True, slots=True)
class EventKind:
    """Where a kind of event goes: contract topic (without prefix), key field, time field."""

    name: str
    topic: str
    key: str
    time: str


KINDS: dict[str, EventKind] = {
    kind.name: kind
    for kind in (
        EventKind("application", "credit.applications", "application_id", "submitted_at"),
        EventKind("transaction", "credit.transactions", "customer_id", "occurred_at"),
        EventKind("repayment", "credit.repayments", "application_id", "occurred_at"),
        EventKind("review", "credit.reviews", "application_id", "reviewed_at"),
        EventKind("transaction_outcome", "credit.transaction_outcomes", "customer_id", "occurred_at"),
        EventKind("decision", "credit.decisions", "application_id", "decided_at"),
        EventKind("alert", "risk.alerts", "dedup_key", "updated_at"),
        EventKind("deadletter", "risk.deadletter", "key", "received_at"),
    )
}

# Fields that only one kind carries, checked in this order (a decision and a
# review also carry application_id, so the application comes last).
_MARKERS: tuple[tuple[str, str], ...] = (
    ("alert_id", "alert"),
    ("dedup_key", "alert"),
    ("decision_id", "decision"),
    ("raw", "deadletter"),
    ("outcome_id", "transaction_outcome"),
    ("transaction_id", "transaction"),
    ("reviewer", "review"),
    ("event_id", "repayment"),
    ("days_past_due", "repayment"),
    ("application_id", "application"),
)


def infer_kind(fields: Any) -> EventKind | None:
    """The kind of an event from the fields it has (a dict, or a CSV header); ``None`` if unknown.

    >>> infer_kind({"application_id": "a", "amount": 1}).topic
    'credit.applications'
    >>> infer_kind({"application_id": "a", "reviewer": "r"}).name, infer_kind(["decision_id", "application_id"]).name
    ('review', 'decision')
    >>> infer_kind({"hello": 1}) is None
    True
    """
    for marker, name in _MARKERS:
        if marker in fields:
            return KINDS[name]
    return None


@dataclass(frozen=True, slots=True)
class Event:
    """One readable line: its number, the decoded object and the bytes to send."""

    line: int
    doc: dict
    value: bytes


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be sent, and why (one line of text)."""

    line: int
    reason: str


def detect_format(path: Path) -> Format | None:
    """``csv`` or ``jsonl`` from the file name; ``None`` when it does not say.

    >>> detect_format(Path("x.csv")), detect_format(Path("x.ndjson")), detect_format(Path("x.txt"))
    ('csv', 'jsonl', None)
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return None


def read_events(stream: io.BufferedIOBase | Any, fmt: Format) -> Iterator[Event | BadLine]:
    """Events of a binary ``stream`` in file order, bad lines included as :class:`BadLine`."""
    return _read_jsonl(stream) if fmt == "jsonl" else _read_csv(stream)


def _read_jsonl(stream: Any) -> Iterator[Event | BadLine]:
    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue  # a blank line holds no event
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadLine(number, f"not valid JSON: {str(exc).splitlines()[0]}")
            continue
        if not isinstance(doc, dict):
            yield BadLine(number, f"not a JSON object (a {type(doc).__name__})")
            continue
        yield Event(number, doc, line)


# -- CSV --------------------------------------------------------------------------------

_NUMBER_KINDS = {"money", "positive money"}
_INTEGER_KINDS = {"positive integer", "non-negative integer"}
_FIELD_KINDS: dict[str, str] = {
    field.name: field.kind.name for event in INPUT_EVENTS.values() for field in event.SPEC.fields
}
_FIELD_KINDS["schema_version"] = "positive integer"
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def typed_cell(column: str, text: str) -> Any:
    """A CSV cell as the contract types it.

    >>> typed_cell("amount", "5000"), typed_cell("amount", "12.5"), typed_cell("term_months", "36")
    (5000, 12.5, 36)
    >>> typed_cell("customer_id", "00042"), typed_cell("amount", "lots")
    ('00042', 'lots')
    >>> typed_cell("features.revol_util", "0.45"), typed_cell("features.has_guarantor", "false")
    (0.45, False)
    >>> typed_cell("features.home_ownership", "RENT"), typed_cell("features.x", "null")
    ('RENT', None)
    """
    kind = _FIELD_KINDS.get(column)
    if kind in _INTEGER_KINDS:
        return int(text) if _INT.fullmatch(text) else text
    if kind in _NUMBER_KINDS:
        return _number(text)
    if column.startswith("features."):
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        return _number(text)
    return text


def _number(text: str) -> Any:
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def row_to_doc(row: dict[str, str]) -> dict:
    """A CSV row (header -> cell) as an event object: typed, nested on dots, empty cells left out.

    >>> row_to_doc({"application_id": "a-1", "amount": "100", "features.dti": "0.3", "applicant.name": "Ada",
    ...             "channel": ""})
    {'application_id': 'a-1', 'amount': 100, 'features': {'dti': 0.3}, 'applicant': {'name': 'Ada'}}
    """
    doc: dict[str, Any] = {}
    for column, text in row.items():
        if text == "":
            continue
        value = typed_cell(column, text)
        head, dot, rest = column.partition(".")
        if dot and rest:
            target = doc.setdefault(head, {})
            if isinstance(target, dict):
                target[rest] = value
                continue
        doc[column] = value
    return doc


def _read_csv(stream: Any) -> Iterator[Event | BadLine]:
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        yield BadLine(1, f"unreadable CSV header: {exc}")
        return
    if len(set(header)) != len(header) or "" in header:
        yield BadLine(1, "CSV header has empty or repeated column names")
        return
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            yield BadLine(reader.line_num, f"unreadable CSV: {exc}")
            return  # the reader cannot resynchronise after a broken quote or encoding
        if not cells or cells == [""]:
            continue
        if len(cells) != len(header):
            yield BadLine(reader.line_num, f"{len(cells)} cells, the header has {len(header)}")
            continue
        doc = row_to_doc(dict(zip(header, cells, strict=False)))
        yield Event(reader.line_num, doc, dumps(doc))
