"""Event-time windows (out-of-order and late events, exact counts, bounded memory) and exposure."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from riskmon.detectors import DetectorConfigError, SlidingWindow, TumblingWindow
from riskmon.portfolio.exposure import ExposureTracker, RecentIds
from riskmon.schemas import Decision, Repayment

T0 = datetime(2026, 11, 29, tzinfo=UTC)


def tumbling(events, *, size=60.0, lateness=30.0):
    """Feed (t, value) events, then close everything.

    Returns (closed windows as (start, count, sum), dropped, accepted flags)."""
    w = TumblingWindow(size=size, allowed_lateness=lateness)
    closed, accepted = [], []
    for t, v in events:
        u = w.update(t, v)
        accepted.append(u.accepted)
        closed += u.closed
    closed += w.advance(10**9)
    return [(c.start, c.count, c.sum) for c in closed], w.dropped, accepted


TUMBLING_CASES = [
    # (events (t, value), expected closed windows (start, count, sum), dropped)
    ([(0, 1), (10, 2), (59, 3), (60, 4), (119, 5), (120, 6)], [(0, 3, 6), (60, 2, 9), (120, 1, 6)], 0),  # in order
    ([(0, 1), (65, 1), (50, 1), (70, 1), (40, 1)], [(0, 3, 3), (60, 2, 2)], 0),  # out of order, 40 = 70 - 30 exactly
    ([(0, 1), (65, 1), (34, 1), (100, 1), (60, 1), (59, 1)], [(0, 1, 1), (60, 2, 2)], 3),  # 34, 60, 59 too late
    ([(0, 1), (1000, 1)], [(0, 1, 1), (960, 1, 1)], 0),  # a gap emits no empty windows
    ([(10.5, 2.5), (10.5, 2.5)], [(0, 2, 5.0)], 0),  # duplicates are the caller's business: both counted
]


@pytest.mark.parametrize("events,expected,dropped", TUMBLING_CASES)
def test_tumbling_exact_counts(events, expected, dropped) -> None:
    closed, n_dropped, _ = tumbling(events)
    assert closed == expected
    assert n_dropped == dropped


def test_late_event_is_reported_not_silently_lost() -> None:
    w = TumblingWindow(size=60, allowed_lateness=30)
    w.update(100)
    u = w.update(69)
    assert (u.accepted, u.late) == (False, True)
    assert u.reason == "late, dropped: older than watermark - lateness (69 < 100 - 30)"
    u = w.update(71)
    assert (u.accepted, u.late, u.reason) == (True, True, "counted late (by 29s) in window [60, 120)")
    assert w.current.count == 2 and w.dropped == 1


def test_tumbling_current_window_and_rates() -> None:
    w = TumblingWindow(size=60)
    for t in (120, 130, 150):
        u = w.update(t, value=100.0)
    assert (u.current.start, u.current.end, u.current.count, u.current.sum) == (120, 180, 3, 300.0)
    assert u.current.rate == 3 / 60 and u.current.sum_rate == 5.0 and u.current.mean == 100.0
    assert w.advance(180) == (u.current,)  # closes at its end with lateness 0
    assert w.current.count == 0 and w.n_buckets == 0


def sliding_count(events, *, size=60.0, step=10.0, lateness=20.0):
    w = SlidingWindow(size=size, step=step, allowed_lateness=lateness)
    for t in events:
        w.update(t)
    c = w.current
    return (c.start, c.end, c.count), w.dropped


SLIDING_CASES = [
    # (events, expected current window (start, end, count), dropped)
    ([0, 5, 15, 61], (10, 70, 2), 0),  # 0 and 5 slid out of [10, 70)
    ([100, 85, 79], (50, 110, 2), 1),  # 85 within 20 s of 100 counted; 79 dropped
    ([100, 80], (50, 110, 2), 0),  # exactly at watermark - lateness: counted
    ([0, 10, 20, 30, 40, 50], (0, 60, 6), 0),  # all inside the first full window
    ([0, 10, 20, 30, 40, 50, 60], (10, 70, 6), 0),  # one step later the first bucket leaves
    ([5, 1000], (950, 1010, 1), 0),  # a jump evicts everything older
]


@pytest.mark.parametrize("events,expected,dropped", SLIDING_CASES)
def test_sliding_exact_counts(events, expected, dropped) -> None:
    assert sliding_count(events) == (expected, dropped)


WINDOW_CONFIG_CASES = [
    # (constructor, field named)
    (lambda: SlidingWindow(size=60, step=7), "step"),  # 7 does not divide 60
    (lambda: SlidingWindow(size=60, step=10, allowed_lateness=55), "allowed_lateness"),  # late events would fall out
    (lambda: SlidingWindow(size=0, step=10), "size"),
    (lambda: SlidingWindow(size=86400 * 365, step=1), "step"),  # too many buckets per key
    (lambda: TumblingWindow(size=60, allowed_lateness=-1), "allowed_lateness"),
    (lambda: TumblingWindow(size=math.inf), "size"),
    (lambda: ExposureTracker(limit=0), "limit"),
]


@pytest.mark.parametrize("build,field", WINDOW_CONFIG_CASES)
def test_window_config_errors_name_the_field(build, field) -> None:
    with pytest.raises(DetectorConfigError) as info:
        build()
    assert info.value.field == field


def _jittered(n: int, seed: int, jitter: float) -> list[float]:
    """Event times about 0.5 s apart, each moved back by up to ``jitter`` seconds."""
    rng = random.Random(seed)
    return [i * 0.5 - rng.uniform(0, jitter) for i in range(n)]


def test_tumbling_100k_out_of_order_events_exact_and_bounded() -> None:
    size, lateness = 60.0, 90.0
    times = _jittered(100_000, seed=5, jitter=120.0)  # some events are later than the lateness
    w = TumblingWindow(size=size, allowed_lateness=lateness)
    closed, most_buckets = Counter(), 0
    expected, expected_dropped, wm = Counter(), 0, -math.inf
    for t in times:
        # the reference: accept iff t >= max seen - lateness
        if t < wm - lateness:
            expected_dropped += 1
        else:
            expected[math.floor(t / size) * size] += 1
            wm = max(wm, t)
        for c in w.update(t).closed:
            closed[c.start] += c.count
        most_buckets = max(most_buckets, w.n_buckets)
    for c in w.advance(wm + 10**6):
        closed[c.start] += c.count
    assert expected_dropped > 0 and w.dropped == expected_dropped
    assert closed == expected
    assert most_buckets <= math.ceil(lateness / size) + 1
    assert w.n_buckets == 0


def test_sliding_100k_events_bounded_and_exact() -> None:
    size, step, lateness = 600.0, 10.0, 60.0
    times = _jittered(100_000, seed=6, jitter=90.0)
    w = SlidingWindow(size=size, step=step, allowed_lateness=lateness)
    accepted, most_buckets = [], 0
    for t in times:
        if w.update(t).accepted:
            accepted.append(t)
        most_buckets = max(most_buckets, w.n_buckets)
    c = w.current
    assert c.count == sum(1 for t in accepted if c.start <= t < c.end)
    assert w.dropped == len(times) - len(accepted) > 0
    assert most_buckets <= size / step


# -- exposure ----------------------------------------------------------------------

EXPOSURE_CASES = [
    # (operations, expected outstanding, expected utilisation with limit 10 000)
    ([("approve", "a1", 4000)], 4000, 0.4),  # one loan
    ([("approve", "a1", 4000), ("approve", "a1", 4000)], 4000, 0.4),  # re-delivered approval counted once
    ([("approve", "a1", 4000), ("approve", "a2", 1000)], 5000, 0.5),  # two loans add up
    ([("approve", "a1", 4000), ("repay", "a1", 1500, "e1")], 2500, 0.25),  # a repayment reduces
    ([("approve", "a1", 4000), ("repay", "a1", 1500, "e1"), ("repay", "a1", 1500, "e1")], 2500, 0.25),  # dup event
    ([("approve", "a1", 4000), ("repay", "a1", 9000, "e1")], 0, 0.0),  # never below zero
    ([("approve", "a1", 4000), ("approve", "a2", 1000), ("paid_off", "a1")], 1000, 0.1),  # paid off closes
    ([("approve", "a1", 4000), ("paid_off", "a1"), ("approve", "a1", 4000)], 0, 0.0),  # closed stays closed
    ([("approve", "a1", 4000), ("approve", "a2", 1000), ("charged_off", "a1")], 1000, 0.1),  # written off closes
    ([("approve", "a1", 4000), ("charged_off", "a1"), ("approve", "a1", 4000)], 0, 0.0),  # and stays closed
    ([("repay", "zz", 100, "e9")], 0, 0.0),  # unknown loan: unchanged
]


@pytest.mark.parametrize("ops,outstanding,utilisation", EXPOSURE_CASES)
def test_exposure(ops, outstanding, utilisation) -> None:
    x = ExposureTracker(limit=10_000)
    for op in ops:
        if op[0] == "approve":
            x.approve(op[1], op[2])
        elif op[0] == "repay":
            x.repay(op[1], op[2], event_id=op[3])
        elif op[0] == "charged_off":
            x.repay(op[1], None, charged_off=True)
        else:
            x.repay(op[1], None, paid_off=True)
    assert x.outstanding == outstanding
    assert x.utilisation == utilisation


def test_exposure_from_contract_events() -> None:
    x = ExposureTracker()
    decision = dict(
        application_id="app-1",
        customer_id="c-1",
        decided_at=T0,
        stage="automated",
        score=0.05,
        grade="A",
        model_version="m",
        policy_version="p",
        latency_ms=2.0,
    )
    assert x.on_decision(Decision(decision_id="d-1", outcome="review", approved_amount=None, **decision)) is None
    change = x.on_decision(Decision(decision_id="d-2", outcome="approve", approved_amount=3000.0, **decision))
    assert (change.changed, change.delta, change.outstanding, change.utilisation) == (True, 3000.0, 3000.0, None)
    x.set_limit(6000)
    rep = dict(application_id="app-1", customer_id="c-1", occurred_at=T0, days_past_due=0)
    change = x.on_repayment(Repayment(event_id="r-1", status="current", amount_paid=1000.0, **rep))
    assert (change.delta, change.outstanding, round(change.utilisation, 4)) == (-1000.0, 2000.0, 0.3333)
    change = x.on_repayment(Repayment(event_id="r-2", status="default", **rep))
    assert (change.changed, change.outstanding) == (False, 2000.0)  # exposure at default is kept
    change = x.on_repayment(Repayment(event_id="r-3", status="paid_off", amount_paid=2000.0, **rep))
    assert (change.outstanding, x.open_loans, change.reason) == (0.0, 0, "app-1 paid off: outstanding 0")


def test_exposure_dedup_memory_is_bounded() -> None:
    x = ExposureTracker(dedup_capacity=10)
    x.approve("a", 1e9)
    for i in range(1000):
        x.repay("a", 1.0, event_id=f"e{i}")
    assert len(x._seen) == 10 and x.outstanding == 1e9 - 1000


def test_a_charge_off_event_closes_the_loan_a_default_kept_open() -> None:
    x = ExposureTracker()
    x.approve("app-1", 5000.0)
    rep = dict(application_id="app-1", customer_id="c-1", occurred_at=T0)
    assert x.on_repayment(Repayment(event_id="r-1", status="default", days_past_due=90, **rep)).outstanding == 5000.0
    change = x.on_repayment(Repayment(event_id="r-2", status="charged_off", days_past_due=180, **rep))
    assert (change.changed, change.delta, change.outstanding, x.open_loans) == (True, -5000.0, 0.0, 0)
    assert change.reason == "app-1 charged off (5000 written off): outstanding 0"


def test_trackers_sharing_memories_dedupe_across_customers_within_one_bound() -> None:
    seen, closed = RecentIds(3), RecentIds(3)
    a, b = ExposureTracker(seen=seen, closed=closed), ExposureTracker(seen=seen, closed=closed)
    a.approve("l1", 100.0)
    b.approve("l2", 100.0)
    a.repay("l1", 10.0, event_id="e1")
    assert b.repay("l2", 10.0, event_id="e1").reason == "duplicate repayment event e1: unchanged"  # one book
    for i in range(10):
        b.repay("l2", 1.0, event_id=f"f{i}")
    assert len(seen) == 3 and "e1" not in seen  # bounded for the whole book
    a.repay("l1", None, paid_off=True)
    assert a.approve("l1", 100.0).changed is False and "l1" in closed
    a._reset()
    assert "l1" in closed  # a tracker's reset leaves the book's shared memory alone
