"""The one shape of every error the web port answers: ``{"error": {"type", "message"[, "field"]}}``."""

from __future__ import annotations

from typing import Any

__all__ = ["error_body"]


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of an error answer; ``extra`` (say ``field``) goes beside type and message.

    >>> error_body("invalid", "from: must be a whole number", field="from")
    {'error': {'type': 'invalid', 'field': 'from', 'message': 'from: must be a whole number'}}
    """
    return {"error": {"type": kind, **extra, "message": message}}
