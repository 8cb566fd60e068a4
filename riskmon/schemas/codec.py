"""Bytes to JSON objects and back, and the contract's timestamp format.

Every consumed message goes through :func:`decode_object` and every produced
one through :func:`dumps`, so the encoding rules of the contract (UTF-8 JSON
object, finite numbers, RFC 3339 timestamps with an offset) live here.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta, timezone

import orjson

from riskmon.schemas.errors import SchemaError

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "decode_object", "dumps", "format_timestamp", "parse_timestamp"]

#: Largest message value :func:`decode_object` parses, in bytes.
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024

_FLOAT_MAX = sys.float_info.max
_SHOW = 40  # longest literal echoed in an error message


def decode_object(raw: bytes | None, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> dict:
    """Parse one message value into a JSON object.

    Parameters
    ----------
    raw
        The message value as consumed (``bytes``, ``bytearray`` or
        ``memoryview``); ``None`` for a tombstone.
    max_bytes
        Larger values are refused before any parsing.

    Returns
    -------
    dict
        The decoded object; numbers in it are always finite.

    Raises
    ------
    SchemaError
        ``too_large``, ``invalid_json`` (also for a null or empty body),
        ``invalid_utf8``, ``non_finite`` (``NaN``, ``Infinity``, ``-Infinity``
        or a number such as ``1e400`` that overflows a double; ``field`` is
        the path of the first one) or ``not_object``.

    Examples
    --------
    >>> decode_object(b'{"amount": 5000}')
    {'amount': 5000}
    >>> decode_object(b'{"amount": NaN}')
    Traceback (most recent call last):
    ...
    riskmon.schemas.errors.SchemaError: amount: must be a finite number (got NaN); JSON has no NaN or Infinity
    """
    if raw is None:
        raise SchemaError("", "invalid_json", "message has no value (null body)")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_object expects bytes, got {type(raw).__name__}")
    size = raw.nbytes if isinstance(raw, memoryview) else len(raw)
    if size > max_bytes:
        raise SchemaError("", "too_large", f"message is {size} bytes, over the limit of {max_bytes}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _classify(bytes(raw), exc) from None
    if not isinstance(value, dict):
        raise SchemaError("", "not_object", f"message must be a JSON object (got {json_type(value)})")
    return value


def _classify(data: bytes, exc: orjson.JSONDecodeError) -> SchemaError:
    """Name the rule a message orjson refused broke (slow path, bad input only)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return SchemaError(
            "", "invalid_utf8", f"message is not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})"
        )
    if not text.strip():
        return SchemaError("", "invalid_json", "message body is empty")
    found = _first_non_finite(text)
    if found is not None:
        path, literal = found
        if path == "applicant" or path.startswith(("applicant.", "applicant[")):
            return SchemaError("applicant", "non_finite", "must hold only finite numbers")  # personal data: no echo
        return SchemaError(path, "non_finite", f"must be a finite number (got {literal}); JSON has no NaN or Infinity")
    return SchemaError("", "invalid_json", f"message is not valid JSON: {exc}")


class _NonFinite:
    """Stand-in for a number that is not finite as a double, keeping its literal."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal if len(literal) <= _SHOW else literal[: _SHOW - 1] + "…"


def _parse_float(text: str) -> float | _NonFinite:
    value = float(text)
    return _NonFinite(text) if value in (float("inf"), float("-inf")) else value


def _parse_int(text: str) -> int | _NonFinite:
    if len(text) > 400:  # far beyond a double; also stays under int()'s digit limit
        return _NonFinite(text)
    value = int(text)
    return value if -_FLOAT_MAX <= value <= _FLOAT_MAX else _NonFinite(text)


def _first_non_finite(text: str) -> tuple[str, str] | None:
    """Path and literal of the first non-finite number, if ``text`` is JSON apart from those."""
    try:
        doc = json.loads(text, parse_constant=_NonFinite, parse_float=_parse_float, parse_int=_parse_int)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[str, object]] = [("", doc)]
    while stack:  # depth first, in document order
        path, value = stack.pop()
        if isinstance(value, _NonFinite):
            return path, value.literal
        if isinstance(value, dict):
            stack.extend(reversed([(f"{path}.{k}" if path else k, v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{i}]", v) for i, v in enumerate(value)]))
    return None


def json_type(value: object) -> str:
    """The JSON name of ``value``'s type, for error messages.

    >>> json_type(True), json_type(3), json_type(None), json_type([])
    ('boolean', 'number', 'null', 'array')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _default(obj: object) -> object:
    if isinstance(obj, datetime):
        return format_timestamp(obj)
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


_DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(obj: dict, *, sort_keys: bool = False) -> bytes:
    """Encode one output message: compact UTF-8 JSON.

    Keys must be strings (anything else raises ``TypeError``). A datetime is
    written with :func:`format_timestamp`, and an object with ``to_dict()``
    (our event dataclasses) through it. As in orjson, a NaN or infinite float
    is written as ``null``; the output events refuse them where it matters.
    ``sort_keys`` gives canonical bytes (the audit trail hashes them).

    >>> dumps({"a": 1, "at": datetime(2026, 11, 29, 14, 38, 26, tzinfo=timezone.utc)})
    b'{"a":1,"at":"2026-11-29T14:38:26.000Z"}'
    """
    option = _DUMPS_OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _DUMPS_OPTIONS
    return orjson.dumps(obj, default=_default, option=option)


def format_timestamp(dt: datetime) -> str:
    """RFC 3339 in UTC with milliseconds (truncated) and ``Z``.

    >>> format_timestamp(datetime(2026, 11, 29, 15, 38, 26, 123999, tzinfo=timezone(timedelta(hours=1))))
    '2026-11-29T14:38:26.123Z'

    Raises
    ------
    ValueError
        For a naive datetime: its instant is unknown.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_timestamp needs an aware datetime (with tzinfo)")
    u = dt.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )


_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?"
)


def parse_timestamp(value: str, field: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries an offset; return it in UTC.

    ``T``, ``t`` or a space may separate date and time; fractions finer than
    a microsecond are truncated; ``-00:00`` is read as UTC. Leap seconds
    (``:60``) are refused.

    Raises
    ------
    SchemaError
        ``type`` if ``value`` is not a string, ``format`` if it is not
        RFC 3339, is not a real date or time, or has no offset (naive).

    Examples
    --------
    >>> parse_timestamp("2026-11-29T15:38:26.5+01:00", "submitted_at")
    datetime.datetime(2026, 11, 29, 14, 38, 26, 500000, tzinfo=datetime.timezone.utc)
    >>> parse_timestamp("2026-11-29T14:38:26", "submitted_at")
    Traceback (most recent call last):
    ...
    riskmon.schemas.errors.SchemaError: submitted_at: must include a UTC offset, Z or +hh:mm (got '2026-11-29T14:38:26')
    """
    if not isinstance(value, str):
        raise SchemaError(field, "type", f"must be an RFC 3339 timestamp string (got {json_type(value)})")
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        raise SchemaError(
            field, "format", f"must be an RFC 3339 timestamp such as 2026-11-29T14:38:26.123Z (got {show(value)})"
        )
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    if zulu is None and sign is None:
        raise SchemaError(field, "format", f"must include a UTC offset, Z or +hh:mm (got {show(value)})")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)  # fast path; shape checked above
    except (ValueError, OverflowError):
        pass  # lower-case t/z, or not a real date/time: decide below
    try:
        if zulu is not None:
            tz = UTC
        else:
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(-offset if sign == "-" else offset)
        micro = int((frac + "00000")[:6]) if frac else 0
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        raise SchemaError(field, "format", f"is not a real date and time (got {show(value)})") from None


def show(value: object) -> str:
    """A short, safe rendering of an offending value for an error message.

    >>> show("x" * 50)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…"
    """
    text = repr(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"
