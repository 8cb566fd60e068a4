"""Audit records: the fields docs/audit.md lists, features or their hash, canonical bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmon.audit import canonical_bytes, decision_record, features_hash, review_record
from riskmon.schemas import Decision, Review
from riskmon.schemas.examples import example

HYPOTHESIS = settings(derandomize=True, database=None, deadline=None, max_examples=200)
INPUTS = {  # riskmon.models.features.model_inputs of the example application
    "amount": 12000.0,
    "term_months": 36.0,
    "annual_income": 54000.0,
    "loan_to_income": 0.2222222222222222,
    "log_annual_income": 10.896758,
    "product": "personal_loan",
    "channel": "web",
    "debt_to_income": 0.31,
    "delinquencies_2y": 0.0,
    "inquiries_6m": 2.0,
    "revol_util": 0.45,
    "home_ownership": "RENT",
    "has_guarantor": 0.0,
    "months_since_last_delinq__missing": 1.0,
}
SNAPSHOT = {  # the shape riskmon.applications.scoring keeps (plus what the agent adds)
    "application_id": "app-2026-000123",
    "inputs": INPUTS,
    "scores": {"scorecard": 0.18, "online-logreg": 0.07},
    "model_version": "online-logreg-n812",
    "snapshots": {"champion": "c" * 64, "challenger": "d" * 64},
    "decided_at": "2026-11-29T14:38:26.140Z",
    "outcome": "review",
}


def model_decision(**changes) -> dict:
    return {**example("decision"), "model_version": "online-logreg-n812", **changes}


DECISION_FIELDS = {
    "schema_version",
    "kind",
    "decision_id",
    "application_id",
    "customer_id",
    "applicant_ref",
    "stage",
    "decided_at",
    "model_version",
    "model_snapshot_hash",
    "model_snapshots",
    "model_scores",
    "policy_version",
    "score",
    "grade",
    "outcome",
    "approved_amount",
    "currency",
    "reasons",
    "features_hash",
    "features",
    "source",
}
REVIEW_FIELDS = {
    "schema_version",
    "kind",
    "decision_id",
    "application_id",
    "customer_id",
    "applicant_ref",
    "reviewer",
    "verdict",
    "reason",
    "reviewed_at",
    "overrides",
    "changed",
    "source",
}


def test_decision_record_fields():
    rec = decision_record(
        model_decision(),
        applicant_ref="anon-" + "a" * 32,
        snapshot=SNAPSHOT,
        features_retained=True,
        source={"topic": "credit.decisions", "partition": 3, "offset": 41},
    )
    assert set(rec) == DECISION_FIELDS
    assert rec["kind"] == "decision" and rec["schema_version"] == 1
    assert rec["decision_id"] == example("decision")["decision_id"]
    assert rec["applicant_ref"] == "anon-" + "a" * 32
    assert rec["model_version"] == "online-logreg-n812"
    assert rec["model_snapshot_hash"] == "c" * 64  # the champion decided
    assert rec["model_snapshots"] == {"champion": "c" * 64, "challenger": "d" * 64}
    assert rec["model_scores"] == {"scorecard": 0.18, "online-logreg": 0.07}
    assert rec["policy_version"] == "policy-2026-11"
    assert (rec["score"], rec["outcome"], rec["grade"]) == (0.18, "review", "C")
    assert rec["reasons"] == example("decision")["reasons"]  # ranked, in order
    assert rec["features"] == INPUTS
    assert rec["features_hash"] == hashlib.sha256(canonical_bytes(INPUTS)).hexdigest()
    assert rec["source"] == {"topic": "credit.decisions", "partition": 3, "offset": 41}


def test_features_hash_always_features_only_when_retained():
    kept = decision_record(model_decision(), applicant_ref=None, snapshot=SNAPSHOT, features_retained=True)
    hashed = decision_record(model_decision(), applicant_ref=None, snapshot=SNAPSHOT, features_retained=False)
    assert hashed["features"] is None and kept["features"] == INPUTS
    assert hashed["features_hash"] == kept["features_hash"] == features_hash(INPUTS)
    # Nothing scored (no snapshot): no features, no hash, but the fields are there.
    bare = decision_record(example("decision"), applicant_ref=None, snapshot=None, features_retained=True)
    assert set(bare) == DECISION_FIELDS
    assert bare["features"] is None and bare["features_hash"] is None and bare["model_snapshot_hash"] is None


@pytest.mark.parametrize(
    "decision_version, snapshot_changes, expected",
    [
        # (decision's model_version, changes to the snapshot, model_snapshot_hash)
        ("online-logreg-n812", {}, "c" * 64),  # the champion decided
        ("scorecard-v1", {"model_version": "scorecard-v1"}, None),  # the scorecard decided: no model snapshot
        ("scorecard-v1", {}, None),  # a fallback decision while a model had scored
        ("online-logreg-n812", {"model_version": "online-logreg-n900"}, None),  # not the model that scored
        ("online-logreg-n812", {"model_hash": "e" * 64}, "e" * 64),  # the scorer names the snapshot
        ("online-logreg-n812", {"snapshots": {}}, None),  # no published champion known
    ],
)
def test_model_snapshot_hash(decision_version, snapshot_changes, expected):
    snapshot = {**SNAPSHOT, **snapshot_changes}
    rec = decision_record(
        model_decision(model_version=decision_version), applicant_ref=None, snapshot=snapshot, features_retained=False
    )
    assert rec["model_snapshot_hash"] == expected


def test_decision_event_or_its_dict_give_the_same_record():
    event = Decision.from_dict(example("decision"))
    from_event = decision_record(event, applicant_ref=None, snapshot=SNAPSHOT, features_retained=False)
    from_dict = decision_record(example("decision"), applicant_ref=None, snapshot=SNAPSHOT, features_retained=False)
    assert from_event == from_dict
    assert from_event["decided_at"] == "2026-11-29T14:38:26.140Z"


def test_fields_are_picked_never_copied_wholesale():
    decision = {**example("decision"), "applicant": {"name": "Ada"}, "internal_note": "x"}
    snapshot = {**SNAPSHOT, "applicant": {"name": "Ada"}}
    rec = decision_record(decision, applicant_ref=None, snapshot=snapshot, features_retained=True)
    assert set(rec) == DECISION_FIELDS
    assert b"Ada" not in canonical_bytes(rec)


def test_at_most_four_reasons():
    reason = {"code": "DTI_HIGH", "description": "Debt-to-income ratio is high", "contribution": 0.2}
    with pytest.raises(ValueError, match="at most 4 reasons"):
        decision_record(
            {**example("decision"), "reasons": [reason] * 5}, applicant_ref=None, snapshot=None, features_retained=False
        )


def test_review_record_fields():
    rec = review_record(
        example("review"),
        example("decision"),
        applicant_ref="anon-" + "b" * 32,
        source={"topic": "credit.reviews", "partition": 0, "offset": 7},
    )
    assert set(rec) == REVIEW_FIELDS
    assert rec["kind"] == "review"
    assert (rec["reviewer"], rec["verdict"]) == ("analyst.jdoe", "approve")
    assert rec["reason"] == example("review")["reason"]
    assert rec["reviewed_at"] == "2026-11-29T16:02:10.000Z"
    assert rec["overrides"] == {
        "decision_id": example("decision")["decision_id"],
        "stage": "automated",
        "outcome": "review",
        "score": 0.18,
        "model_version": "scorecard-v1",
        "policy_version": "policy-2026-11",
        "decided_at": "2026-11-29T14:38:26.140Z",
    }
    assert rec["changed"] is True
    same = review_record({**example("review"), "outcome": "reject"}, {**example("decision"), "outcome": "reject"})
    assert same["changed"] is False and same["applicant_ref"] is None and same["source"] is None
    # a Review event works too
    assert review_record(Review.from_dict(example("review")), example("decision"))["verdict"] == "approve"


def test_review_of_another_application_is_refused():
    with pytest.raises(ValueError, match="cannot override"):
        review_record({**example("review"), "application_id": "app-other"}, example("decision"))


def test_canonical_bytes_are_sorted_compact_utf8():
    assert (
        canonical_bytes({"b": 1, "a": {"d": [1.5, None], "c": "é"}}) == '{"a":{"c":"é","d":[1.5,null]},"b":1}'.encode()
    )
    when = datetime(2026, 11, 29, 14, 38, 26, 140000, tzinfo=UTC)
    assert canonical_bytes({"at": when}) == b'{"at":"2026-11-29T14:38:26.140Z"}'
    with pytest.raises(TypeError):
        canonical_bytes({"x": object()})
    with pytest.raises(TypeError):
        canonical_bytes({1: "non-string key"})


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, database=None, deadline=None, max_examples=100)
@given(st.dictionaries(st.text(max_size=8), _JSON, max_size=8), st.randoms(use_true_random=False))
def test_canonical_bytes_stable_across_key_order_and_json_round_trips(record, rnd):
    items = list(record.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    assert canonical_bytes(shuffled) == canonical_bytes(record)
    # What a reader decodes (orjson or the standard library) hashes to the same bytes.
    assert canonical_bytes(orjson.loads(orjson.dumps(record))) == canonical_bytes(record)
    assert canonical_bytes(json.loads(orjson.dumps(record))) == canonical_bytes(record)
