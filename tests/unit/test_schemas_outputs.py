"""Output events: Decision, Alert, DeadLetter (construction checks, JSON shape, round trips)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from riskmon.schemas import (
    Alert,
    AlertSubject,
    DeadLetter,
    Decision,
    Level,
    Outcome,
    Reason,
    SchemaError,
    decode_object,
    dumps,
    json_schemas,
)
from riskmon.schemas.examples import example

UTC = UTC
AT = datetime(2026, 11, 29, 14, 38, 26, 140000, UTC)
SCHEMAS = json_schemas()


def decision(**changes) -> Decision:
    fields = dict(
        decision_id="dec-1",
        application_id="app-1",
        customer_id="cust-1",
        decided_at=AT,
        stage="automated",
        outcome="approve",
        score=0.04,
        grade="A",
        approved_amount=5000.0,
        currency="EUR",
        reasons=(Reason("DTI_LOW", "Low debt-to-income ratio", -0.2),),
        model_version="scorecard-v1",
        policy_version="p1",
        latency_ms=1.5,
    )
    fields.update(changes)
    return Decision(**fields)


def alert(**changes) -> Alert:
    fields = dict(
        alert_id="alr-1",
        dedup_key="velocity:customer:cust-1",
        level="critical",
        status="firing",
        detector="velocity",
        subject=AlertSubject("customer", "cust-1"),
        summary="9 withdrawals in 10 minutes",
        value=9.0,
        threshold=5.0,
        window="10m",
        started_at=AT,
        updated_at=AT,
        count=2,
        labels={"team": "risk-ops"},
        runbook_url=None,
    )
    fields.update(changes)
    return Alert(**fields)


# --- Decision ---------------------------------------------------------------------

BAD_DECISIONS = [
    # (changes, comment)
    ({"outcome": "decline"}, "outcome outside approve/review/reject"),
    ({"stage": "auto"}, "unknown stage"),
    ({"grade": "F"}, "grade past E"),
    ({"grade": "a"}, "lower-case grade"),
    ({"score": 1.5}, "score above 1"),
    ({"score": -0.01}, "negative score"),
    ({"score": float("nan")}, "NaN score"),
    ({"score": None}, "missing score"),
    ({"reasons": tuple(Reason(f"R{i}", "r", 0.1) for i in range(5))}, "five reasons"),
    ({"reasons": ({"code": "R", "description": "r", "contribution": 0.1},)}, "reason as a dict"),
    ({"approved_amount": -1.0}, "negative approved amount"),
    ({"decided_at": datetime(2026, 11, 29)}, "naive decision time"),
]


@pytest.mark.parametrize(("changes", "comment"), BAD_DECISIONS, ids=[c[1] for c in BAD_DECISIONS])
def test_decision_refuses_what_our_code_could_get_wrong(changes, comment):
    with pytest.raises(ValueError):
        decision(**changes)


def test_reason_contribution_must_be_finite():
    with pytest.raises(ValueError):
        Reason("R", "r", float("inf"))


def test_decision_to_dict_is_the_contract_shape():
    d = decision().to_dict()
    assert list(d) == [
        "decision_id", "application_id", "customer_id", "decided_at", "stage", "outcome", "score", "grade",
        "approved_amount", "currency", "reasons", "model_version", "policy_version", "latency_ms",
    ]  # fmt: skip
    assert d["decided_at"] == "2026-11-29T14:38:26.140Z"
    assert d["reasons"] == [{"code": "DTI_LOW", "description": "Low debt-to-income ratio", "contribution": -0.2}]
    Draft202012Validator(SCHEMAS["decision"]).validate(d)


def test_decision_accepts_enum_outcome_and_list_of_reasons():
    d = decision(outcome=Outcome.REVIEW, reasons=[Reason("R", "r", 1.0)] * 4, approved_amount=None)
    assert d.outcome == "review" and isinstance(d.reasons, tuple) and len(d.reasons) == 4
    assert d.to_dict()["outcome"] == "review"


def test_decision_round_trips():
    d = decision()
    assert Decision.from_dict(decode_object(dumps(d.to_dict()))) == d
    assert Decision.from_dict(example("decision")).to_dict() == example("decision")
    assert dumps(d) == dumps(d.to_dict())


# --- Alert ----------------------------------------------------------------------

BAD_ALERTS = [
    # (changes, comment)
    ({"level": "error"}, "unknown level"),
    ({"status": "open"}, "unknown status"),
    ({"subject": {"kind": "person", "id": "c"}}, "unknown subject kind"),
    ({"subject": "cust-1"}, "subject as string"),
    ({"labels": {"count": 3}}, "label value not a string"),
    ({"updated_at": datetime(2026, 11, 29)}, "naive update time"),
]


@pytest.mark.parametrize(("changes", "comment"), BAD_ALERTS, ids=[c[1] for c in BAD_ALERTS])
def test_alert_refuses_what_our_code_could_get_wrong(changes, comment):
    with pytest.raises(ValueError):
        alert(**changes)


def test_alert_subject_kind_is_checked():
    with pytest.raises(ValueError):
        AlertSubject("person", "x")


def test_alert_to_dict_is_the_contract_shape():
    a = alert(level=Level.WARNING, subject={"kind": "model", "id": "scorecard-v1"})
    d = a.to_dict()
    assert d["level"] == "warning" and d["subject"] == {"kind": "model", "id": "scorecard-v1"}
    assert d["started_at"] == "2026-11-29T14:38:26.140Z" and d["runbook_url"] is None
    Draft202012Validator(SCHEMAS["alert"]).validate(d)


def test_alert_round_trips():
    a = alert()
    assert Alert.from_dict(decode_object(dumps(a.to_dict()))) == a
    assert Alert.from_dict(example("alert")).to_dict() == example("alert")


def test_alert_defaults():
    a = Alert(alert_id="a", dedup_key="k", level="info", status="resolved", detector="d",
              subject=AlertSubject("pipeline", "worker-1"), summary="s", started_at=AT, updated_at=AT)  # fmt: skip
    assert (a.value, a.threshold, a.window, a.count, a.labels, a.runbook_url) == (None, None, None, 1, {}, None)


# --- DeadLetter ------------------------------------------------------------------

RAWS = [
    # (raw, expected "raw" in JSON, expected raw_encoding, comment)
    (b'{"amount": -5}', '{"amount": -5}', None, "valid UTF-8 JSON: as text"),
    (b"caf\xc3\xa9", "café", None, "UTF-8 non-ASCII: as text"),
    (b"", "", None, "empty body: empty text"),
    (None, None, None, "tombstone: null"),
    (b"\xff\xfe\x00{", base64.b64encode(b"\xff\xfe\x00{").decode(), "base64", "not UTF-8: base64"),
    (b"caf\xe9", "Y2Fm6Q==", "base64", "Latin-1: base64"),
    (b"\xed\xa0\x80", "7aCA", "base64", "encoded surrogate is not valid UTF-8"),
]


def deadletter(raw: bytes | None, key: bytes | None = b"app-1") -> DeadLetter:
    return DeadLetter(
        source_topic="credit.applications",
        partition=3,
        offset=42,
        key=key,
        received_at=AT,
        error={"type": "invalid_utf8", "message": "message is not valid UTF-8", "field": None},
        raw=raw,
    )


@pytest.mark.parametrize(("raw", "text", "encoding", "comment"), RAWS, ids=[r[3] for r in RAWS])
def test_deadletter_renders_raw(raw, text, encoding, comment):
    dl = deadletter(raw)
    d = dl.to_dict()
    assert d["raw"] == text
    assert d.get("raw_encoding") == encoding
    assert ("raw_encoding" in d) == (encoding is not None)
    Draft202012Validator(SCHEMAS["deadletter"]).validate(d)
    # Exact bytes survive the trip through the topic.
    back = DeadLetter.from_dict(orjson.loads(dumps(d)))
    assert back.raw == raw and back == dl


def test_deadletter_renders_key_like_raw():
    d = deadletter(b"ok", key=b"\x00\xff").to_dict()
    assert d["key"] == "AP8=" and d["key_encoding"] == "base64" and "raw_encoding" not in d
    assert list(d)[:5] == ["source_topic", "partition", "offset", "key", "key_encoding"]
    d = deadletter(b"ok", key=None).to_dict()
    assert d["key"] is None and "key_encoding" not in d


@settings(derandomize=True, max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64) | st.none(), key=st.binary(max_size=16) | st.none())
def test_deadletter_round_trips_any_bytes(raw, key):
    dl = deadletter(raw, key)
    assert DeadLetter.from_dict(decode_object(dumps(dl.to_dict()))) == dl


def test_deadletter_from_schema_error():
    raw = b'{"application_id": "app-1", "amount": NaN}'
    try:
        decode_object(raw)
    except SchemaError as err:
        error = err
    dl = DeadLetter.from_error(source_topic="credit.applications", partition=0, offset=9, key=b"app-1", raw=raw,
                               error=error, received_at=AT)  # fmt: skip
    d = dl.to_dict()
    assert d["error"] == {"type": "non_finite", "message": error.message, "field": "amount"}
    assert d["raw"] == raw.decode() and d["key"] == "app-1" and d["offset"] == 9
    assert d["received_at"] == "2026-11-29T14:38:26.140Z"


def test_deadletter_from_other_exception():
    dl = DeadLetter.from_error(source_topic="credit.transactions", partition=None, offset=None, key=None,
                               raw=bytearray(b"{}"), error=KeyError("velocity"), received_at=AT)  # fmt: skip
    assert dl.error == {"type": "processing_error", "message": "KeyError: 'velocity'", "field": None}
    assert dl.raw == b"{}" and isinstance(dl.raw, bytes)
    long = DeadLetter.from_error(source_topic="t", partition=0, offset=0, key=None, raw=None,
                                 error=RuntimeError("x" * 5000), received_at=AT)  # fmt: skip
    assert long.error["message"].startswith("RuntimeError: x") and len(long.error["message"]) <= 500
    bare = dataclasses.replace(long, error={"type": "processing_error", "message": "m", "field": None})
    assert bare.to_dict()["raw"] is None


def test_deadletter_needs_an_error_object_and_aware_time():
    with pytest.raises(ValueError):
        dataclasses.replace(deadletter(b"x"), error={"message": "no type"})
    with pytest.raises(ValueError):
        dataclasses.replace(deadletter(b"x"), received_at=datetime(2026, 11, 29))


def test_deadletter_from_dict_refuses_bad_base64():
    d = deadletter(b"\xff").to_dict()
    d["raw"] = "!!not base64!!"
    with pytest.raises(ValueError):
        DeadLetter.from_dict(d)
