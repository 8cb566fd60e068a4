"""Errors, byte decoding, timestamps and encoding of riskmon.schemas (no broker)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from riskmon.schemas import (
    DEFAULT_MAX_MESSAGE_BYTES,
    RULES,
    Level,
    Outcome,
    SchemaError,
    decode_object,
    dumps,
    format_timestamp,
    parse_timestamp,
)

UTC = UTC


# --- SchemaError -------------------------------------------------------------


def test_schema_error_names_field_and_rule():
    err = SchemaError("features.dti", "non_finite", "must be a finite number (got nan)")
    assert (err.field, err.rule) == ("features.dti", "non_finite")
    assert err.message == "features.dti: must be a finite number (got nan)" == str(err)
    assert err.to_error() == {"type": "non_finite", "message": err.message, "field": "features.dti"}
    assert isinstance(err, ValueError)


def test_schema_error_whole_message_has_null_field():
    err = SchemaError("", "invalid_json", "message is not valid JSON")
    assert err.message == "message is not valid JSON"
    assert err.to_error()["field"] is None


def test_schema_error_refuses_unknown_rule():
    with pytest.raises(ValueError, match="unknown schema rule"):
        SchemaError("amount", "too_negative", "x")


def test_schema_error_pickles():
    err = pickle.loads(pickle.dumps(SchemaError("amount", "minimum", "must be > 0")))
    assert (err.field, err.rule, err.message) == ("amount", "minimum", "amount: must be > 0")


def test_rules_are_the_contracted_set():
    assert RULES == (
        "invalid_utf8", "invalid_json", "not_object", "too_large", "required", "type",
        "non_finite", "minimum", "pattern", "length", "enum", "format", "unsupported_version",
    )  # fmt: skip


# --- decode_object -------------------------------------------------------------

BAD_BYTES = [
    # (raw, field, rule, comment)
    (b"\xff\xfe{}", "", "invalid_utf8", "UTF-16 BOM, not UTF-8"),
    (b'{"a": "caf\xe9"}', "", "invalid_utf8", "Latin-1 byte inside a string"),
    (b'{"a": "\xc3"}', "", "invalid_utf8", "truncated multi-byte sequence"),
    (b'{"a": 1} \xff', "", "invalid_utf8", "stray byte after the document"),
    (b"not json", "", "invalid_json", "plain text"),
    (b'{"a": ', "", "invalid_json", "truncated object"),
    (b'{"a": 1} x', "", "invalid_json", "trailing content"),
    (b"{'a': 1}", "", "invalid_json", "single quotes"),
    (b"\xef\xbb\xbf{}", "", "invalid_json", "UTF-8 byte order mark"),
    (b'{"a": "\\ud800"}', "", "invalid_json", "lone surrogate escape: cannot be re-encoded"),
    (b'{"a": NaN, }', "", "invalid_json", "NaN plus a syntax error: the syntax error wins"),
    (b"[" * 2000 + b"]" * 2000, "", "invalid_json", "nested too deep"),
    (b"", "", "invalid_json", "empty body"),
    (b"   \n", "", "invalid_json", "only whitespace"),
    (None, "", "invalid_json", "tombstone / null value"),
    (b"[1, 2]", "", "not_object", "array at top level"),
    (b'"text"', "", "not_object", "string at top level"),
    (b"42", "", "not_object", "number at top level"),
    (b"null", "", "not_object", "null literal at top level"),
    (b"true", "", "not_object", "boolean at top level"),
    (b"NaN", "", "non_finite", "NaN literal at top level"),
    (b"Infinity", "", "non_finite", "Infinity literal at top level"),
    (b'{"amount": NaN}', "amount", "non_finite", "NaN literal in a field"),
    (b'{"amount": Infinity}', "amount", "non_finite", "Infinity literal"),
    (b'{"amount": -Infinity}', "amount", "non_finite", "-Infinity literal"),
    (b'{"amount": 1e400}', "amount", "non_finite", "float overflowing to inf"),
    (b'{"amount": -1.8e308}', "amount", "non_finite", "just past the largest double"),
    (b'{"amount": 1' + b"0" * 400 + b"}", "amount", "non_finite", "integer beyond a double's range"),
    (b'{"amount": 1' + b"0" * 5000 + b"}", "amount", "non_finite", "integer past int()'s digit limit"),
    (b'{"ok": 1, "features": {"x": [1, -1e999]}}', "features.x[1]", "non_finite", "nested: path of the first"),
    (b'{"applicant": {"income": 1e400}}', "applicant", "non_finite", "in personal data: path stops at applicant"),
]


@pytest.mark.parametrize(("raw", "field", "rule", "comment"), BAD_BYTES, ids=[c[3] for c in BAD_BYTES])
def test_decode_object_names_the_broken_rule(raw, field, rule, comment):
    with pytest.raises(SchemaError) as info:
        decode_object(raw)
    assert (info.value.field, info.value.rule) == (field, rule), info.value.message


def test_decode_object_non_finite_message_shows_literal():
    with pytest.raises(SchemaError, match=r"^amount: must be a finite number \(got 1e400\)"):
        decode_object(b'{"amount": 1e400}')
    with pytest.raises(SchemaError, match=r"\(got -Infinity\)"):
        decode_object(b'{"amount": -Infinity}')


def test_decode_object_invalid_utf8_message_gives_offset():
    with pytest.raises(SchemaError, match=r"byte 0xe9 at offset 10"):
        decode_object(b'{"a": "caf\xe9"}')


def test_decode_object_too_large_is_checked_before_parsing():
    # Invalid UTF-8 *and* too large: too_large wins, nothing is parsed.
    with pytest.raises(SchemaError) as info:
        decode_object(b"\xff" * 101, max_bytes=100)
    assert info.value.rule == "too_large"
    assert "101 bytes" in info.value.message and "100" in info.value.message


def test_decode_object_size_limit_is_inclusive():
    body = b'{"a": "' + b"x" * 92 + b'"}'
    assert len(body) == 101
    assert decode_object(body, max_bytes=101) == {"a": "x" * 92}
    with pytest.raises(SchemaError, match="too_large|over the limit"):
        decode_object(body, max_bytes=100)


def test_decode_object_default_limit():
    assert DEFAULT_MAX_MESSAGE_BYTES == 256 * 1024
    with pytest.raises(SchemaError) as info:
        decode_object(b" " * (DEFAULT_MAX_MESSAGE_BYTES + 1))
    assert info.value.rule == "too_large"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": 5000, "ok": true}',  # bytes
        bytearray(b'{"amount": 5000, "ok": true}'),  # bytearray
        memoryview(b'{"amount": 5000, "ok": true}'),  # memoryview
    ],
)
def test_decode_object_accepts_bytes_like(raw):
    assert decode_object(raw) == {"amount": 5000, "ok": True}


def test_decode_object_keeps_large_finite_numbers():
    # 1.5e308 and a 30-digit integer are finite: fine.
    assert decode_object(b'{"a": 1.5e308, "b": 123456789012345678901234567890}')["a"] == 1.5e308


def test_decode_object_refuses_text():
    with pytest.raises(TypeError):
        decode_object('{"a": 1}')  # type: ignore[arg-type]


# --- timestamps ---------------------------------------------------------------

GOOD_TIMESTAMPS = [
    # (text, expected UTC datetime, comment)
    ("2026-11-29T14:38:26.123Z", datetime(2026, 11, 29, 14, 38, 26, 123000, UTC), "canonical"),
    ("2026-11-29T14:38:26Z", datetime(2026, 11, 29, 14, 38, 26, tzinfo=UTC), "no fraction"),
    ("2026-11-29T15:38:26+01:00", datetime(2026, 11, 29, 14, 38, 26, tzinfo=UTC), "positive offset"),
    ("2026-11-29T09:08:26-05:30", datetime(2026, 11, 29, 14, 38, 26, tzinfo=UTC), "negative half-hour offset"),
    ("2026-11-29T14:38:26-00:00", datetime(2026, 11, 29, 14, 38, 26, tzinfo=UTC), "unknown local offset"),
    ("2026-11-29t14:38:26.5z", datetime(2026, 11, 29, 14, 38, 26, 500000, UTC), "lower-case t and z"),
    ("2026-11-29 14:38:26Z", datetime(2026, 11, 29, 14, 38, 26, tzinfo=UTC), "space separator"),
    ("2026-11-29T14:38:26.123456789Z", datetime(2026, 11, 29, 14, 38, 26, 123456, UTC), "nanoseconds truncated"),
    ("2026-12-31T23:30:00-01:00", datetime(2027, 1, 1, 0, 30, tzinfo=UTC), "offset crosses a year"),
]


@pytest.mark.parametrize(("text", "expected", "comment"), GOOD_TIMESTAMPS, ids=[c[2] for c in GOOD_TIMESTAMPS])
def test_parse_timestamp_accepts_rfc3339(text, expected, comment):
    got = parse_timestamp(text, "at")
    assert got == expected and got.tzinfo is UTC


BAD_TIMESTAMPS = [
    # (value, rule, comment)
    ("2026-11-29T14:38:26", "format", "naive: no offset"),
    ("2026-11-29T14:38:26.123", "format", "naive with fraction"),
    ("2026-11-29", "format", "date only"),
    ("2026-11-29T14:38Z", "format", "no seconds"),
    ("20261129T143826Z", "format", "ISO basic format"),
    ("2026-W48-7T14:38:26Z", "format", "week date"),
    ("29/11/2026 14:38:26Z", "format", "local date format"),
    ("2026-11-29T14:38:26+0100", "format", "offset without colon"),
    ("2026-11-29T14:38:26+24:00", "format", "offset out of range"),
    ("2026-02-30T00:00:00Z", "format", "no such day"),
    ("2026-11-29T24:00:00Z", "format", "hour 24"),
    ("2026-12-31T23:59:60Z", "format", "leap second"),
    ("0001-01-01T00:30:00+01:00", "format", "before year 1 in UTC"),
    ("２０２６-11-29T14:38:26Z", "format", "non-ASCII digits"),
    ("", "format", "empty string"),
    (1764427106, "type", "epoch number"),
    (None, "type", "null"),
]


@pytest.mark.parametrize(("value", "rule", "comment"), BAD_TIMESTAMPS, ids=[c[2] for c in BAD_TIMESTAMPS])
def test_parse_timestamp_refuses(value, rule, comment):
    with pytest.raises(SchemaError) as info:
        parse_timestamp(value, "submitted_at")
    assert (info.value.field, info.value.rule) == ("submitted_at", rule)


def test_naive_timestamp_message_asks_for_an_offset():
    with pytest.raises(SchemaError, match="must include a UTC offset"):
        parse_timestamp("2026-11-29T14:38:26", "at")


def test_format_timestamp_is_utc_milliseconds_z():
    paris = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2026, 11, 29, 15, 38, 26, 123999, paris)) == "2026-11-29T14:38:26.123Z"
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    assert format_timestamp(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000Z"


def test_format_timestamp_refuses_naive():
    with pytest.raises(ValueError, match="aware"):
        format_timestamp(datetime(2026, 11, 29))


def test_timestamp_round_trip_to_milliseconds():
    dt = datetime(2026, 11, 29, 14, 38, 26, 123456, UTC)
    assert parse_timestamp(format_timestamp(dt), "at") == dt.replace(microsecond=123000)


# --- dumps --------------------------------------------------------------------


def test_dumps_is_compact_json():
    assert dumps({"a": 1, "b": [True, None], "c": "é"}) == '{"a":1,"b":[true,null],"c":"é"}'.encode()


def test_dumps_refuses_non_string_keys():
    with pytest.raises(TypeError):
        dumps({1: "x"})


def test_dumps_writes_datetimes_in_contract_format():
    assert dumps({"at": datetime(2026, 11, 29, 14, 38, 26, 5000, UTC)}) == b'{"at":"2026-11-29T14:38:26.005Z"}'


def test_dumps_uses_to_dict_of_records():
    @dataclass
    class Thing:
        x: int

        def to_dict(self):
            return {"renamed": self.x}

    assert dumps({"t": Thing(1)}) == b'{"t":{"renamed":1}}'
    assert dumps(Thing(2)) == b'{"renamed":2}'  # type: ignore[arg-type]


def test_dumps_refuses_bytes():
    with pytest.raises(TypeError):
        dumps({"raw": b"\xff"})


def test_dumps_output_decodes_back():
    obj = {"n": 1.5, "s": "x", "l": [1, {"k": None}]}
    assert decode_object(dumps(obj)) == obj == orjson.loads(dumps(obj))


# --- ordered vocabularies -------------------------------------------------------


def test_outcome_is_ordered_and_parses():
    assert Outcome.APPROVE < Outcome.REVIEW < Outcome.REJECT
    assert Outcome.parse("reject") is Outcome.REJECT
    assert Outcome.parse(Outcome.REVIEW) is Outcome.REVIEW
    assert str(Outcome.worst(["approve", Outcome.REVIEW])) == "review"
    assert Outcome.worst([]) is Outcome.APPROVE
    with pytest.raises(ValueError, match="approve, review, reject"):
        Outcome.parse("decline")
    with pytest.raises(ValueError):
        Outcome.parse(None)  # type: ignore[arg-type]


def test_level_is_ordered():
    assert Level.INFO < Level.WARNING < Level.CRITICAL
    assert str(Level.worst(["warning", "info"])) == "warning"
