"""The application path on the real broker and Redis, through a real worker process.

What a user relies on: every valid application gets exactly one automated
decision; every message that cannot be processed lands in risk.deadletter with
its original bytes, and the worker goes on.
"""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest

from riskmon.profile.fields import last_decision_key
from tests.integration.conftest import consume, key_namespace_of, produce, redis_client, values

pytestmark = [pytest.mark.integration, pytest.mark.redis_cluster]


def application(i: int, **overrides: object) -> dict:
    doc = {
        "application_id": f"app-{i:05d}",
        "customer_id": f"cust-{i % 37:03d}",
        "submitted_at": "2026-11-29T14:38:26.123Z",
        "amount": 5_000 + 250 * (i % 40),
        "term_months": 36,
        "annual_income": 40_000 + 1_000 * (i % 50),
        "currency": "USD",
        "product": "personal_loan",
        "channel": "web",
        "features": {"debt_to_income": 5 + i % 30, "inquiries_6m": i % 5, "revol_util": 10 + i % 80},
        "applicant": {"name": "Jane Example", "national_id": "123-45-6789"},
    }
    doc.update(overrides)
    return doc


def encode(doc: dict) -> bytes:
    return orjson.dumps(doc)


def test_n_valid_applications_give_exactly_n_decisions(make_worker, services) -> None:
    worker = make_worker().start()
    n = 300
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(f"app-{i:05d}".encode(), encode(application(i))) for i in range(n)],
    )
    decisions = consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n, timeout=120)
    docs = values(decisions)
    assert sorted(d["application_id"] for d in docs) == [f"app-{i:05d}" for i in range(n)]
    for msg, d in zip(decisions, docs, strict=True):
        assert msg.key() == d["application_id"].encode()  # keyed by application_id, as the contract says
        assert d["stage"] == "automated"
        assert d["outcome"] in ("approve", "review", "reject")
        assert 0.0 <= d["score"] <= 1.0 and d["grade"] in "ABCDE"
        assert len(d["reasons"]) <= 4
        assert (d["approved_amount"] is not None) == (d["outcome"] == "approve")
        expected_id = "dec-" + hashlib.sha256(f"automated:{d['application_id']}".encode()).hexdigest()[:32]
        assert d["decision_id"] == expected_id
        assert d["policy_version"].startswith("rules-v1+") and d["model_version"]
        assert d["decided_at"].endswith("Z") and d["latency_ms"] >= 0
        assert b"Jane" not in msg.value() and b"6789" not in msg.value()  # personal data never copied out
    assert {d["outcome"] for d in docs} >= {"approve", "review"}
    assert not consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=0, timeout=3, settle=0.5)
    # approval services read the latest profile per customer from Redis (no personal data in it)
    r = redis_client(services.redis_url)
    namespace = key_namespace_of(worker.prefix, services.redis_url)  # riskmon:<prefix> on one server
    profile = orjson.loads(r.get(last_decision_key(namespace, "cust-001")))
    assert profile["application_id"].startswith("app-") and profile["outcome"] in ("approve", "review", "reject")
    worker.assert_alive()


BAD_INPUTS = [
    # (case, raw bytes, expected error type, expected field)
    ("not utf-8", b"\xff\xfe\xfa not text", "invalid_utf8", None),
    ("not json", b"{application_id: app-1", "invalid_json", None),
    ("empty value", b"", "invalid_json", None),
    ("not an object", b'["app-1", 5000]', "not_object", None),
    ("wrong type", encode(application(1, amount="5000")), "type", "amount"),
    (
        "missing field",
        encode({k: v for k, v in application(2).items() if k != "customer_id"}),
        "required",
        "customer_id",
    ),
    ("NaN literal", encode(application(3)).replace(b'"amount":5750', b'"amount":NaN'), "non_finite", None),
    ("Infinity literal", encode(application(4)).replace(b'"amount":6000', b'"amount":Infinity'), "non_finite", None),
    ("overflow to inf", encode(application(5)).replace(b'"amount":6250', b'"amount":1e400'), "non_finite", None),
    ("negative amount", encode(application(6, amount=-100)), "minimum", "amount"),
    ("zero term", encode(application(7, term_months=0)), "minimum", "term_months"),
    ("bad timestamp", encode(application(8, submitted_at="yesterday")), "format", "submitted_at"),
    ("bad id", encode(application(9, application_id="app 9!")), "pattern", "application_id"),
    (
        "oversized",
        encode(application(10, features={"blob": "x" * 200, **{f"f{i}": i for i in range(150)}})) + b" " * 9000,
        "too_large",
        None,
    ),
]


def test_each_class_of_bad_input_is_dead_lettered_with_its_original_bytes(make_worker, services) -> None:
    worker = make_worker(RISKMON_MAX_MESSAGE_BYTES="8192").start()
    messages = [(f"bad-{i}".encode(), raw) for i, (_, raw, _, _) in enumerate(BAD_INPUTS)]
    # a valid application after the storm: the worker must still be deciding
    messages.append((b"app-99999", encode(application(99999))))
    produce(services.kafka_bootstrap, worker.topic("credit.applications"), messages)

    letters = consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=len(BAD_INPUTS), timeout=90)
    decisions = values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=1, timeout=60))
    assert [d["application_id"] for d in decisions] == ["app-99999"]

    by_key = {m.key(): orjson.loads(m.value()) for m in letters}
    assert len(letters) == len(BAD_INPUTS), "exactly one dead letter per bad message"
    for i, (case, raw, error_type, field) in enumerate(BAD_INPUTS):
        record = by_key[f"bad-{i}".encode()]
        assert record["error"]["type"] == error_type, case
        if field is not None:
            assert record["error"]["field"] == field, case
        assert record["error"]["message"], case
        assert record["source_topic"] == worker.topic("credit.applications")
        assert isinstance(record["partition"], int) and isinstance(record["offset"], int)
        assert record["received_at"].endswith("Z")
        if record.get("raw_encoding") == "base64":
            original = base64.b64decode(record["raw"])
        else:
            original = record["raw"].encode("utf-8")
        assert original == raw, f"{case}: the original bytes must be kept exactly"
        assert b"6789" not in orjson.dumps(record["error"]), f"{case}: personal data in the error"
    worker.assert_alive()


def test_the_same_application_three_times_gets_one_decision(make_worker, services) -> None:
    worker = make_worker().start()
    doc = encode(application(7))
    topic = worker.topic("credit.applications")
    produce(services.kafka_bootstrap, topic, [(b"app-00007", doc)] * 2)  # twice in one batch
    consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=1, timeout=60, settle=1)
    produce(services.kafka_bootstrap, topic, [(b"app-00007", doc)])  # and again later
    produce(services.kafka_bootstrap, topic, [(b"app-00008", encode(application(8)))])  # a marker behind it
    decisions = values(
        consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=2, timeout=60, settle=3)
    )
    assert sorted(d["application_id"] for d in decisions) == ["app-00007", "app-00008"]


def test_a_restarted_worker_does_not_decide_again(make_worker, services) -> None:
    first = make_worker().start()
    topic = first.topic("credit.applications")
    produce(services.kafka_bootstrap, topic, [(f"app-{i:05d}".encode(), encode(application(i))) for i in range(50)])
    consume(services.kafka_bootstrap, first.topic("credit.decisions"), expect=50, timeout=60, settle=1)
    assert first.stop() == 0, first.log_tail()  # SIGTERM: a clean shutdown commits its offsets
    second = make_worker().start()
    produce(services.kafka_bootstrap, topic, [(f"app-{i:05d}".encode(), encode(application(i))) for i in range(50, 60)])
    decisions = values(
        consume(services.kafka_bootstrap, second.topic("credit.decisions"), expect=60, timeout=60, settle=3)
    )
    ids = [d["application_id"] for d in decisions]
    assert len(ids) == len(set(ids)) == 60
