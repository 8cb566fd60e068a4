"""The one error type of the schema layer: a broken rule, named.

A :class:`SchemaError` says which field broke which rule, so that the stream
worker can put the message on the dead-letter topic with an ``error`` object
that a person (or a metric label) can act on.
"""

from __future__ import annotations

__all__ = ["RULES", "PROCESSING_ERROR", "SchemaError"]

#: Every rule a :class:`SchemaError` can name; bounded, so safe as a metric label.
RULES = (
    "invalid_utf8",
    "invalid_json",
    "not_object",
    "too_large",
    "required",
    "type",
    "non_finite",
    "minimum",
    "pattern",
    "length",
    "enum",
    "format",
    "unsupported_version",
)

#: Dead-letter error type for a message that failed after it was decoded.
PROCESSING_ERROR = "processing_error"


class SchemaError(ValueError):
    """One broken rule of the event contract.

    Parameters
    ----------
    field
        Dotted path of the offending field (``"amount"``,
        ``"features.debt_to_income"``); ``""`` when the whole message is bad.
    rule
        One of :data:`RULES`.
    detail
        What is wrong, without the field name; :attr:`message` prefixes it.
        Never put personal data (``applicant`` values) here.

    Examples
    --------
    >>> err = SchemaError("amount", "minimum", "must be a finite number >= 0 (got -5)")
    >>> err.message
    'amount: must be a finite number >= 0 (got -5)'
    >>> err.to_error()
    {'type': 'minimum', 'message': 'amount: must be a finite number >= 0 (got -5)', 'field': 'amount'}
    """

    def __init__(self, field: str, rule: str, detail: str) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown schema rule {rule!r}")
        self.field = field
        self.rule = rule
        self.detail = detail
        self.message = f"{field}: {detail}" if field else detail
        super().__init__(self.message)

    def to_error(self) -> dict:
        """The dead-letter ``error`` object: ``{type, message, field}``."""
        return {"type": self.rule, "message": self.message, "field": self.field or None}

    def __reduce__(
        self,
    ) -> tuple[type[SchemaError], tuple[str, str, str]]:  # keep pickling working despite the 3-argument constructor
        return (type(self), (self.field, self.rule, self.detail))

    def __repr__(self) -> str:
        return f"SchemaError(field={self.field!r}, rule={self.rule!r}, message={self.message!r})"
