"""CPU of one Redis round trip: through redis-py's asyncio client as the worker
configures it, and written and read on a bare asyncio stream.

Why: a handler batch pays two or three round trips before its first event
(docs/performance.md), so what one costs in the worker's process
bounds what a small batch can cost.

    .venv/bin/python -m bench.redis_round_trip --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from urllib.parse import urlparse

import redis.asyncio as aioredis

from riskmon.pipeline.store import DecisionStore


async def through_redis_py(url: str, key: str, n: int) -> float:
    """CPU us per ``GET`` on the decision store's own client (its timeouts and health check)."""
    store = DecisionStore(url, ttl_seconds=60)
    client = store.client
    try:
        for _ in range(200):
            await client.get(key)
        start = time.process_time()
        for _ in range(n):
            await client.get(key)
        return (time.process_time() - start) / n * 1e6
    finally:
        await store.close()


async def bare_stream(url: str, key: str, n: int) -> float:
    """CPU us per ``GET`` written in RESP and its bulk reply read, on an asyncio stream."""
    parsed = urlparse(url)
    reader, writer = await asyncio.open_connection(parsed.hostname or "127.0.0.1", parsed.port or 6379)
    k = key.encode()
    command = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k)
    try:

        async def once() -> None:
            writer.write(command)
            header = await reader.readuntil(b"\r\n")  # $<length>
            if header != b"$-1\r\n":
                await reader.readexactly(int(header[1:-2]) + 2)

        for _ in range(200):
            await once()
        start = time.process_time()
        for _ in range(n):
            await once()
        return (time.process_time() - start) / n * 1e6
    finally:
        writer.close()
        await writer.wait_closed()


async def measure(url: str, n: int) -> dict[str, float]:
    key = f"riskmon:bench{uuid.uuid4().hex[:8]}:round-trip"
    setup = aioredis.Redis.from_url(url)
    try:
        await setup.set(key, b"x" * 64, ex=60)
        return {"redis_py_us": await through_redis_py(url, key, n), "bare_stream_us": await bare_stream(url, key, n)}
    finally:
        await setup.delete(key)
        await setup.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", required=True, help="Redis URL (the dev stack's REDIS_URL)")
    parser.add_argument("--n", type=int, default=3_000, help="round trips measured per client (default 3,000)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    import uvloop  # the worker's loop

    for r in range(args.rounds):
        result = uvloop.run(measure(args.redis, args.n))
        print(
            f"round {r + 1}: redis-py {result['redis_py_us']:.0f} us CPU per GET, "
            f"bare asyncio stream {result['bare_stream_us']:.0f} us",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
