"""Input batches (riskmon.runtime.patches.batching), on a Faust in-process channel: no broker."""

from __future__ import annotations

import asyncio
import time

import faust
import pytest

from riskmon.runtime.patches.batching import Batcher, take_batches


def test_a_batcher_refuses_an_empty_batch_size_and_an_empty_window():
    with pytest.raises(ValueError, match="at least one"):
        Batcher(max_=0, within=0.01)
    with pytest.raises(ValueError, match="positive"):
        Batcher(max_=1, within=0)


def test_batches_are_taken_every_window_counted_from_the_last_batch_taken():
    b = Batcher(max_=10, within=0.02)
    b.take(now=1.0)
    b.add("a", now=1.005)
    b.add("b", now=1.015)
    assert b.closes_in(now=1.015) == pytest.approx(0.005)  # 1.02, not 20 ms after "a"
    assert b.take(now=1.02) == ["a", "b"] and len(b) == 0
    b.add("c", now=1.07)  # 1.04 and 1.06 passed with nothing waiting
    assert b.closes_in(now=1.07) == pytest.approx(0.01)  # the next grid point, 1.08
    assert b.closes_in(now=1.09) == 0.0


def test_a_lingering_batch_closes_after_its_first_event_not_on_the_grid():
    """The latency-critical routes: a lone event waits the linger, not up to a window."""
    b = Batcher(max_=10, within=0.02, linger=0.002)
    b.take(now=1.0)
    b.add("a", now=1.0131)
    assert b.closes_in(now=1.0131) == pytest.approx(0.002)  # the grid would wait for 1.02
    b.add("b", now=1.0140)  # a later event does not extend the wait
    assert b.closes_in(now=1.0140) == pytest.approx(0.0011)
    assert b.take(now=1.0151) == ["a", "b"]


def test_a_lingering_batch_takes_what_arrived_while_the_last_was_handled_at_once():
    """Under load the batch grows by itself: whatever waited during the handling goes now."""
    b = Batcher(max_=3, within=0.02, linger=0.002)
    b.take(now=1.0)
    for i, at in enumerate((1.001, 1.0015, 1.002)):
        b.add(i, now=at)
    assert b.full and b.closes_in(now=1.002) == 0.0
    b.take(now=1.002)
    b.add("late", now=1.003)
    assert b.closes_in(now=1.010) == 0.0  # handled until 1.010: "late" waited 7 ms already
    eager = Batcher(max_=3, within=0.02, linger=0.0)
    eager.add("now", now=2.0)
    assert eager.closes_in(now=2.0) == 0.0  # no linger: taken as soon as it arrives
    with pytest.raises(ValueError, match="negative"):
        Batcher(max_=3, within=0.02, linger=-0.001)


def _channel_stream():
    """A Faust in-process channel's stream (the app never connects), and the values it acknowledges."""
    app = faust.App("batching-test", broker="kafka://127.0.0.1:9", web_enabled=False)
    app.flow_control.resume()
    channel = app.channel()
    stream = channel.stream()
    acked: list[int] = []
    ack = stream.ack

    async def counting_ack(event):
        acked.append(event.value)
        return await ack(event)

    stream.ack = counting_ack
    return channel, stream, acked


def _consume(sends, *, max_, within, handle_seconds):
    """Feed ``sends`` ([(delay_before, value)]) through take_batches.

    Returns [(values, seconds since start, acked before)]."""

    async def main():
        channel, stream, acked = _channel_stream()
        batches = []
        t0 = time.monotonic()
        started = asyncio.Event()

        async def consume():
            async for batch in take_batches(stream, max_, within):
                started.set()
                batches.append(([e.value for e in batch], time.monotonic() - t0, list(acked)))
                await asyncio.sleep(handle_seconds)

        task = asyncio.ensure_future(consume())
        await channel.send(value=-1)  # the stream starts on its first event; time from after it
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.sleep(handle_seconds + 0.05)
        batches.clear()
        t0 = time.monotonic()
        for delay, value in sends:
            await asyncio.sleep(delay)
            await channel.send(value=value)
        await asyncio.sleep(0.6)
        task.cancel()
        return batches

    return asyncio.run(main())


def test_events_that_arrive_while_a_batch_is_handled_are_the_next_batch_without_waiting_the_window():
    # 0 arrives alone and waits for the window; 1-3 arrive after it while it is handled (0.3 s)
    batches = _consume([(0, 0), (0.15, 1), (0.01, 2), (0.01, 3)], max_=100, within=0.1, handle_seconds=0.3)
    assert [values for values, _, _ in batches] == [[0], [1, 2, 3]]
    first_at, second_at = batches[0][1], batches[1][1]
    assert first_at < 0.1 + 0.08  # at the next window
    assert second_at - first_at < 0.3 + 0.08  # right after the handling, not a window later


def test_no_batch_holds_more_than_max_and_each_is_acknowledged_after_it_was_handled():
    batches = _consume([(0, v) for v in range(7)], max_=3, within=0.05, handle_seconds=0.02)
    assert [values for values, _, _ in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    # when a batch is handed over, only the batches before it have been acknowledged
    assert [acked for _, _, acked in batches] == [[-1], [-1, 0, 1, 2], [-1, 0, 1, 2, 3, 4, 5]]


def test_a_batch_whose_handling_raised_is_not_acknowledged_so_it_is_read_again_after_a_restart():
    async def main():
        channel, stream, acked = _channel_stream()

        async def consume():
            async for _batch in take_batches(stream, 10, 0.01):
                raise RuntimeError("a handler bug")

        task = asyncio.ensure_future(consume())
        for value in (1, 2):
            await channel.send(value=value)
        with pytest.raises(RuntimeError, match="handler bug"):
            await asyncio.wait_for(task, 5)
        await asyncio.sleep(0.05)  # the abandoned generator is closed
        return acked

    assert asyncio.run(main()) == []
