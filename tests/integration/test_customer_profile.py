"""The linked response on the real broker and Redis: each customer rule, and holds, through real workers.

What an approval service relies on: a customer under a live critical alert,
with an existing loan far past due, or already owing too much, is not
auto-approved; an approval decided shortly before a critical alert is
re-issued as a ``hold``, once, even when the worker is killed between the
alert and the hold.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from riskmon.pipeline.store import key_namespace
from riskmon.profile import risk_key
from tests.config_edit import edited_default_config
from tests.integration.conftest import WorkerProcess, produce, redis_client
from tests.integration.verifier import OutputReader

pytestmark = [pytest.mark.integration, pytest.mark.redis_cluster, pytest.mark.timeout(300)]


def safe_application(app_id: str, customer: str, **overrides: Any) -> dict:
    """An application the default policy approves on its own merits."""
    doc = {
        "application_id": app_id,
        "customer_id": customer,
        "submitted_at": "2026-11-29T14:38:26.123Z",
        "amount": 5_000,
        "term_months": 36,
        "annual_income": 90_000,
        "currency": "USD",
        "product": "personal_loan",
        "channel": "web",
        "features": {"debt_to_income": 5, "inquiries_6m": 0, "revol_util": 10},
        "applicant": {"name": "Jane Example", "national_id": "123-45-6789"},
    }
    doc.update(overrides)
    return doc


def cash_out(customer: str, n: int = 6, amount: float = 1_000.0) -> list[tuple[bytes, bytes]]:
    """``n`` cash withdrawals in the last minutes: above the default critical cash_24h level (5,000)."""
    now = datetime.now(UTC)
    return [
        (
            customer.encode(),
            orjson.dumps(
                {
                    "transaction_id": f"tx-{customer}-{i}",
                    "customer_id": customer,
                    "occurred_at": (now - timedelta(minutes=n - i)).isoformat().replace("+00:00", "Z"),
                    "amount": amount,
                    "type": "cash_withdrawal",
                    "channel": "atm",
                }
            ),
        )
        for i in range(n)
    ]


def repayment(loan: str, customer: str, dpd: int, status: str = "late") -> tuple[bytes, bytes]:
    doc = {
        "event_id": f"rp-{loan}-{dpd}",
        "application_id": loan,
        "customer_id": customer,
        "occurred_at": "2026-11-29T10:00:00Z",
        "status": status,
        "days_past_due": dpd,
    }
    return loan.encode(), orjson.dumps(doc)


def profile_of(worker: WorkerProcess, customer: str) -> dict[str, bytes]:
    client = redis_client(worker.services.redis_url)
    try:
        key = risk_key(key_namespace(worker.prefix, worker.services.redis_url), customer)
        return {k.decode(): v for k, v in client.hgetall(key).items()}
    finally:
        client.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def decisions_of(reader: OutputReader, app_id: str) -> list[dict]:
    return [d for d in reader.docs("credit.decisions") if d["application_id"] == app_id]


def codes(decision: dict) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


@pytest.fixture
def reader_for() -> Any:
    readers: list[OutputReader] = []

    def make(worker: WorkerProcess) -> OutputReader:
        readers.append(OutputReader(worker.services.kafka_bootstrap, worker.prefix))
        return readers[-1]

    yield make
    for reader in readers:
        reader.close()


def low_exposure_limit(tmp_path: Path) -> str:
    """The defaults with an exposure limit of 8,000: a second 5,000 loan goes over it."""
    path = tmp_path / "limit.yaml"
    path.write_text(edited_default_config({"policy.customer_rules.exposure.limit": 8_000}))
    return str(path)


def test_each_customer_rule_holds_an_application_the_application_alone_would_pass(
    make_worker, services, reader_for, tmp_path
) -> None:
    worker = make_worker(RISKMON_CONFIG=low_exposure_limit(tmp_path)).start()
    reader = reader_for(worker)
    bootstrap = services.kafka_bootstrap
    # an approval for cust-expo first: its exposure (5,000) then counts against the 8,000 limit
    produce(
        bootstrap, worker.topic("credit.applications"), [(b"ex-1", orjson.dumps(safe_application("ex-1", "cust-expo")))]
    )
    reader.wait_until(lambda r: bool(decisions_of(r, "ex-1")), timeout=60, what="the first decision of cust-expo")
    assert decisions_of(reader, "ex-1")[0]["outcome"] == "approve"
    # a cash-out under way, and loans 45 and 95 days past due
    produce(bootstrap, worker.topic("credit.transactions"), cash_out("cust-cash"))
    produce(
        bootstrap,
        worker.topic("credit.repayments"),
        [repayment("loan-late", "cust-late", 45), repayment("loan-worse", "cust-worse", 95)],
    )
    wait_for(lambda: b"critical" in profile_of(worker, "cust-cash").get("alerts", b""), "cust-cash's critical alert")
    wait_for(lambda: "dpd:loan-worse" in profile_of(worker, "cust-worse"), "cust-worse's loan in its profile")
    wait_for(lambda: "dpd:loan-late" in profile_of(worker, "cust-late"), "cust-late's loan in its profile")
    client = redis_client(services.redis_url)
    wait_for(
        lambda: client.hget(f"{key_namespace(worker.prefix, services.redis_url)}:exposure", "cust-expo") is not None,
        "cust-expo's exposure in the book",
    )
    client.close()

    apps = [
        safe_application("ca-1", "cust-cash"),
        safe_application("la-1", "cust-late"),
        safe_application("wo-1", "cust-worse"),
        safe_application("ex-2", "cust-expo"),
        safe_application("ok-1", "cust-clean"),  # the control: nothing on this customer
    ]
    produce(
        bootstrap, worker.topic("credit.applications"), [(a["application_id"].encode(), orjson.dumps(a)) for a in apps]
    )
    wanted = [a["application_id"] for a in apps]
    reader.wait_until(lambda r: all(decisions_of(r, a) for a in wanted), timeout=60, what="the five decisions")
    got = {a: decisions_of(reader, a)[0] for a in wanted}
    customer_rules = {"CUSTOMER_ALERT", "EXISTING_DELINQUENCY", "EXPOSURE_LIMIT", "PROFILE_STALE"}
    assert got["ok-1"]["outcome"] == "approve" and not customer_rules & set(codes(got["ok-1"]))
    assert got["ca-1"]["outcome"] == "review" and codes(got["ca-1"])[0] == "CUSTOMER_ALERT"
    assert got["la-1"]["outcome"] == "review" and codes(got["la-1"])[0] == "EXISTING_DELINQUENCY"
    assert got["wo-1"]["outcome"] == "reject" and codes(got["wo-1"])[0] == "EXISTING_DELINQUENCY"
    assert got["ex-2"]["outcome"] == "review" and codes(got["ex-2"])[0] == "EXPOSURE_LIMIT"
    assert "45 days past due" in got["la-1"]["reasons"][0]["description"]
    for decision in got.values():  # reasons an approval service can show; never the applicant
        assert "Jane" not in orjson.dumps(decision).decode()

    # the audit trail holds the profile each decision used
    reader.wait_until(
        lambda r: {e["record"].get("application_id") for e in r.docs("risk.audit")} >= set(wanted),
        timeout=60,
        what="the five decisions audited",
    )
    audited = {
        e["record"]["application_id"]: e["record"]
        for e in reader.docs("risk.audit")
        if e["record"].get("kind") == "decision"
    }
    assert audited["wo-1"]["customer_profile"]["current_dpd"] == 95
    assert audited["ca-1"]["customer_profile"]["open_alerts"] == {"cash_24h": "critical"}
    assert audited["ex-2"]["customer_profile"]["exposure"] == 5_000.0
    # ... and the models saw it as behaviour.* inputs
    assert audited["wo-1"]["features"]["behaviour.current_dpd"] == 95.0


def test_a_profile_writer_running_behind_holds_approvals_for_review(make_worker, services, reader_for) -> None:
    worker = make_worker().start()
    reader = reader_for(worker)
    # transactions that reached the broker ten minutes ago: the transaction path is that far behind
    late = Producer({"bootstrap.servers": services.kafka_bootstrap})
    sent_ms = int((time.time() - 600) * 1000)
    for key, value in cash_out("cust-slow", n=1, amount=10.0):
        late.produce(worker.topic("credit.transactions"), key=key, value=value, timestamp=sent_ms)
    late.flush(30)
    client = redis_client(services.redis_url)
    clock = f"{key_namespace(worker.prefix, services.redis_url)}:risk-clock"
    wait_for(
        lambda: client.hget(clock, "transactions") is not None,
        "the transaction path's clock",
    )
    client.close()
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(b"st-1", orjson.dumps(safe_application("st-1", "cust-other")))],
    )
    reader.wait_until(lambda r: bool(decisions_of(r, "st-1")), timeout=60, what="the decision")
    decision = decisions_of(reader, "st-1")[0]
    assert decision["outcome"] == "review" and codes(decision)[0] == "PROFILE_STALE"


def approve_then_alert(worker: WorkerProcess, reader: OutputReader, customer: str, app_id: str) -> dict:
    """An approval for ``customer``, kept in its profile; then a cash-out that turns its alert critical."""
    bootstrap = worker.services.kafka_bootstrap
    produce(
        bootstrap,
        worker.topic("credit.applications"),
        [(app_id.encode(), orjson.dumps(safe_application(app_id, customer)))],
    )
    reader.wait_until(lambda r: bool(decisions_of(r, app_id)), timeout=60, what=f"the approval of {app_id}")
    approval = decisions_of(reader, app_id)[0]
    assert approval["outcome"] == "approve"
    wait_for(
        lambda: app_id.encode() in profile_of(worker, customer).get("approvals", b""), "the approval in the profile"
    )
    produce(bootstrap, worker.topic("credit.transactions"), cash_out(customer))
    return approval


def holds(reader: OutputReader, app_id: str) -> list[dict]:
    return [d for d in decisions_of(reader, app_id) if d["stage"] == "hold"]


def test_an_approval_before_a_critical_alert_is_held_audited_and_settled_by_a_review(
    make_worker, services, reader_for
) -> None:
    worker = make_worker().start()
    reader = reader_for(worker)
    approval = approve_then_alert(worker, reader, "cust-hold", "ho-1")
    reader.wait_until(lambda r: bool(holds(r, "ho-1")), timeout=60, what="the hold")
    (hold,) = holds(reader, "ho-1")
    assert (hold["outcome"], hold["supersedes"], codes(hold)) == ("review", approval["decision_id"], ["CUSTOMER_ALERT"])
    assert hold["decision_id"] != approval["decision_id"]
    assert (hold["alert"]["detector"], hold["alert"]["level"]) == ("cash_24h", "critical")
    alert_ids = {a["alert_id"] for a in reader.docs("risk.alerts") if a["dedup_key"] == hold["alert"]["dedup_key"]}
    assert hold["alert"]["alert_id"] in alert_ids
    reader.wait_until(
        lambda r: any(e["record"].get("decision_id") == hold["decision_id"] for e in r.docs("risk.audit")),
        timeout=60,
        what="the hold in the audit trail",
    )
    record = next(
        e["record"] for e in reader.docs("risk.audit") if e["record"].get("decision_id") == hold["decision_id"]
    )
    assert (record["stage"], record["supersedes"], record["applicant_ref"]) == (
        "hold",
        approval["decision_id"],
        next(
            e["record"]["applicant_ref"]
            for e in reader.docs("risk.audit")
            if e["record"].get("decision_id") == approval["decision_id"]
        ),
    )
    # a reviewer settles the hold as any review
    review = {
        "application_id": "ho-1",
        "reviewer": "analyst-7",
        "outcome": "approve",
        "reason": "cash-out explained by the customer",
        "reviewed_at": "2026-11-29T16:00:00Z",
    }
    produce(services.kafka_bootstrap, worker.topic("credit.reviews"), [(b"ho-1", orjson.dumps(review))])
    reader.wait_until(
        lambda r: any(d["stage"] == "manual" for d in decisions_of(r, "ho-1")), timeout=60, what="the manual decision"
    )
    manual = next(d for d in decisions_of(reader, "ho-1") if d["stage"] == "manual")
    assert manual["outcome"] == "approve"
    # a second critical alert later issues no second hold
    produce(services.kafka_bootstrap, worker.topic("credit.transactions"), cash_out("cust-hold", n=3, amount=4_000.0))
    time.sleep(5)
    reader.poll(2)
    assert len({d["decision_id"] for d in holds(reader, "ho-1")}) == 1


@pytest.mark.parametrize("kill_on", ["alert", "hold"])
def test_a_worker_killed_between_the_alert_and_the_hold_loses_no_hold_and_issues_none_twice(
    make_worker, services, reader_for, kill_on: str
) -> None:
    worker = make_worker().start()
    reader = reader_for(worker)
    approve_then_alert(worker, reader, "cust-k9", "k9-1")

    def seen(r: OutputReader) -> bool:
        if kill_on == "alert":
            return any(a["subject"]["id"] == "cust-k9" and a["level"] == "critical" for a in r.docs("risk.alerts"))
        return bool(holds(r, "k9-1"))

    reader.wait_until(seen, timeout=60, what=f"the {kill_on}")
    worker.stop(signal.SIGKILL)  # at once: the manager's state save may not have happened
    worker = make_worker().start()
    reader.wait_until(lambda r: bool(holds(r, "k9-1")), timeout=120, what="the hold after the restart")
    time.sleep(5)
    reader.poll(2)
    sent = [m for m in reader.messages["credit.decisions"] if orjson.loads(m.value()).get("stage") == "hold"]
    assert len({orjson.loads(m.value())["decision_id"] for m in sent}) == 1  # one hold, never two
    assert len({m.value() for m in sent}) == 1  # a repeat is byte-identical
    assert all(m.key() == b"k9-1" for m in sent)
    worker.stop()
