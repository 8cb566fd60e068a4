"""All event records in one place: the input events and the output events."""

from riskmon.schemas.inputs import INPUT_EVENTS, Application, Repayment, Review, Transaction
from riskmon.schemas.outputs import MAX_REASONS, Alert, AlertSubject, DeadLetter, Decision, Reason

__all__ = [
    "Application",
    "Transaction",
    "Repayment",
    "Review",
    "INPUT_EVENTS",
    "Reason",
    "Decision",
    "AlertSubject",
    "Alert",
    "DeadLetter",
    "MAX_REASONS",
]
