"""The backtest's in-memory profiles equal what the live Lua scripts write in the real Redis.

Live, each path updates the customer risk profile with a script in its batch's
round trip; the backtest and shadow mode apply the same updates with
:class:`riskmon.profile.book.ProfileBook`. This drives the real handlers (the
worker's classes, on the real Redis; their Kafka outputs go to a sink, since
the profile is what is compared) and the book with the same events, and reads
both with the same reader.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from riskmon.alerting.sink import AlertSink
from riskmon.alerting.state_store import AlertStateStore
from riskmon.applications.scoring import ModelScorer
from riskmon.backtest.evaluator import Evaluator
from riskmon.config import load_config
from riskmon.learning.repayments import RepaymentHandler
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore, Delivered
from riskmon.profile import profile_from_redis, risk_key
from riskmon.profile.book import ProfileBook, approval_entry, latest_decision
from riskmon.profile.fields import last_decision_key
from riskmon.schemas import Alert, AlertSubject, Repayment, Transaction
from riskmon.transactions.handler import TransactionHandler

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CONFIG = load_config(None)
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def _sink(topic: str, key: bytes | None, value: bytes) -> Awaitable[Any]:
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


def _incoming(topic: str, docs: list[dict]) -> list[Incoming]:
    now = datetime.now(UTC).timestamp()
    return [
        Incoming(topic, 0, i, None, orjson.dumps(d), received_monotonic=0.0, timestamp=now) for i, d in enumerate(docs)
    ]


def _repayment(loan: str, dpd: int, status: str, k: int) -> dict:
    return {
        "event_id": f"rp-{loan}-{k}",
        "application_id": loan,
        "customer_id": "c-1",
        "occurred_at": (T0 + timedelta(minutes=k)).isoformat().replace("+00:00", "Z"),
        "status": status,
        "days_past_due": dpd,
    }


def _transaction(k: int, amount: float, kind: str) -> dict:
    return {
        "transaction_id": f"tx-{k}",
        "customer_id": "c-1",
        "occurred_at": (T0 + timedelta(minutes=5 * k)).isoformat().replace("+00:00", "Z"),
        "amount": amount,
        "type": kind,
    }


def _alert(detector: str, level: str, status: str) -> Alert:
    return Alert(
        alert_id=f"al-{detector}-{level}-{status}",
        dedup_key=f"{detector}:customer:c-1",
        level=level,
        status=status,
        detector=detector,
        subject=AlertSubject("customer", "c-1"),
        summary="s",
        started_at=T0,
        updated_at=T0,
    )


def _decision(app_id: str, outcome: str, minute: int) -> dict:
    return {
        "decision_id": f"dec-{app_id}",
        "application_id": app_id,
        "customer_id": "c-1",
        "decided_at": (T0 + timedelta(minutes=minute)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "stage": "automated",
        "outcome": outcome,
        "score": 0.03,
        "grade": "A",
        "approved_amount": 5000.0 if outcome == "approve" else None,
        "currency": "USD",
        "model_version": "scorecard-v1",
        "policy_version": "p",
    }


def test_each_live_profile_script_and_the_book_agree(services) -> None:
    repayments = [
        _repayment("loan-a", 45, "late", 0),
        _repayment("loan-a", 60, "late", 1),
        _repayment("loan-b", 0, "current", 2),
        _repayment("loan-a", 95, "default", 3),
        _repayment("loan-b", 0, "paid_off", 4),
        _repayment("loan-a", 95, "default", 3),  # redelivered: counted once
    ]
    transactions = [
        _transaction(k, amount, kind)
        for k, (amount, kind) in enumerate(
            [(40.0, "purchase"), (1_000.0, "cash_withdrawal"), (25.0, "purchase"), (2_500.5, "cash_withdrawal")]
        )
    ]
    alerts = [
        _alert("cash_24h", "warning", "firing"),
        _alert("txn_velocity", "critical", "firing"),
        _alert("cash_24h", "critical", "firing"),
        _alert("txn_velocity", "critical", "resolved"),
    ]
    decisions = [_decision("a-1", "approve", 0), _decision("a-2", "review", 1), _decision("a-3", "approve", 2)]
    namespace = f"riskmon:book{uuid.uuid4().hex[:8]}"
    window = CONFIG.policy.customer.hold_window_hours * 3600

    async def live() -> tuple[dict, bytes | None]:
        store = DecisionStore(services.redis_url, ttl_seconds=3600, namespace=namespace)
        metrics = WorkerMetrics()
        try:
            repayment_handler = RepaymentHandler(
                store=store,
                send=_sink,
                training_topic="t",
                deadletter_topic="d",
                max_message_bytes=1 << 20,
                bad_days_past_due=90,
                metrics=metrics,
            )
            await repayment_handler.handle(_incoming("credit.repayments", repayments))
            transaction_handler = TransactionHandler(
                config=CONFIG,
                store=store,
                send=_sink,
                alerts=AlertSink(_sink, "c"),
                deadletter_topic="d",
                max_message_bytes=1 << 20,
                metrics=metrics,
            )
            await transaction_handler.handle(_incoming("credit.transactions", transactions))
            alert_store = AlertStateStore(store.client, namespace, profile_ttl_seconds=3600)
            for a in alerts:  # one published alert per batch, as the manager's batches would
                await alert_store.save(
                    {}, {}, {}, profiles=[(a.subject.id, a.detector, a.level if a.status == "firing" else None)]
                )
            await store.confirm(
                [
                    Delivered(
                        d["application_id"],
                        "c-1",
                        orjson.dumps(latest_decision(d)),
                        None,
                        orjson.dumps(e) if (e := approval_entry(d, "anon-1")) else None,
                    )
                    for d in decisions
                ],
                hold_window_seconds=window,
            )
            fields = await store.client.hgetall(risk_key(namespace, "c-1"))
            return fields, await store.client.get(last_decision_key(namespace, "c-1"))
        finally:
            keys = await store.client.keys(f"{namespace}:*")
            if keys:
                await store.client.delete(*keys)
            await store.close()

    fields, last_decision = asyncio.run(live())

    book = ProfileBook(hold_window_seconds=window)
    for r in repayments:
        book.on_repayment(Repayment.from_dict(r))
    evaluator = Evaluator(CONFIG, ModelScorer(None, min_labels=10**9))
    evaluator.profiles = book
    for t in transactions:
        evaluator.watch_transaction(Transaction.from_dict(t))
    for a in alerts:
        book.on_alerts([a])
    for d in decisions:
        book.on_decision(d, "anon-1")

    live_profile = profile_from_redis(fields, last_decision=last_decision)
    assert live_profile == book.profile("c-1", exposure=None)
    assert (live_profile.current_dpd, live_profile.worst_dpd, live_profile.defaults) == (95, 95, 1)
    assert live_profile.open_alerts == {"cash_24h": "critical"}
    assert (live_profile.tx_count_24h, live_profile.cash_24h) == (4, 3500.5)
    assert [a["application_id"] for a in live_profile.approvals] == ["a-1", "a-3"]
    assert sorted(k.decode() for k in fields) == sorted(book.fields("c-1"))
