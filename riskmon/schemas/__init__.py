"""The event contract in code: records, validation, encoding, JSON Schema export.

Consume with ``Application.from_dict(decode_object(raw))``: either a valid,
frozen record or a :class:`SchemaError` naming the field and the broken rule,
ready for the dead-letter topic (``DeadLetter.from_error``). Produce with
``dumps(event.to_dict())``. Pure code: nothing here does I/O except
:func:`export_schemas`.

>>> from riskmon.schemas import Application, SchemaError, decode_object
>>> try:
...     Application.from_dict(decode_object(b'{"application_id": "a 1"}'))
... except SchemaError as err:
...     print(err.field, err.rule)
application_id pattern
"""

from riskmon.schemas.codec import (
    DEFAULT_MAX_MESSAGE_BYTES,
    decode_object,
    dumps,
    format_timestamp,
    parse_timestamp,
)
from riskmon.schemas.errors import PROCESSING_ERROR, RULES, SchemaError
from riskmon.schemas.inputs import INPUT_EVENTS, Application, Repayment, Review, Transaction, TransactionOutcome
from riskmon.schemas.jsonschema_export import export_schemas, json_schemas
from riskmon.schemas.outputs import MAX_REASONS, Alert, AlertSubject, DeadLetter, Decision, Reason
from riskmon.schemas.vocab import (
    ALERT_STATUSES,
    GRADES,
    LEVELS,
    OUTCOMES,
    REPAYMENT_STATUSES,
    REVIEW_OUTCOMES,
    STAGES,
    SUBJECT_KINDS,
    TRANSACTION_TYPES,
    Level,
    Outcome,
)

__all__ = [
    # errors
    "SchemaError",
    "RULES",
    "PROCESSING_ERROR",
    # codec
    "DEFAULT_MAX_MESSAGE_BYTES",
    "decode_object",
    "dumps",
    "format_timestamp",
    "parse_timestamp",
    # input events
    "Application",
    "Transaction",
    "Repayment",
    "Review",
    "TransactionOutcome",
    "INPUT_EVENTS",
    # output events
    "Reason",
    "Decision",
    "AlertSubject",
    "Alert",
    "DeadLetter",
    "MAX_REASONS",
    # vocabularies
    "OUTCOMES",
    "REVIEW_OUTCOMES",
    "GRADES",
    "STAGES",
    "LEVELS",
    "ALERT_STATUSES",
    "SUBJECT_KINDS",
    "TRANSACTION_TYPES",
    "REPAYMENT_STATUSES",
    "Outcome",
    "Level",
    # JSON Schema
    "json_schemas",
    "export_schemas",
]
