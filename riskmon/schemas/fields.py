"""Field kinds of the contract: one check and one JSON Schema fragment each.

An input event is described once, as an :class:`ObjectSpec` (a tuple of
:class:`Field` in contract order); the same description validates decoded
messages and produces the exported JSON Schema, so the two cannot drift.
Checks return the value to store (money as ``float``) or raise the
:class:`~riskmon.schemas.errors.SchemaError` of the first broken rule.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from riskmon.schemas.codec import json_type, parse_timestamp, show
from riskmon.schemas.errors import SchemaError

__all__ = [
    "Kind",
    "Field",
    "ObjectSpec",
    "ID",
    "MONEY",
    "POSITIVE_MONEY",
    "TIMESTAMP",
    "POSITIVE_INT",
    "NON_NEGATIVE_INT",
    "CURRENCY",
    "LABEL",
    "TEXT",
    "FEATURES",
    "PERSONAL",
    "enum_kind",
    "nullable",
]

ID_MAX = 128
LABEL_MAX = 64
TEXT_MAX = 2000
FEATURES_MAX = 200
FEATURE_NAME_MAX = 64
FEATURE_TEXT_MAX = 256
SUPPORTED_VERSION = 1

_ID = re.compile(r"[A-Za-z0-9._:-]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_FLOAT_MAX = sys.float_info.max

TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass(frozen=True, slots=True)
class Kind:
    """A field type: ``check(value, field) -> stored value`` and its JSON Schema."""

    name: str
    check: Callable[[Any, str], Any]
    schema: dict


@dataclass(frozen=True, slots=True)
class Field:
    """One contract field. An absent or null optional field becomes ``default()`` (or None)."""

    name: str
    kind: Kind
    required: bool = True
    default: Callable[[], Any] | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """The fields of one input event, in contract order, plus ``schema_version``."""

    fields: tuple[Field, ...]
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(f.name for f in self.fields) | {"schema_version"})

    def parse(self, d: object) -> tuple[dict, dict]:
        """Check ``d`` rule by rule; return ``(values, extra)``.

        ``schema_version`` is checked first (a message of another version is
        not read further), then each field in contract order; the first
        broken rule raises. A null field counts as absent: ``required`` for a
        required field, the default for an optional one.
        """
        if not isinstance(d, dict):
            raise SchemaError("", "not_object", f"message must be a JSON object (got {json_type(d)})")
        values: dict[str, Any] = {"schema_version": check_version(d.get("schema_version"))}
        for f in self.fields:
            value = d.get(f.name)
            if value is None:
                if f.required:
                    raise SchemaError(f.name, "required", "is required" if f.name not in d else "is required, not null")
                values[f.name] = f.default() if f.default is not None else None
            else:
                values[f.name] = f.kind.check(value, f.name)
        names = self.names
        extra = {k: v for k, v in d.items() if k not in names}
        return values, extra

    def json_schema(self) -> dict:
        """``properties`` and ``required`` of the JSON Schema for these fields."""
        props: dict[str, dict] = {}
        for f in self.fields:
            fragment = dict(f.kind.schema) if f.required else nullable(f.kind.schema)
            if f.description:
                fragment["description"] = f.description
            props[f.name] = fragment
        props["schema_version"] = {
            "enum": [SUPPORTED_VERSION, None],
            "default": SUPPORTED_VERSION,
            "description": "Integer version of this event's schema; absent or null means 1.",
        }
        return {"properties": props, "required": [f.name for f in self.fields if f.required]}


def nullable(schema: dict) -> dict:
    """``schema`` that also accepts null.

    >>> nullable({"type": "string", "maxLength": 64})
    {'type': ['string', 'null'], 'maxLength': 64}
    """
    out = dict(schema)
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    return out


def check_version(value: object) -> int:
    """``schema_version``: an integer, absent/null meaning 1; only 1 is supported."""
    if value is None:
        return SUPPORTED_VERSION
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError("schema_version", "type", f"must be an integer (got {json_type(value)})")
    if value != SUPPORTED_VERSION:
        raise SchemaError(
            "schema_version", "unsupported_version", f"version {show(value)} is not supported (supported: 1)"
        )
    return value


def _check_id(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(name, "type", f"must be a string identifier (got {json_type(value)})")
    if not 1 <= len(value) <= ID_MAX:
        raise SchemaError(name, "length", f"must be 1 to {ID_MAX} characters (got {len(value)})")
    if _ID.fullmatch(value) is None:
        raise SchemaError(name, "pattern", f"may only contain A-Z a-z 0-9 . _ : - (got {show(value)})")
    return value


def _finite(value: object, name: str) -> float:
    """``value`` as a finite float; bool is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(name, "type", f"must be a number (got {json_type(value)})")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SchemaError(name, "non_finite", f"must be a finite number (got {value!r})")
        return value
    if not -_FLOAT_MAX <= value <= _FLOAT_MAX:
        raise SchemaError(name, "non_finite", "must be a finite number (got an integer beyond a double's range)")
    return float(value)


def _check_money(value: object, name: str) -> float:
    amount = _finite(value, name)
    if amount < 0:
        raise SchemaError(name, "minimum", f"must be a finite number >= 0 (got {show(value)})")
    return amount


def _check_positive_money(value: object, name: str) -> float:
    amount = _finite(value, name)
    if not amount > 0:
        raise SchemaError(name, "minimum", f"must be a finite number > 0 (got {show(value)})")
    return amount


def _integer(value: object, name: str) -> int:
    """A JSON integer. ``12.0`` is refused as ``type``: producers must send ``12``."""
    if isinstance(value, bool) or not isinstance(value, int):
        got = show(value) if isinstance(value, float) else json_type(value)
        raise SchemaError(name, "type", f"must be an integer, without fraction or exponent (got {got})")
    return value


def _check_positive_int(value: object, name: str) -> int:
    number = _integer(value, name)
    if number <= 0:
        raise SchemaError(name, "minimum", f"must be an integer > 0 (got {show(value)})")
    return number


def _check_non_negative_int(value: object, name: str) -> int:
    number = _integer(value, name)
    if number < 0:
        raise SchemaError(name, "minimum", f"must be an integer >= 0 (got {show(value)})")
    return number


def _check_currency(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(name, "type", f"must be an ISO 4217 code string (got {json_type(value)})")
    if _CURRENCY.fullmatch(value) is None:
        raise SchemaError(name, "pattern", f"must be an ISO 4217 code of 3 capital letters (got {show(value)})")
    return value


def _check_label(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(name, "type", f"must be a string (got {json_type(value)})")
    if len(value) > LABEL_MAX:
        raise SchemaError(name, "length", f"must be at most {LABEL_MAX} characters (got {len(value)})")
    return value


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(name, "type", f"must be a string (got {json_type(value)})")
    if not 1 <= len(value) <= TEXT_MAX:
        raise SchemaError(name, "length", f"must be 1 to {TEXT_MAX} characters (got {len(value)})")
    return value


def _check_features(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise SchemaError(
            name, "type", f"must be an object of name -> number, string, boolean or null (got {json_type(value)})"
        )
    if len(value) > FEATURES_MAX:
        raise SchemaError(name, "length", f"must have at most {FEATURES_MAX} entries (got {len(value)})")
    for key, item in value.items():
        if not isinstance(key, str):
            raise SchemaError(name, "type", f"names must be strings (got {json_type(key)})")
        if not 1 <= len(key) <= FEATURE_NAME_MAX:
            raise SchemaError(name, "length", f"names must be 1 to {FEATURE_NAME_MAX} characters (got {show(key)})")
        kind = type(item)
        if kind is float or kind is int:  # most features, as JSON decodes them: one check, not four
            if not -_FLOAT_MAX <= item <= _FLOAT_MAX:  # false for NaN, +-inf and huge integers
                raise SchemaError(f"{name}.{key}", "non_finite", f"must be a finite number (got {show(item)})")
            continue
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            if len(item) > FEATURE_TEXT_MAX:
                raise SchemaError(
                    f"{name}.{key}", "length", f"must be at most {FEATURE_TEXT_MAX} characters (got {len(item)})"
                )
        elif isinstance(item, (int, float)):
            if not -_FLOAT_MAX <= item <= _FLOAT_MAX:  # false for NaN, +-inf and huge integers
                raise SchemaError(f"{name}.{key}", "non_finite", f"must be a finite number (got {show(item)})")
        else:
            raise SchemaError(
                f"{name}.{key}", "type", f"must be a number, string, boolean or null (got {json_type(item)})"
            )
    return dict(value)


def _check_personal(value: object, name: str) -> dict:
    # Personal data: the message names the JSON type only, never a value.
    if not isinstance(value, dict):
        raise SchemaError(name, "type", f"must be an object or null (got {json_type(value)})")
    return dict(value)


def enum_kind(choices: tuple[str, ...]) -> Kind:
    """A string field whose value is one of ``choices``."""
    allowed = frozenset(choices)
    listed = ", ".join(choices)

    def check(value: object, name: str) -> str:
        if not isinstance(value, str):
            raise SchemaError(name, "type", f"must be a string, one of {listed} (got {json_type(value)})")
        if value not in allowed:
            raise SchemaError(name, "enum", f"must be one of {listed} (got {show(value)})")
        return value

    return Kind(f"enum({listed})", check, {"type": "string", "enum": list(choices)})


ID = Kind(
    "id",
    _check_id,
    {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": r"^[A-Za-z0-9._:-]+$"},
)
MONEY = Kind("money", _check_money, {"type": "number", "minimum": 0})
POSITIVE_MONEY = Kind("positive money", _check_positive_money, {"type": "number", "exclusiveMinimum": 0})
TIMESTAMP = Kind("timestamp", parse_timestamp, {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN})
POSITIVE_INT = Kind("positive integer", _check_positive_int, {"type": "integer", "minimum": 1})
NON_NEGATIVE_INT = Kind("non-negative integer", _check_non_negative_int, {"type": "integer", "minimum": 0})
CURRENCY = Kind("currency", _check_currency, {"type": "string", "pattern": "^[A-Z]{3}$"})
LABEL = Kind("label", _check_label, {"type": "string", "maxLength": LABEL_MAX})
TEXT = Kind("text", _check_text, {"type": "string", "minLength": 1, "maxLength": TEXT_MAX})
FEATURES = Kind(
    "features",
    _check_features,
    {
        "type": "object",
        "maxProperties": FEATURES_MAX,
        "propertyNames": {"minLength": 1, "maxLength": FEATURE_NAME_MAX},
        "additionalProperties": {"type": ["number", "string", "boolean", "null"], "maxLength": FEATURE_TEXT_MAX},
    },
)
PERSONAL = Kind("personal data", _check_personal, {"type": "object"})
