"""What every detector family shares: event time, the configuration error, formatting.

Event time is always a ``float`` of epoch seconds (UTC). Contract records carry
aware datetimes; convert them once at the edge with :func:`epoch` and back with
:func:`utc` (only :mod:`~riskmon.detectors.candidates` needs datetimes again).
No detector reads the wall clock.

>>> from datetime import datetime, timezone
>>> epoch(datetime(2026, 11, 29, 14, 38, 26, 500000, tzinfo=timezone.utc))
1795963106.5
>>> utc(1795963106.5).isoformat()
'2026-11-29T14:38:26.500000+00:00'
>>> format_duration(3600), format_duration(90), format_duration(0.5)
('1h', '90s', '0.5s')
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

__all__ = ["DetectorConfigError", "epoch", "utc", "format_duration", "fmt"]


class DetectorConfigError(ValueError):
    """A detector parameter breaks a rule; ``field`` is its dotted path.

    ``message`` is the text without the path, so a configuration loader can
    re-raise it under its own prefix (:meth:`prefixed`).

    >>> err = DetectorConfigError("levels.warning.exit", "must be <= enter (0.25) for direction=above")
    >>> str(err.prefixed("detectors.velocity"))
    'detectors.velocity.levels.warning.exit: must be <= enter (0.25) for direction=above'
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def prefixed(self, prefix: str) -> DetectorConfigError:
        """The same error with ``prefix.`` in front of its field path."""
        field = f"{prefix}.{self.field}" if prefix and self.field else (prefix or self.field)
        return DetectorConfigError(field, self.message)


def epoch(dt: datetime) -> float:
    """Epoch seconds of an aware datetime; ``ValueError`` for a naive one."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"event time must be an aware datetime, got {dt!r}")
    return dt.timestamp()


def utc(t: float) -> datetime:
    """The aware UTC datetime of epoch seconds ``t``."""
    return datetime.fromtimestamp(t, tz=UTC)


def format_duration(seconds: float) -> str:
    """A short Prometheus-style duration for window labels: ``5m``, ``1h``, ``7d``, ``90s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def fmt(x: float) -> str:
    """A number as reasons print it: at most 4 significant digits (``0.3125`` -> ``0.3125``, ``1/3`` -> ``0.3333``)."""
    return f"{x:.4g}"


# -- validation helpers (raise DetectorConfigError naming the field) ----------


def number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DetectorConfigError(field, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise DetectorConfigError(field, "must be finite")
    return float(value)


def positive(value: Any, field: str) -> float:
    x = number(value, field)
    if not x > 0:
        raise DetectorConfigError(field, f"must be > 0, got {x:g}")
    return x


def non_negative(value: Any, field: str) -> float:
    x = number(value, field)
    if x < 0:
        raise DetectorConfigError(field, f"must be >= 0, got {x:g}")
    return x


def integer(value: Any, field: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DetectorConfigError(field, f"must be an integer, got {value!r}")
    if value < minimum:
        raise DetectorConfigError(field, f"must be >= {minimum}, got {value}")
    return value


def fraction(value: Any, field: str) -> float:
    x = number(value, field)
    if not 0.0 < x < 1.0:
        raise DetectorConfigError(field, f"must be strictly between 0 and 1, got {x:g}")
    return x


def finite_value(value: Any, name: str = "value") -> float:
    """An observation: a finite number (``ValueError`` otherwise: a caller's bug, not a config error)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)
