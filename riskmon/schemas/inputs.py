"""Input events: what producers put on the input topics.

Each class is a frozen record built by ``from_dict`` from a decoded message,
which checks every field against the contract and raises the first
:class:`~riskmon.schemas.errors.SchemaError` found (``schema_version`` first,
then fields in contract order). ``to_dict`` gives back the contract's JSON
shape: every field (absent optional ones as null), timestamps normalised to
UTC with milliseconds, ``schema_version``, then the unknown fields kept in
``extra``. Constructing a record directly does not validate it.

Integer fields (``term_months``, ``days_past_due``, ``schema_version``) take
JSON integers only: ``12.0`` is refused with rule ``type``, so a producer that
writes floats is told at once instead of having its values truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from riskmon.schemas.codec import format_timestamp
from riskmon.schemas.fields import (
    CURRENCY,
    FEATURES,
    ID,
    LABEL,
    MONEY,
    NON_NEGATIVE_INT,
    PERSONAL,
    POSITIVE_INT,
    POSITIVE_MONEY,
    TEXT,
    TIMESTAMP,
    Field,
    ObjectSpec,
    enum_kind,
)
from riskmon.schemas.vocab import REPAYMENT_STATUSES, REVIEW_OUTCOMES, TRANSACTION_OUTCOMES, TRANSACTION_TYPES

__all__ = ["Application", "Transaction", "Repayment", "Review", "TransactionOutcome", "INPUT_EVENTS"]

FeatureValue = float | int | str | bool | None

_FEATURES = Field(
    "features",
    FEATURES,
    required=False,
    default=dict,
    description="Extra model inputs: name -> finite number, string (<= 256 characters), boolean or null.",
)
_CURRENCY = Field("currency", CURRENCY, required=False, description="ISO 4217 code; default from configuration.")


class _InputEvent:
    """``from_dict`` / ``to_dict`` shared by the input events, driven by ``SPEC``."""

    __slots__ = ()
    SPEC: ClassVar[ObjectSpec]
    schema_version: int
    extra: dict[str, Any]

    if TYPE_CHECKING:

        def __init__(self, **fields: Any) -> None: ...

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        """Validate a decoded message; raise the first broken rule as ``SchemaError``."""
        values, extra = cls.SPEC.parse(d)
        return cls(**values, extra=extra)

    def to_dict(self) -> dict:
        """The contract's JSON shape, unknown fields included (never overriding known ones)."""
        out: dict = {}
        for f in self.SPEC.fields:
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = format_timestamp(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        out["schema_version"] = self.schema_version
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


@dataclass(frozen=True, slots=True)
class Application(_InputEvent):
    """A credit application from ``credit.applications`` (key: ``application_id``).

    ``applicant`` is personal data: it is kept out of ``repr`` and out of
    every error message.

    Examples
    --------
    >>> app = Application.from_dict({
    ...     "application_id": "app-1", "customer_id": "cust-1",
    ...     "submitted_at": "2026-11-29T15:38:26.123+01:00",
    ...     "amount": 5000, "term_months": 36, "annual_income": 42000,
    ...     "applicant": {"name": "Ada"}, "utm_source": "mail"})
    >>> app.amount, app.submitted_at.isoformat(), app.extra
    (5000.0, '2026-11-29T14:38:26.123000+00:00', {'utm_source': 'mail'})
    >>> "Ada" in repr(app)
    False
    """

    application_id: str
    customer_id: str
    submitted_at: datetime
    amount: float
    term_months: int
    annual_income: float
    currency: str | None = None
    product: str | None = None
    channel: str | None = None
    features: dict[str, FeatureValue] = field(default_factory=dict)
    applicant: dict | None = field(default=None, repr=False)
    schema_version: int = 1
    extra: dict = field(default_factory=dict)

    SPEC: ClassVar[ObjectSpec] = ObjectSpec(
        (
            Field("application_id", ID, description="Unique per application."),
            Field("customer_id", ID),
            Field("submitted_at", TIMESTAMP),
            Field("amount", POSITIVE_MONEY, description="Requested principal in major units, > 0."),
            Field("term_months", POSITIVE_INT, description="Integer > 0; 12.0 is refused."),
            Field("annual_income", MONEY),
            _CURRENCY,
            Field("product", LABEL, required=False, description="e.g. personal_loan, credit_line, sme_loan."),
            Field("channel", LABEL, required=False, description="e.g. branch, web, mobile, partner."),
            _FEATURES,
            Field(
                "applicant",
                PERSONAL,
                required=False,
                description="Personal data (name, national_id, phone, email); never logged, alerted or used as a key.",
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class Transaction(_InputEvent):
    """A card or account transaction from ``credit.transactions`` (key: ``customer_id``)."""

    transaction_id: str
    customer_id: str
    occurred_at: datetime
    amount: float
    type: str
    currency: str | None = None
    merchant_category: str | None = None
    channel: str | None = None
    country: str | None = None
    features: dict[str, FeatureValue] = field(default_factory=dict)
    schema_version: int = 1
    extra: dict = field(default_factory=dict)

    SPEC: ClassVar[ObjectSpec] = ObjectSpec(
        (
            Field("transaction_id", ID),
            Field("customer_id", ID),
            Field("occurred_at", TIMESTAMP),
            Field("amount", POSITIVE_MONEY, description="Major units, > 0."),
            Field("type", enum_kind(TRANSACTION_TYPES)),
            _CURRENCY,
            Field("merchant_category", LABEL, required=False),
            Field("channel", LABEL, required=False),
            Field("country", LABEL, required=False),
            _FEATURES,
        )
    )


@dataclass(frozen=True, slots=True)
class Repayment(_InputEvent):
    """A loan performance event from ``credit.repayments`` (key: ``application_id``).

    ``currency`` is an optional extension field for ``amount_due`` and ``amount_paid``.
    """

    event_id: str
    application_id: str
    customer_id: str
    occurred_at: datetime
    status: str
    days_past_due: int
    amount_due: float | None = None
    amount_paid: float | None = None
    currency: str | None = None
    schema_version: int = 1
    extra: dict = field(default_factory=dict)

    SPEC: ClassVar[ObjectSpec] = ObjectSpec(
        (
            Field("event_id", ID),
            Field("application_id", ID, description="The loan that the approved application became."),
            Field("customer_id", ID),
            Field("occurred_at", TIMESTAMP),
            Field("status", enum_kind(REPAYMENT_STATUSES)),
            Field("days_past_due", NON_NEGATIVE_INT, description="Integer >= 0."),
            Field("amount_due", MONEY, required=False),
            Field("amount_paid", MONEY, required=False),
            _CURRENCY,
        )
    )


@dataclass(frozen=True, slots=True)
class Review(_InputEvent):
    """A manual reviewer's verdict from ``credit.reviews`` (key: ``application_id``)."""

    application_id: str
    reviewer: str
    outcome: str
    reason: str
    reviewed_at: datetime
    schema_version: int = 1
    extra: dict = field(default_factory=dict)

    SPEC: ClassVar[ObjectSpec] = ObjectSpec(
        (
            Field("application_id", ID),
            Field("reviewer", ID),
            Field("outcome", enum_kind(REVIEW_OUTCOMES)),
            Field("reason", TEXT, description="Why, in 1 to 2000 characters."),
            Field("reviewed_at", TIMESTAMP),
        )
    )


@dataclass(frozen=True, slots=True)
class TransactionOutcome(_InputEvent):
    """A confirmed outcome of a transaction from ``credit.transaction_outcomes`` (key: ``customer_id``).

    Card issuers learn which transactions were fraud days or weeks later
    (confirmed cases, chargebacks); ``fraud`` and ``chargeback`` are fraud
    labels, ``genuine`` is not. ``transaction_id`` names the transaction on
    ``credit.transactions`` whose features the label joins (extension).
    """

    outcome_id: str
    transaction_id: str
    customer_id: str
    occurred_at: datetime
    outcome: str
    schema_version: int = 1
    extra: dict = field(default_factory=dict)

    SPEC: ClassVar[ObjectSpec] = ObjectSpec(
        (
            Field("outcome_id", ID, description="Unique per outcome event."),
            Field("transaction_id", ID, description="The transaction this outcome confirms."),
            Field("customer_id", ID),
            Field("occurred_at", TIMESTAMP, description="When the outcome became known."),
            Field("outcome", enum_kind(TRANSACTION_OUTCOMES)),
        )
    )

    @property
    def fraud(self) -> bool:
        """True for ``fraud`` and ``chargeback``."""
        return self.outcome != "genuine"


#: Input event classes by schema name.
INPUT_EVENTS: dict[str, type[_InputEvent]] = {
    "application": Application,
    "transaction": Transaction,
    "repayment": Repayment,
    "review": Review,
    "transaction_outcome": TransactionOutcome,
}
