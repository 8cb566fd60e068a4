"""The handler-cost and round-trip benchmarks run on the real Redis and leave no keys behind."""

from __future__ import annotations

import asyncio

import pytest
import redis

from bench.handler_cost import measure

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind, batch", [("transactions", 14), ("applications", 4)])
def test_it_measures_each_handler_and_deletes_its_keys(services, kind: str, batch: int) -> None:
    plain = redis.Redis.from_url(services.redis_url)
    before = set(plain.scan_iter(match="riskmon:bench*", count=1000))
    result = asyncio.run(measure(services.redis_url, kind, n=60, batch=batch, warmup=20, profile=False))
    assert result["cpu_us_per_event"] > 0 and result["wall_us_per_event"] > 0
    assert result["keys_written"] >= 80  # the handler really kept state for every event (customer or decision)
    assert set(plain.scan_iter(match="riskmon:bench*", count=1000)) == before


def test_the_round_trip_tool_measures_both_clients_and_deletes_its_key(services) -> None:
    from bench.redis_round_trip import measure as round_trips

    plain = redis.Redis.from_url(services.redis_url)
    before = set(plain.scan_iter(match="riskmon:bench*", count=1000))
    result = asyncio.run(round_trips(services.redis_url, 50))
    assert result["redis_py_us"] > 0 and result["bare_stream_us"] > 0
    assert set(plain.scan_iter(match="riskmon:bench*", count=1000)) == before
