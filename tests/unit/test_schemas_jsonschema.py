"""The exported JSON Schemas: valid draft 2020-12, agree with the examples and the records."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from riskmon.schemas import INPUT_EVENTS, export_schemas, json_schemas
from riskmon.schemas.examples import EXAMPLE_NAMES, example

SCHEMAS = json_schemas()
NAMES = ["application", "transaction", "repayment", "review", "transaction_outcome", "decision", "alert", "deadletter"]


def errors(name: str, doc: dict) -> list:
    return list(Draft202012Validator(SCHEMAS[name]).iter_errors(doc))


def test_one_schema_per_event():
    assert list(SCHEMAS) == NAMES == list(EXAMPLE_NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_draft_2020_12(name):
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is True


@pytest.mark.parametrize("name", NAMES)
def test_schema_accepts_its_example(name):
    assert errors(name, example(name)) == []
    assert SCHEMAS[name]["examples"] == [example(name)]


@pytest.mark.parametrize(
    ("name", "field"),
    [(name, f.name) for name, cls in INPUT_EVENTS.items() for f in cls.SPEC.fields if f.required]
    + [
        ("decision", "score"),
        ("decision", "outcome"),
        ("alert", "dedup_key"),
        ("deadletter", "error"),
        ("deadletter", "raw"),
    ],  # fmt: skip
)
def test_schema_refuses_missing_required_field(name, field):
    doc = example(name)
    del doc[field]
    assert errors(name, doc)


REFUSED = [
    # (event, field, value, comment)
    ("application", "amount", -100.0, "negative amount"),
    ("application", "amount", 0, "zero amount"),
    ("application", "annual_income", -1, "negative income"),
    ("transaction", "amount", -0.01, "negative transaction"),
    ("repayment", "amount_paid", -3, "negative payment"),
    ("repayment", "days_past_due", -1, "negative days"),
    ("application", "schema_version", 2, "unsupported version"),
    ("application", "submitted_at", "2026-11-29T14:38:26", "naive timestamp"),
    ("application", "applicant", "Ada", "applicant not an object"),
    ("decision", "score", 1.2, "score above 1"),
    ("decision", "reasons", [{"code": "R", "description": "r", "contribution": 0.1}] * 5, "five reasons"),
    ("decision", "grade", "F", "unknown grade"),
    ("decision", "decided_at", "2026-11-29 14:38", "bad timestamp"),
    ("alert", "level", "fatal", "unknown level"),
    ("alert", "subject", {"kind": "person", "id": "x"}, "unknown subject kind"),
    ("alert", "labels", {"n": 1}, "label not a string"),
    ("deadletter", "raw", "!!not base64!!", "raw_encoding base64 with non-base64 text"),
    ("deadletter", "raw_encoding", "hex", "unknown raw encoding"),
]


@pytest.mark.parametrize(("name", "field", "value", "comment"), REFUSED, ids=[r[3] for r in REFUSED])
def test_schema_refuses(name, field, value, comment):
    doc = example(name)
    doc[field] = value
    assert errors(name, doc)


def test_deadletter_text_raw_needs_no_encoding():
    doc = example("deadletter")
    del doc["raw_encoding"]
    doc["raw"] = "{not json but text}"
    assert errors("deadletter", doc) == []


def test_export_writes_one_pretty_sorted_file_per_event(tmp_path):
    target = tmp_path / "nested" / "schemas"
    paths = export_schemas(target)
    assert [p.name for p in paths] == [f"{n}.schema.json" for n in NAMES]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        loaded = json.loads(text)
        assert loaded == SCHEMAS[path.name.removesuffix(".schema.json")]
        assert text == json.dumps(loaded, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert export_schemas(target) == paths  # again: overwrites, same files
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in paths)


def test_json_schemas_returns_fresh_documents():
    first = json_schemas()
    first["decision"]["properties"]["decided_at"]["pattern"] = "x"  # a shared fragment in the module
    first["application"]["properties"]["features"]["propertyNames"]["maxLength"] = 1
    first["application"]["properties"].clear()
    again = json_schemas()
    assert again["application"]["properties"]["customer_id"]["maxLength"] == 128
    assert again["decision"]["properties"]["decided_at"]["pattern"] != "x"
    assert again["application"]["properties"]["features"]["propertyNames"]["maxLength"] == 64
