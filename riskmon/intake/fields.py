"""Printed text into typed contract values, checked by the contract's own rules.

Pure code, no OCR: :func:`parse_field` takes the text read for one template
field and gives its value, or raises :class:`FieldRejected` with the rule it
broke. Formats are strict on purpose: a money amount must be printed as
``16,100.00`` or ``16100.00`` and nothing else, so that a misread separator
or a lost digit group is refused instead of becoming a different amount.
After parsing, the value must meet the rule the contract sets for that field
(``amount`` > 0, ``term_months`` an integer > 0, identifiers' pattern...),
checked by the same code that validates messages on ``credit.applications``.

Messages never quote the text read: it may be personal data.
"""

from __future__ import annotations

import re
from typing import Any

from riskmon.intake.template import FieldSpec
from riskmon.schemas import Application, SchemaError
from riskmon.schemas.fields import FEATURE_TEXT_MAX, FEATURES, Kind

__all__ = ["FieldRejected", "parse_field", "contract_check", "phone_digits"]

_MONEY = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{2})?")
_INTEGER = re.compile(r"[0-9]{1,9}")
_TIMESTAMP = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2})")
_PHONE = re.compile(r"\+?[0-9]{7,15}")
_KINDS: dict[str, Kind] = {f.name: f.kind for f in Application.SPEC.fields}


class FieldRejected(ValueError):
    """The text read for a field is not a valid value: ``rule`` names why (no value quoted)."""

    def __init__(self, field: str, rule: str, detail: str) -> None:
        self.field = field
        self.rule = rule
        self.detail = detail
        super().__init__(f"{field}: {detail}")


def _squash(text: str) -> str:
    """Whitespace collapsed to single spaces, trimmed."""
    return " ".join(text.split())


def _normal(text: str) -> str:
    return _squash(text).casefold()


def contract_check(name: str, value: Any) -> Any:
    """``value`` as the contract stores it for field ``name``; :class:`FieldRejected` if it breaks a rule.

    >>> contract_check("term_months", 36)
    36
    >>> contract_check("amount", 0.0)
    Traceback (most recent call last):
    ...
    riskmon.intake.fields.FieldRejected: amount: does not meet the contract's rule 'minimum'
    """
    head, _, rest = name.partition(".")
    try:
        if head == "features" and rest:
            return FEATURES.check({rest: value}, "features")[rest]
        if head == "applicant" and rest:
            if not isinstance(value, str) or not 1 <= len(value) <= FEATURE_TEXT_MAX:
                raise SchemaError(name, "length", "")
            return value
        return _KINDS[name].check(value, name)
    except SchemaError as exc:  # its message may quote the value: keep only the rule
        raise FieldRejected(name, exc.rule, f"does not meet the contract's rule {exc.rule!r}") from None


def phone_digits(text: str) -> str:
    """A phone number as printed, reduced to an optional ``+`` and its digits (spaces, dashes, dots dropped).

    >>> phone_digits("+1 555-0149 9409")
    '+155501499409'
    """
    return "".join(c for c in text if c.isdigit() or c == "+")


def _parse_text(spec: FieldSpec, text: str) -> Any:
    squashed = _squash(text)
    kind = spec.type
    if kind == "id":
        return "".join(squashed.split())  # OCR may split an identifier at a hyphen
    if kind == "text":
        return squashed
    if kind == "phone":
        if re.fullmatch(r"[+0-9 ().-]+", squashed) is None or _PHONE.fullmatch(phone_digits(squashed)) is None:
            raise FieldRejected(spec.name, "format", "is not a phone number of 7 to 15 digits")
        return phone_digits(squashed)
    if kind == "email":
        compact = "".join(squashed.split())  # OCR may see a space after a dot
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", compact) is None:
            raise FieldRejected(spec.name, "format", "is not an email address")
        return compact
    if kind == "code":
        compact = "".join(squashed.split()).upper()
        if re.fullmatch(r"[A-Z0-9]{1,16}", compact) is None:
            raise FieldRejected(spec.name, "format", "is not a code of letters and digits")
        return compact
    if kind == "currency":
        return squashed.upper()
    if kind == "money":
        compact = "".join(squashed.split())
        if _MONEY.fullmatch(compact) is None:
            raise FieldRejected(spec.name, "format", "is not an amount printed as 1,234.56")
        return float(compact.replace(",", ""))
    if kind == "integer":
        compact = "".join(squashed.split())
        if _INTEGER.fullmatch(compact) is None:
            raise FieldRejected(spec.name, "format", "is not a whole number")
        return int(compact)
    if kind == "timestamp":
        match = _TIMESTAMP.fullmatch(squashed)
        if match is None:
            raise FieldRejected(spec.name, "format", "is not a date and time printed as YYYY-MM-DD HH:MM:SS")
        return f"{match.group(1)}T{match.group(2)}Z"
    if kind == "choice":
        wanted = _normal(squashed)
        for printed, value in spec.choices.items():
            if _normal(printed) == wanted:
                return value
        raise FieldRejected(spec.name, "enum", "is not one of the form's printed choices")
    raise AssertionError(f"unknown field type {kind!r}")  # the template loader refuses it first


def parse_field(spec: FieldSpec, text: str) -> Any:
    """The contract value of the text read for ``spec``; :class:`FieldRejected` if there is none.

    Timestamps stay RFC 3339 strings (as the contract sends them), checked by
    the contract's timestamp rule.

    >>> from riskmon.intake.template import FieldSpec
    >>> parse_field(FieldSpec("amount", "money", True, label="Amount:"), "16,100.00")
    16100.0
    >>> parse_field(FieldSpec("amount", "money", True, label="Amount:"), "16.100,00")
    Traceback (most recent call last):
    ...
    riskmon.intake.fields.FieldRejected: amount: is not an amount printed as 1,234.56
    >>> parse_field(FieldSpec("submitted_at", "timestamp", True, label="Date:"), "2026-01-04 09:00:01")
    '2026-01-04T09:00:01Z'
    """
    if not text.strip():
        raise FieldRejected(spec.name, "required", "is blank")
    value = _parse_text(spec, text)
    checked = contract_check(spec.name, value)
    return value if spec.type == "timestamp" else checked
