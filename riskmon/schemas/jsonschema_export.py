"""JSON Schemas (draft 2020-12) of every event, for producers and consumers.

Input schemas are generated from the same field specs that validate
messages. A few rules JSON Schema cannot state are documented in the
schemas' descriptions: an integer field refuses ``12.0`` here (JSON Schema
calls it an integer), timestamps must be real dates, and numbers must be finite.
"""

from __future__ import annotations

import copy
from pathlib import Path

import orjson

from riskmon.schemas.errors import RULES
from riskmon.schemas.examples import example
from riskmon.schemas.fields import CURRENCY, ID, MONEY, TIMESTAMP, nullable
from riskmon.schemas.inputs import INPUT_EVENTS
from riskmon.schemas.outputs import MAX_REASONS
from riskmon.schemas.vocab import ALERT_STATUSES, GRADES, LEVELS, OUTCOMES, STAGES, SUBJECT_KINDS

__all__ = ["DRAFT", "json_schemas", "export_schemas"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

_INPUT_NOTE = (
    " Unknown fields are kept and ignored. Beyond this schema: integer fields refuse"
    " a number written with a fraction or exponent (12.0), timestamps must be real dates,"
    " and NaN or Infinity is never accepted."
)
_TEXT = {"type": "string", "minLength": 1}
_NUMBER = {"type": "number"}


def _document(name: str, description: str, properties: dict, required: list[str], **more: object) -> dict:
    return {
        "$schema": DRAFT,
        "$id": f"urn:riskmon:schema:{name}",
        "title": name,
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
        "examples": [example(name)],
        **more,
    }


def _input_schema(name: str) -> dict:
    cls = INPUT_EVENTS[name]
    summary = (cls.__doc__ or name).strip().splitlines()[0].replace("``", "")
    parts = cls.SPEC.json_schema()
    return _document(name, summary + _INPUT_NOTE, parts["properties"], parts["required"])


def _decision_schema() -> dict:
    reason = {
        "type": "object",
        "properties": {"code": _TEXT, "description": {"type": "string"}, "contribution": _NUMBER},
        "required": ["code", "description", "contribution"],
    }
    props = {
        "decision_id": {**ID.schema, "description": "Deterministic: reprocessing an application yields the same id."},
        "application_id": ID.schema,
        "customer_id": ID.schema,
        "decided_at": TIMESTAMP.schema,
        "stage": {"enum": list(STAGES)},
        "outcome": {"enum": list(OUTCOMES)},
        "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "Probability of default."},
        "grade": {"enum": list(GRADES), "description": "A best to E worst."},
        "approved_amount": nullable(MONEY.schema),
        "currency": nullable(CURRENCY.schema),
        "reasons": {
            "type": "array",
            "maxItems": MAX_REASONS,
            "items": reason,
            "description": "Most important first.",
        },
        "model_version": _TEXT,
        "policy_version": _TEXT,
        "latency_ms": {"type": "number", "minimum": 0},
        "supersedes": {
            **ID.schema,
            "description": "On a hold only: the decision_id of the approval it re-issues as a review.",
        },
        "alert": {
            "type": "object",
            "description": "On a hold only: the customer alert that turned critical.",
            "properties": {"dedup_key": _TEXT, "alert_id": _TEXT, "detector": _TEXT, "level": {"enum": list(LEVELS)}},
            "required": ["dedup_key", "alert_id", "detector", "level"],
        },
    }
    required = [k for k in props if k not in ("currency", "supersedes", "alert")]
    return _document("decision", "A decision on credit.decisions (key: application_id).", props, required)


def _alert_schema() -> dict:
    props = {
        "alert_id": _TEXT,
        "dedup_key": _TEXT,
        "level": {"enum": list(LEVELS), "description": "info < warning < critical."},
        "status": {"enum": list(ALERT_STATUSES)},
        "detector": _TEXT,
        "subject": {
            "type": "object",
            "properties": {"kind": {"enum": list(SUBJECT_KINDS)}, "id": {"type": "string"}},
            "required": ["kind", "id"],
        },
        "summary": {"type": "string"},
        "value": nullable(_NUMBER),
        "threshold": nullable(_NUMBER),
        "window": nullable({"type": "string"}),
        "started_at": TIMESTAMP.schema,
        "updated_at": TIMESTAMP.schema,
        "count": {"type": "integer", "minimum": 0},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "runbook_url": nullable({"type": "string", "format": "uri"}),
    }
    required = list(props)
    props.update(
        {  # set by the alert manager; optional
            "acknowledged_by": _TEXT,
            "acknowledged_at": TIMESTAMP.schema,
            "suppressed_by": _TEXT,
            "group_key": _TEXT,
            "notification": {"type": "string"},
        }
    )
    return _document("alert", "A graded alert on risk.alerts (key: dedup_key). No personal data.", props, required)


def _deadletter_schema() -> dict:
    base64_text = {"type": "string", "contentEncoding": "base64", "pattern": "^[A-Za-z0-9+/]*={0,2}$"}
    props = {
        "source_topic": _TEXT,
        "partition": nullable({"type": "integer", "minimum": 0}),
        "offset": nullable({"type": "integer", "minimum": 0}),
        "key": nullable({"type": "string", "description": "Original key: text, or base64 if key_encoding is set."}),
        "key_encoding": {"enum": ["base64"]},
        "received_at": TIMESTAMP.schema,
        "error": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "examples": [*RULES, "processing_error"]},
                "message": {"type": "string"},
                "field": nullable({"type": "string"}),
            },
            "required": ["type", "message", "field"],
        },
        "raw": nullable(
            {"type": "string", "description": "Original bytes: text if valid UTF-8, else base64 with raw_encoding."}
        ),
        "raw_encoding": {"enum": ["base64"]},
    }
    required = [k for k in props if not k.endswith("_encoding")]
    return _document(
        "deadletter",
        "A message that could not be processed, on risk.deadletter (key: the original key).",
        props,
        required,
        dependentSchemas={
            "key_encoding": {"properties": {"key": base64_text}},
            "raw_encoding": {"properties": {"raw": base64_text}},
        },
    )


def json_schemas() -> dict[str, dict]:
    """Event name -> JSON Schema (draft 2020-12), inputs first.

    >>> sorted(json_schemas())
    ['alert', 'application', 'deadletter', 'decision', 'repayment', 'review', 'transaction', 'transaction_outcome']
    """
    schemas = {name: _input_schema(name) for name in INPUT_EVENTS}
    schemas["decision"] = _decision_schema()
    schemas["alert"] = _alert_schema()
    schemas["deadletter"] = _deadletter_schema()
    return copy.deepcopy(schemas)  # fragments are shared module constants: hand out private copies


def export_schemas(directory: Path) -> list[Path]:
    """Write ``<name>.schema.json`` for every event (indented, sorted keys); return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        paths.append(path)
    return paths
