"""Reason codes: shared with the scorecard, stable for one-hot, missing and unknown inputs."""

from __future__ import annotations

import re

import pytest
import yaml

from riskmon.config import default_config_text, parse_config
from riskmon.models.reasons import CATALOGUE, base_name, entry_for, reason_for
from tests.config_edit import hand_set_scorecard

_DOC = yaml.safe_load(default_config_text())
hand_set_scorecard(_DOC)
POLICY = parse_config(_DOC).policy  # the linear scorecard's factors (the fitted card's codes: test_scorecard_fit.py)
CODE = re.compile(r"^[A-Z0-9_]{1,64}$")  # what riskmon.config accepts as a code


@pytest.mark.parametrize("factor", POLICY.factors, ids=lambda f: f.code)
def test_scorecard_factors_speak_the_same_language(factor) -> None:
    name = factor.field.removeprefix("features.")
    assert reason_for(name) == (factor.code, factor.description)


CASES = [
    # (model input, direction, expected code, expected description)
    ("loan_to_income", 1, "LOAN_TO_INCOME", "Requested amount is high relative to income"),
    ("loan_to_income", -1, "LOAN_TO_INCOME", "Requested amount is low relative to income"),
    ("inquiries_6m", 1, "CREDIT_INQUIRIES", "Many recent credit inquiries"),
    ("inquiries_12m", 1, "CREDIT_INQUIRIES", "Many recent credit inquiries"),  # same code, aggregated
    ("annual_income", -1, "INCOME", "Annual income is low"),
    ("log_annual_income", -1, "INCOME", "Annual income is low"),
    ("channel=web", 1, "CHANNEL", "Application channel: web"),  # one-hot -> base field's code
    ("addr_state=__other__", 1, "STATE", "State of residence: an uncommon value"),
    ("emp_length__missing", 1, "EMPLOYMENT_LENGTH", "Length of employment not provided"),
    ("night_owl", 1, "FEATURE_NIGHT_OWL", "The value of 'night_owl' is high"),  # unknown: generated
    ("features.amount", 1, "FEATURE_FEATURES_AMOUNT", "The value of 'features.amount' is high"),
    ("odd=value", 1, "FEATURE_ODD", "The value of 'odd': value"),
    ("gadget__missing", 1, "FEATURE_GADGET", "The value of 'gadget' not provided"),
]


@pytest.mark.parametrize("feature,direction,code,description", CASES)
def test_reason_for(feature: str, direction: int, code: str, description: str) -> None:
    assert reason_for(feature, direction=direction) == (code, description)


@pytest.mark.parametrize("name", [*CATALOGUE, "x" * 300, "ß", "--", "a b.c"])
def test_codes_are_valid_config_codes(name: str) -> None:
    entry = entry_for(name)
    assert CODE.match(entry.code), entry.code
    assert entry.describe(1) and entry.describe(-1)


def test_generated_codes_are_stable() -> None:
    assert entry_for("ß").code == entry_for("ß").code != entry_for("ü").code


@pytest.mark.parametrize(
    "feature,base",
    [("channel=web", "channel"), ("emp_length__missing", "emp_length"), ("amount", "amount"), ("a=b__missing", "a")],
)
def test_base_name(feature: str, base: str) -> None:
    assert base_name(feature) == base
