"""Model inputs: contract fields, the open features map, missing values, categories."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from riskmon.models.features import CONTRACT_INPUTS, feature_name, model_inputs
from riskmon.schemas import Application

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def app(**changes) -> Application:
    fields = dict(amount=10_000.0, term_months=36, annual_income=50_000.0, product="personal_loan", channel="web")
    fields.update(changes)
    return Application("app-1", "cust-1", T0, **fields)


def test_contract_fields_and_derived_inputs() -> None:
    x = model_inputs(app())
    assert x["amount"] == 10_000.0 and x["term_months"] == 36.0 and x["annual_income"] == 50_000.0
    assert x["loan_to_income"] == pytest.approx(0.2)
    assert x["log_annual_income"] == pytest.approx(math.log1p(50_000.0))
    assert x["product"] == "personal_loan" and x["channel"] == "web"
    assert all(isinstance(v, (float, str)) for v in x.values())


CASES = [
    # (features or field changes, inputs expected present, inputs expected absent)
    ({"features": {"inquiries_6m": 2}}, {"inquiries_6m": 2.0}, ()),  # int -> float
    ({"features": {"has_records": True}}, {"has_records": 1.0}, ()),  # boolean -> 1.0
    ({"features": {"has_records": False}}, {"has_records": 0.0}, ()),  # boolean -> 0.0
    ({"features": {"home_ownership": "rent"}}, {"home_ownership": "rent"}, ()),  # category kept as text
    ({"features": {"emp_length": None}}, {"emp_length__missing": 1.0}, ("emp_length",)),  # null -> indicator only
    ({"features": {"job_type": "  "}}, {"job_type__missing": 1.0}, ("job_type",)),  # blank text is missing
    ({"features": {"score": math.nan}}, {"score__missing": 1.0}, ("score",)),  # non-finite is missing
    ({"annual_income": 0.0}, {"loan_to_income__missing": 1.0, "log_annual_income": 0.0}, ("loan_to_income",)),
    ({"product": None, "channel": None}, {"product__missing": 1.0, "channel__missing": 1.0}, ("product", "channel")),
    ({"features": {"amount": 3}}, {"amount": 10_000.0, "features.amount": 3.0}, ()),  # no overwrite of a contract input
    ({"features": {"a=b": "x"}}, {"a%3Db": "x"}, ("a=b",)),  # '=' is reserved for one-hot keys
]


@pytest.mark.parametrize("changes,present,absent", CASES)
def test_feature_values(changes: dict, present: dict, absent: tuple) -> None:
    x = model_inputs(app(**changes))
    for name, value in present.items():
        assert x[name] == value, name
    for name in absent:
        assert name not in x, name


def test_personal_data_never_becomes_an_input() -> None:
    x = model_inputs(app(applicant={"name": "Ada Lovelace", "national_id": "X123"}))
    text = repr(x)
    assert "Ada" not in text and "X123" not in text


@pytest.mark.parametrize("name", CONTRACT_INPUTS)
def test_every_contract_input_name_is_protected(name: str) -> None:
    assert feature_name(name) == f"features.{name}"


def test_unsupported_value_type_is_refused() -> None:
    with pytest.raises(TypeError, match="unsupported value type"):
        model_inputs(app(features={"nested": {"a": 1}}))
