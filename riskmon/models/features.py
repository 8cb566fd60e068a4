"""The model's raw inputs, read from a validated application.

Why a function of its own: the online models, their reason codes, the audit
trail's feature snapshot and the benchmark must all see the same inputs under
the same names, and those names are what :mod:`riskmon.models.reasons` turns
into adverse-action codes. Keeping the mapping pure and in one place makes the
scored factors reproducible from the application alone.

The inputs are a flat ``dict``:

* numeric (``float``): ``amount``, ``term_months``, ``annual_income``, the
  derived ``loan_to_income`` (amount / annual income) and
  ``log_annual_income`` (``log1p`` of it, since income is heavy-tailed), and
  every numeric entry of the open ``features`` map, booleans as 0.0 / 1.0;
* categorical (``str``): ``product``, ``channel`` and every string entry of
  ``features``; the model one-hot encodes them;
* missing values are explicit: the value is left out and ``<name>__missing``
  is set to 1.0. An absent value then contributes nothing after scaling (it
  sits at the running mean), while the indicator lets the model learn whether
  *not knowing* is itself a risk (it often is).

A feature whose name collides with one of the contract-derived inputs (say a
producer sends ``features.amount``) keeps its value under ``features.amount``,
so it can never overwrite the contract field. ``=`` inside a feature name is
written ``%3D`` (and ``%`` as ``%25``) because the model's one-hot keys are
``<name>=<value>``. The ``applicant`` object (personal data) is never read.
"""

from __future__ import annotations

import math
from typing import Any

from riskmon.schemas import Application

__all__ = [
    "CONTRACT_INPUTS",
    "LENDER_PRICING",
    "MISSING_SUFFIX",
    "ONE_HOT_SEP",
    "OTHER_CATEGORY",
    "feature_name",
    "model_inputs",
]

#: Inputs derived from the contract's own fields; ``features`` never overwrite them.
CONTRACT_INPUTS = (
    "amount",
    "term_months",
    "annual_income",
    "loan_to_income",
    "log_annual_income",
    "product",
    "channel",
)
#: Suffix of a missing-value indicator: ``emp_length__missing``.
MISSING_SUFFIX = "__missing"
#: Separator of a one-hot key: ``channel=web``.
ONE_HOT_SEP = "="
#: The category a model uses for values beyond its per-field limit: ``addr_state=__other__``.
OTHER_CATEGORY = "__other__"
#: Lending Club's own pricing of the risk (interest rate and sub-grade), set
#: after the lender's decision: a model placed before that decision must not
#: learn from it (see docs/data-mapping.md), so models leave it out by default.
LENDER_PRICING = ("int_rate", "sub_grade")

_RESERVED = frozenset(CONTRACT_INPUTS)


def feature_name(name: str) -> str:
    """The model input name of ``features[name]``.

    >>> feature_name("inquiries_6m"), feature_name("amount"), feature_name("a=b")
    ('inquiries_6m', 'features.amount', 'a%3Db')
    """
    if "%" in name or ONE_HOT_SEP in name:
        name = name.replace("%", "%25").replace(ONE_HOT_SEP, "%3D")
    return f"features.{name}" if name in _RESERVED else name


def _put(x: dict[str, float | str], name: str, value: Any) -> None:
    """Store one value under ``name``: number, category or missing indicator."""
    if value is None:
        x[name + MISSING_SUFFIX] = 1.0
    elif isinstance(value, bool):
        x[name] = 1.0 if value else 0.0
    elif isinstance(value, (int, float)):
        number = float(value)
        if math.isfinite(number):
            x[name] = number
        else:
            x[name + MISSING_SUFFIX] = 1.0
    elif isinstance(value, str):
        text = value.strip()
        if text:
            x[name] = text
        else:
            x[name + MISSING_SUFFIX] = 1.0
    else:  # validated applications hold no other types; refuse to guess
        raise TypeError(f"feature {name!r}: unsupported value type {type(value).__name__}")


def model_inputs(app: Application) -> dict[str, float | str]:
    """The model's raw inputs for ``app`` (any object with the contract's fields).

    Parameters
    ----------
    app
        A validated :class:`~riskmon.schemas.Application` (or an object with
        the same attributes).

    Returns
    -------
    dict
        Input name -> ``float`` (numeric) or ``str`` (categorical); missing
        values appear only as ``<name>__missing = 1.0``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> app = Application("a-1", "c-1", datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...                   amount=5000.0, term_months=36, annual_income=0.0, channel="web",
    ...                   features={"inquiries_6m": 2, "home_ownership": "rent",
    ...                             "emp_length": None, "has_records": True})
    >>> for name, value in model_inputs(app).items():
    ...     print(name, value)
    amount 5000.0
    term_months 36.0
    annual_income 0.0
    log_annual_income 0.0
    loan_to_income__missing 1.0
    product__missing 1.0
    channel web
    inquiries_6m 2.0
    home_ownership rent
    emp_length__missing 1.0
    has_records 1.0
    """
    amount = float(app.amount)
    income = float(app.annual_income)
    x: dict[str, float | str] = {
        "amount": amount,
        "term_months": float(app.term_months),
        "annual_income": income,
        "log_annual_income": math.log1p(income) if income >= 0 else 0.0,
    }
    _put(x, "loan_to_income", amount / income if income > 0 else None)
    _put(x, "product", app.product)
    _put(x, "channel", app.channel)
    for name, value in (app.features or {}).items():
        _put(x, feature_name(name), value)
    return x
