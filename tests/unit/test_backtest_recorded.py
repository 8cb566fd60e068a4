"""Reading recorded streams: both line formats, topics, dead letters, mistakes named by line (no broker)."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from riskmon.backtest.record import line_for, wrap
from riskmon.backtest.recorded import StreamFileError, incidents, load_stream, read_stream
from riskmon.schemas.event_files import infer_kind
from tests.unit.backtest_streams import application, parsed, repayment, transaction

APP = application(1)
TX = transaction(1, customer="c-1", at=5)
RP = repayment(1, bad=False, at=50)
REVIEW = {
    "application_id": "app-0001",
    "reviewer": "r-1",
    "outcome": "approve",
    "reason": "ok",
    "reviewed_at": "2026-03-02T10:00:00Z",
}

VALID = [
    # (line in the file, expected topic, expected key)
    (APP, "credit.applications", None),  # bare: inferred from application_id
    (TX, "credit.transactions", None),  # bare: transaction_id wins over everything
    (RP, "credit.repayments", None),  # bare: event_id beats application_id
    (REVIEW, "credit.reviews", None),  # bare: reviewer
    ({**TX, "topic": "credit.transactions"}, "credit.transactions", None),  # bare with a topic field
    ({"topic": "credit.applications", "key": "app-0001", "value": APP}, "credit.applications", "app-0001"),
    ({"topic": "prod.eu.credit.repayments", "key": "k", "value": RP}, "credit.repayments", "k"),  # a prefixed name
    ({"topic": "credit.applications", "key": None, "value": "not json"}, "credit.applications", None),  # raw text
]


@pytest.mark.parametrize("doc, topic, key", VALID)
def test_each_line_format_gives_its_topic_and_bytes(tmp_path: Path, doc: dict, topic: str, key: str | None) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"# a comment\n\n" + orjson.dumps(doc) + b"\n")
    (event,) = list(read_stream(path))
    assert (event.line, event.topic, event.key) == (3, topic, key)
    if "value" not in doc:  # bare: the line's own bytes, as a producer sent them
        assert event.value == orjson.dumps(doc)
    elif isinstance(doc["value"], str):  # raw text of a message that was not an object
        assert event.value == doc["value"].encode()
    else:
        assert orjson.loads(event.value) == doc["value"]


BAD_LINES = [
    (b"this is not json", "not JSON"),
    (b'["an", "array"]', "must be a JSON object, got list"),
    (b'{"name": "no id"}', "not an input event"),
    (b'{"decision_id": "d", "application_id": "a"}', "not an input event"),  # an output, as replay tells it
    (b'{"topic": "risk.alerts", "value": {}}', "'risk.alerts' is not an input topic"),
    (b'{"topic": "credit.reviews", "value": 5}', "value must be an object or a string"),
    (b'{"topic": "credit.reviews", "value": "@@", "value_encoding": "base64"}', "not valid base64"),
]


@pytest.mark.parametrize("line, message", BAD_LINES)
def test_a_line_that_is_not_an_event_is_named_by_file_and_line(tmp_path: Path, line: bytes, message: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(orjson.dumps(APP) + b"\n" + line + b"\n")
    with pytest.raises(StreamFileError) as err:
        list(read_stream(path))
    assert str(err.value).startswith(f"{path}:2: ") and message in str(err.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StreamFileError, match="does not exist"):
        load_stream(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    "value, rule",
    [
        (b"not json", "invalid_json"),  # the worker's dead-letter rules, unchanged
        (orjson.dumps({**APP, "amount": -5}), "minimum"),
        (orjson.dumps({k: v for k, v in APP.items() if k != "customer_id"}), "required"),
    ],
)
def test_a_contract_breaking_event_is_a_dead_letter_not_a_file_error(value: bytes, rule: str) -> None:
    (event,) = parsed(value, topic="credit.applications")
    assert event.record is None and event.error is not None and event.error.rule == rule


RECORDED = [
    # (message on credit.applications, written bare as its own bytes?)
    (orjson.dumps(APP), True),  # what replay sends back as it is
    (b'{"application_id": "x", "amount": -5}', True),  # breaks the contract, still an application: bare
    (orjson.dumps(RP), False),  # replay's rule says repayment: wrapped, so it stays on applications
    (b'{"amount": 5}', False),  # fields that tell no topic
    (orjson.dumps({**APP, "topic": "credit.reviews"}), False),  # a topic field would mislead the reader
    (b'{\n "application_id": "multi-line"\n}', False),  # not one line
    (b' {"application_id": "padded"}', False),  # bare would lose the exact bytes
    (b'["an", "array"]', False),
    (b"\xff\xfe not utf-8", False),
    (b"plain text", False),
    (b"", False),
]


@pytest.mark.parametrize("raw, bare", RECORDED)
def test_what_the_recorder_writes_the_reader_reads_back_as_the_same_message(
    tmp_path: Path, raw: bytes, bare: bool
) -> None:
    line = line_for("credit.applications", b"k", raw, 1)
    assert (line == raw) is bare
    path = tmp_path / "rec.jsonl"
    path.write_bytes(line + b"\n")
    (event,) = list(read_stream(path))
    assert event.topic == "credit.applications"
    assert event.value == raw or orjson.loads(event.value) == orjson.loads(raw)  # a wrapped object is re-encoded
    if bare:
        assert infer_kind(orjson.loads(line)).topic == "credit.applications", (
            "riskmon replay sends it to the same topic"
        )
    assert wrap("credit.applications", None, b"\xff", None)["value"] == base64.b64encode(b"\xff").decode()


def test_incidents_group_labelled_transactions_by_label_and_customer() -> None:
    events = parsed(
        transaction(1, customer="a", at=10, incident="burst"),
        transaction(2, customer="b", at=20, incident="burst"),
        transaction(3, customer="a", at=40, incident="burst"),
        transaction(4, customer="a", at=50),  # unlabelled
        {**transaction(5, customer="c", at=60), "features": {"incident": True}},  # not a string: no label
    )
    assert [(i.label, i.customer_id, i.events, i.end - i.start) for i in incidents(events)] == [
        ("burst", "a", 2, 30.0),
        ("burst", "b", 1, 0.0),
    ]
