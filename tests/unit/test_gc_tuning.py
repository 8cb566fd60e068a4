"""Garbage-collector pauses reach ``riskmon_gc_pause_seconds`` by generation, and freezing keeps what it freezes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.runtime.tuning.gc import YOUNG_THRESHOLD, GcPauseRecorder, freeze_startup_heap, raise_young_threshold


@pytest.fixture
def metrics() -> Iterator[WorkerMetrics]:
    yield WorkerMetrics()


def _pauses(metrics: WorkerMetrics, generation: str) -> tuple[float, float]:
    """(count, sum) of the pause histogram's child for ``generation``."""
    registry = metrics.registry
    labels = {"generation": generation}
    count = registry.get_sample_value("riskmon_gc_pause_seconds_count", labels)
    total = registry.get_sample_value("riskmon_gc_pause_seconds_sum", labels)
    return count or 0.0, total or 0.0


def test_a_forced_full_collection_is_one_generation_2_pause(metrics: WorkerMetrics) -> None:
    recorder = GcPauseRecorder(metrics.gc_pause).install()
    try:
        gc.collect()  # generation 2: a full collection, as the collector runs it itself
    finally:
        recorder.uninstall()
    count, seconds = _pauses(metrics, "2")
    assert count == 1
    assert 0 < seconds < 10
    assert recorder not in gc.callbacks


def test_each_generation_is_its_own_series_and_all_exist_from_the_start(metrics: WorkerMetrics) -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5])  # a controlled clock: 250 ms, then 500 ms
    recorder = GcPauseRecorder(metrics.gc_pause, clock=lambda: next(ticks))
    assert [_pauses(metrics, g) for g in "012"] == [(0.0, 0.0)] * 3  # pre-bound: exported as 0 before any pause
    recorder("start", {"generation": 0})
    recorder("stop", {"generation": 0, "collected": 0, "uncollectable": 0})
    recorder("start", {"generation": 1})
    recorder("stop", {"generation": 1, "collected": 3, "uncollectable": 0})
    assert _pauses(metrics, "0") == (1.0, 0.25)
    assert _pauses(metrics, "1") == (1.0, 0.5)
    assert _pauses(metrics, "2") == (0.0, 0.0)


def test_install_twice_times_each_collection_once(metrics: WorkerMetrics) -> None:
    recorder = GcPauseRecorder(metrics.gc_pause).install().install()
    try:
        gc.collect()
    finally:
        recorder.uninstall()
    assert _pauses(metrics, "2")[0] == 1


class _Box:
    """A tracked object that can be weakly referenced (a list cannot)."""


def test_frozen_objects_are_skipped_by_collections_but_still_freed_by_reference_counting() -> None:
    kept = [[i] for i in range(1000)]  # tracked containers that outlive the freeze
    box = _Box()
    gone = weakref.ref(box)
    try:
        frozen = freeze_startup_heap()
        assert frozen >= len(kept)
        assert gc.get_freeze_count() == frozen
        assert gc.is_tracked(kept[0])
        assert not any(o is kept[0] for o in gc.get_objects())  # in no generation a collection traverses
        del box  # its last reference: a frozen object is freed at once, no collection needed
        assert gone() is None
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual


def test_young_collections_wait_for_a_whole_batch_of_short_lived_objects() -> None:
    before = gc.get_threshold()
    try:
        assert raise_young_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
        gc.collect()
        collections = gc.get_stats()[0]["collections"]
        # a drain batch's worth of containers (500 applications, ~40 each) that live until it is sent
        batch = [{"decision": i, "reasons": [i]} for i in range(10_000)]
        assert gc.get_stats()[0]["collections"] == collections  # with CPython's 700: about 28 young collections
        del batch
    finally:
        gc.set_threshold(*before)
