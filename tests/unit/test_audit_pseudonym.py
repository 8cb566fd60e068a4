"""Applicant pseudonyms: stable for one person, keyed, and never carrying a personal value."""

from __future__ import annotations

import hashlib
import hmac
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmon.audit import AuditChain, decision_record, pseudonymize
from riskmon.schemas.examples import example

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PSEUDONYM = re.compile(r"anon-[0-9a-f]{32}")
HYPOTHESIS = settings(derandomize=True, database=None, deadline=None, max_examples=200)

SAME_PERSON = [
    # (one form, another form of the same person): case, whitespace, separators
    ({"national_id": "X1234567"}, {"national_id": "x 123-4567"}),
    ({"national_id": "AB.12/34"}, {"national_id": " ab1234 ", "name": "someone else entirely"}),  # the id wins
    ({"national_id": 1234567}, {"national_id": "1234567"}),  # a number and its digits
    ({"name": "Ada  Example", "email": "Ada@Example.org"}, {"name": "ada example", "email": " ada@example.org "}),
    ({"name": "Ada Example", "phone": "+44 20 7946 0000"}, {"name": "ADA EXAMPLE", "phone": "+44-20-7946-0000"}),
    ({"name": "Ａｄａ"}, {"name": "ada"}),  # full-width letters: NFKC
    ({"name": "Ada", "national_id": ""}, {"name": "Ada", "national_id": None}),  # an empty id is no id
]

DIFFERENT_PEOPLE = [
    # (one person, another person)
    ({"national_id": "X1234567"}, {"national_id": "X1234568"}),
    ({"name": "Ada Example"}, {"name": "Ada Example", "email": "ada@example.org"}),
    ({"name": "a b", "email": ""}, {"name": "a", "email": "b"}),  # fields do not run into each other
    ({"name": "Ada"}, {"email": "ada"}),
    ({"national_id": "ada"}, {"name": "ada"}),  # an id is not a name
]


@pytest.mark.parametrize("one, other", SAME_PERSON)
def test_same_person_same_pseudonym(one, other):
    assert pseudonymize(one, KEY) == pseudonymize(other, KEY)
    assert PSEUDONYM.fullmatch(pseudonymize(one, KEY))


@pytest.mark.parametrize("one, other", DIFFERENT_PEOPLE)
def test_different_people_different_pseudonyms(one, other):
    assert pseudonymize(one, KEY) != pseudonymize(other, KEY)


def test_keyed_with_a_domain_tag():
    applicant = {"national_id": "X1234567"}
    assert pseudonymize(applicant, KEY) != pseudonymize(applicant, OTHER_KEY)  # rotating the key unlinks
    # Not a bare HMAC of the id either: the same key used for something else gives other digests.
    bare = hmac.new(KEY, b"x1234567", hashlib.sha256).hexdigest()[:32]
    assert pseudonymize(applicant, KEY) != "anon-" + bare
    assert pseudonymize(applicant, KEY) != "anon-" + hashlib.sha256(b"x1234567").hexdigest()[:32]


@pytest.mark.parametrize(
    "applicant",
    [
        None,
        {},
        {"name": "", "email": "   ", "phone": "--"},
        {"national_id": None, "name": None},
        {"name": ["Ada"], "national_id": {"v": 1}, "email": True},  # non-scalars identify nobody
        {"address": "1 Example Street"},  # only the contract's four fields are read
    ],
)
def test_nothing_to_identify_gives_none(applicant):
    assert pseudonymize(applicant, KEY) is None


def test_key_and_input_checks_never_echo_values():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonymize({"name": "Ada"}, b"short")
    with pytest.raises(TypeError, match="must be bytes"):
        pseudonymize({"name": "Ada"}, "a string key of enough length")  # type: ignore[arg-type]
    with pytest.raises(TypeError) as err:
        pseudonymize(["Ada Secret"], KEY)  # type: ignore[arg-type]
    assert "Ada" not in str(err.value)


_VALUE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=8, max_size=40).filter(
    lambda s: s.strip() != ""
)
_APPLICANT = st.fixed_dictionaries(
    {},
    optional={
        "name": _VALUE,
        "national_id": _VALUE,
        "email": _VALUE,
        "phone": _VALUE,
        "date_of_birth": _VALUE,
        "address": _VALUE,
    },
)


@HYPOTHESIS
@given(_APPLICANT)
def test_no_personal_value_reaches_the_trail(applicant):
    ref = pseudonymize(applicant, KEY)
    assert ref is None or PSEUDONYM.fullmatch(ref)
    # The applicant object itself smuggled into the decision and the snapshot: it is dropped.
    decision = {**example("decision"), "applicant": applicant}
    snapshot = {
        "inputs": {"amount": 12000.0},
        "scores": {"scorecard": 0.18},
        "model_version": "scorecard-v1",
        "snapshots": {},
        "applicant": applicant,
    }
    record = decision_record(decision, applicant_ref=ref, snapshot=snapshot, features_retained=True)
    baseline = decision_record(example("decision"), applicant_ref=None, snapshot=snapshot, features_retained=True)
    # The record differs from one built without the applicant only in the pseudonym.
    assert {k: v for k, v in record.items() if k != "applicant_ref"} == {
        k: v for k, v in baseline.items() if k != "applicant_ref"
    }
    published = orjson.dumps(AuditChain().append(record, at="2026-11-29T14:38:27.000Z")).decode()
    unrelated = orjson.dumps(AuditChain().append(baseline, at="2026-11-29T14:38:27.000Z")).decode()
    for value in applicant.values():
        for form in (value, orjson.dumps(value).decode()[1:-1]):  # as is, and JSON-escaped
            assert form not in published or form in unrelated  # (text like "00000000" is in any entry)
