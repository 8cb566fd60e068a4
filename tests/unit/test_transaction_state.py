"""Customer detector state: a new customer starts from the configured fresh
state, state survives the trip through bytes exactly, and state that cannot be
used starts the customer afresh instead of failing the batch."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from riskmon.config import load_config
from riskmon.detectors import SlidingWindow, ThresholdDetector
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore
from riskmon.schemas import Level
from riskmon.transactions.handler import TransactionHandler
from riskmon.transactions.watch import CustomerStates, CustomerWatch

CONFIG = load_config(None)


def _offline_handler() -> TransactionHandler:
    # Redis unreachable: state comes from memory only. Port 1 on loopback refuses at once; the
    # store's clock stands still, so the back-off that failure starts never ends.
    store = DecisionStore("redis://127.0.0.1:1/0", ttl_seconds=60, clock=lambda: 0.0)
    assert asyncio.run(store.lookup(["app-earlier"])) is None and store.degraded

    async def send(topic: str, key: bytes | None, value: bytes) -> None:
        raise AssertionError("nothing is sent here")

    return TransactionHandler(
        config=CONFIG,
        store=store,
        send=send,
        alerts=None,  # type: ignore[arg-type]
        deadletter_topic="risk.deadletter",
        max_message_bytes=1 << 18,
        metrics=WorkerMetrics(),
    )


def test_new_customers_start_from_the_configured_fresh_state_and_share_nothing() -> None:
    handler = _offline_handler()
    states = CustomerStates(CONFIG.detectors)
    watches = asyncio.run(handler._load({"c-1", "c-2"}))
    fresh = states.encode(CustomerWatch.fresh(CONFIG.detectors))
    assert states.encode(watches["c-1"]) == fresh
    watches["c-1"].velocity.update(1_000.0)  # one customer's transaction...
    assert states.encode(watches["c-2"]) == fresh  # ...is not another's
    assert watches["c-1"].velocity is not watches["c-2"].velocity


def _busy_watch(states: CustomerStates) -> CustomerWatch:
    """A watch with buckets in both windows, a level entered and runs pending."""
    watch = states.fresh()
    for i in range(40):
        at = 10_000.0 + i * 30
        watch.velocity.update(at)
        watch.velocity_levels.update(float(watch.velocity.current.count), at)
        watch.cash.update(at, 123.45 + i)
        watch.cash_levels.update(watch.cash.current.sum, at)
    watch.velocity.update(0.0)  # too late: dropped and counted
    watch.late_dropped = 1
    return watch


def test_a_watch_read_back_from_bytes_behaves_exactly_as_the_original() -> None:
    states = CustomerStates(CONFIG.detectors)
    original = _busy_watch(states)
    assert original.velocity_levels.level is not None  # the case worth checking: mid-episode
    copy = states.decode(states.encode(original))
    assert states.encode(copy) == states.encode(original)
    for i in range(30):  # the same future events give the same alerts on both
        at = 11_200.0 + i * 45
        for watch in (original, copy):
            watch.cash.update(at, 999.5)
        assert original.cash_levels.update(original.cash.current.sum, at) == copy.cash_levels.update(
            copy.cash.current.sum, at
        )
        assert original.velocity.update(at) == copy.velocity.update(at)
        assert original.velocity_levels.update(
            float(original.velocity.current.count), at
        ) == copy.velocity_levels.update(float(copy.velocity.current.count), at)
    assert states.encode(copy) == states.encode(original)
    assert copy.velocity.dropped == original.velocity.dropped == 1


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\x80\x05\x95old pickle", "not in format"),
        (b"[3, [], [], [], [], [], 0]", "format 3"),
        (
            b"[1, [60, 60, 86400, 3600], [null, 0, []], [null, null, 0, [], null, null], [null, 0, []], "
            b"[null, null, 0, [], null, null], 0]",
            "window shape",
        ),
        (None, "malformed"),  # a valid layout with a broken bucket list, built below
    ],
)
def test_state_that_cannot_be_used_is_refused_with_a_reason(data: bytes | None, why: str) -> None:
    states = CustomerStates(CONFIG.detectors)
    if data is None:
        doc = orjson.loads(states.encode(states.fresh()))
        doc[2][2] = [1, 2]  # buckets must come in triples
        data = orjson.dumps(doc)
    with pytest.raises(ValueError, match=why):
        states.decode(data)


def test_unusable_stored_state_starts_the_customer_afresh_and_is_counted() -> None:
    handler = _offline_handler()
    handler._cache["c-old"] = b"\x80\x05\x95old pickle"
    watches = asyncio.run(handler._load({"c-old"}))
    assert handler._states.encode(watches["c-old"]) == handler._states.encode(handler._states.fresh())
    assert handler._metrics.customer_state_resets._value.get() == 1


def test_thresholds_come_from_the_running_configuration_not_the_stored_state() -> None:
    """A threshold changed in the configuration applies to customers already watched."""
    states = CustomerStates(CONFIG.detectors)
    watch = states.fresh()
    watch.velocity_levels = ThresholdDetector({"warning": {"enter": 1}})
    watch.velocity_levels.update(5.0, 100.0)
    assert watch.velocity_levels.level == Level.WARNING
    back = states.decode(states.encode(watch))
    assert back.velocity_levels.levels == states.fresh().velocity_levels.levels
    assert back.velocity_levels.level == Level.WARNING  # the episode carries on under today's thresholds


def test_a_level_no_longer_configured_is_forgotten() -> None:
    detector = ThresholdDetector({"warning": {"enter": 10}, "critical": {"enter": 20}})
    detector.update(25.0, 1.0)
    assert detector.level == Level.CRITICAL
    narrower = ThresholdDetector({"warning": {"enter": 10}})
    restored = narrower.with_state(detector.state())
    assert restored.level is None and restored.pending == {Level.WARNING: 1}


def test_window_state_keeps_its_running_totals_to_the_last_bit() -> None:
    window = SlidingWindow(size=3600, step=60)
    for i in range(100):
        window.update(i * 50.0, 0.1 * i)
    restored = window.with_state(orjson.loads(orjson.dumps(window.state())))
    assert restored.current == window.current
    assert restored.n_buckets == window.n_buckets


def test_behaviour_survives_the_trip_through_bytes() -> None:
    states = CustomerStates(CONFIG.detectors)
    watch = states.fresh()
    for i in range(5):
        watch.behaviour.observe(
            at=1_000.0 + i * 60, amount=20.0 + i, merchant_category="5411", country="GB", channel="pos"
        )
    back = states.decode(states.encode(watch))
    assert back.behaviour.state() == watch.behaviour.state()  # what is kept, to the 6 decimals kept
    assert back.behaviour.n == 5 and back.behaviour.countries == ["GB"]


def test_state_saved_before_behaviour_was_kept_is_read_with_an_empty_behaviour() -> None:
    """A rolling upgrade keeps every customer's windows: format 1 (no behaviour) is still read."""
    states = CustomerStates(CONFIG.detectors)
    busy = _busy_watch(states)
    doc = orjson.loads(states.encode(busy))
    old = orjson.dumps([1, *doc[1:7]])
    back = states.decode(old)
    assert back.velocity.state() == busy.velocity.state() and back.late_dropped == 1
    assert back.behaviour.n == 0
