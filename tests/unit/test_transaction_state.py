"""A new customer's detector state is the configuration's fresh state, and its own."""

from __future__ import annotations

import asyncio
import pickle

from riskmon.config import load_config
from riskmon.stream.decision_store import DecisionStore
from riskmon.stream.metrics import WorkerMetrics
from riskmon.stream.transactions import TransactionHandler
from riskmon.watch import CustomerWatch


def test_new_customers_start_from_the_configured_fresh_state_and_share_nothing() -> None:
    config = load_config(None)
    store = DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60)
    store._down_until = float("inf")  # Redis unreachable: state comes from memory only

    async def send(topic: str, key: bytes | None, value: bytes) -> None:
        raise AssertionError("nothing is sent here")

    handler = TransactionHandler(config=config, store=store, send=send, alerts=None,  # type: ignore[arg-type]
                                 deadletter_topic="risk.deadletter", max_message_bytes=1 << 18, metrics=WorkerMetrics())
    watches = asyncio.run(handler._load({"c-1", "c-2"}))
    fresh = pickle.dumps(CustomerWatch.fresh(config.detectors), protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle.dumps(watches["c-1"], protocol=pickle.HIGHEST_PROTOCOL) == fresh
    watches["c-1"].velocity.update(1_000.0)  # one customer's transaction...
    assert pickle.dumps(watches["c-2"], protocol=pickle.HIGHEST_PROTOCOL) == fresh  # ...is not another's
    assert watches["c-1"].velocity is not watches["c-2"].velocity
