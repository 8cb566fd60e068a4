"""CPU per event of one input handler, on the real Redis, without Kafka or Faust.

Why: at 1,000 events/s the worker's main thread is most of a core, and the
latency bench cannot say which handler's code to cut. This drives one handler
(the same class the worker runs) with the harness's events in batches of the
size a 20 ms window gives at that rate, on the real Redis; outputs go to a
sink that acknowledges at once. It reports the process's CPU per event, and
with ``--profile`` the functions that cost most.

    .venv/bin/python -m bench.handler_cost --redis redis://127.0.0.1:6379/0 --kind transactions

The drain's decision path: ``--kind applications --scorer --batch 500 --gc-young 50000``
(a backlog gives batches of up to 500; the worker's scorer and garbage-collector set-up).

Keys go to a namespace of their own (``riskmon:bench<random>``), deleted at
the end. ``--redis redis+cluster://...`` measures against a Redis Cluster; the
Redis commands per event are counted on the server(s) (INFO stats). Compare
variants only within one run of this tool or interleaved runs: this machine's
speed varies by 2x between hours.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
import time
import uuid
from collections.abc import Awaitable, Iterable
from typing import Any, TypedDict

import orjson

from bench.harness import Mix
from riskmon.alerting.sink import AlertSink
from riskmon.applications.handler import ApplicationHandler
from riskmon.applications.scoring import ModelScorer
from riskmon.config import load_config
from riskmon.pipeline.handler import BatchHandler
from riskmon.pipeline.messages import Incoming, Send
from riskmon.pipeline.metrics import WorkerMetrics
from riskmon.pipeline.store import DecisionStore
from riskmon.schemas import Alert
from riskmon.transactions.handler import TransactionHandler

#: Events per batch at 1,000 events/s of the mix in 20 ms windows: 7 of 10 are
#: transactions (14 a batch), 2 of 10 applications (4 a batch).
DEFAULT_BATCH = {"transactions": 14, "applications": 4}


class Alerts(AlertSink):
    """Takes the alerts a handler publishes and drops them (the alert path is not measured)."""

    def __init__(self) -> None:
        super().__init__(_sent, "risk.alerts")  # never sends: publish is overridden

    async def publish(self, alerts: Iterable[Alert]) -> list[Awaitable[Any]]:
        return []


async def _sent(topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


class _Common(TypedDict):
    """The arguments both handlers take."""

    store: DecisionStore
    send: Send
    deadletter_topic: str
    max_message_bytes: int
    metrics: WorkerMetrics


def _handler(kind: str, store: DecisionStore, config_path: str | None = None, scorer: bool = False) -> BatchHandler:
    config = load_config(config_path)
    common = _Common(
        store=store, send=_sent, deadletter_topic="risk.deadletter", max_message_bytes=1 << 18, metrics=WorkerMetrics()
    )
    if kind == "transactions":
        return TransactionHandler(config=config, alerts=Alerts(), **common)
    return ApplicationHandler(
        config=config,
        decisions_topic="credit.decisions",
        portfolio_topic="risk.portfolio",
        audit_topic="risk.audit.pending",
        # the worker's scorer before any model is published: the scorecard decides, the snapshot is kept
        scorer=ModelScorer(None, min_labels=config.models.min_labels_to_decide) if scorer else None,
        **common,
    )


def _messages(kind: str, n: int) -> list[Incoming]:
    mix = Mix()
    make = mix.transaction if kind == "transactions" else (lambda i, t: mix.application(i))
    return [Incoming(f"credit.{kind}", 0, i, *make(i, i), received_monotonic=0.0) for i in range(n)]


async def _publish_fraud_model(store: DecisionStore, messages: list[Incoming]) -> None:
    """A fraud model learned from the first messages (every 20th called fraud), published as the learner does."""
    from riskmon.fraud import FraudChampionChallenger, fraud_features
    from riskmon.fraud.store import model_key
    from riskmon.schemas import Transaction, decode_object

    models = FraudChampionChallenger()
    for i, m in enumerate(messages[:2_000]):
        tx = Transaction.from_dict(decode_object(m.value, max_bytes=1 << 18))
        x = fraud_features(tx, {"new_country": float(i % 20 == 0)})
        models.learn(x, i % 20 == 0, scores=models.score(x))
    doc = {"champion": models.champion.to_dict(), "challenger": models.challenger.to_dict(), "status": {}}
    await store.client.set(model_key(store.namespace), orjson.dumps(doc))


def commands_processed(redis_url: str) -> int:
    """Commands the server (every master of a cluster) processed so far: INFO stats."""
    import redis

    if "+cluster://" not in redis_url:  # (plain redis-py: this tool also measures riskmon trees from before clusters)
        single = redis.Redis.from_url(redis_url)
        try:
            return int(single.info("stats")["total_commands_processed"])
        finally:
            single.close()
    from riskmon.redis_clients import sync_client

    cluster = sync_client(redis_url)
    try:
        nodes = [cluster.get_redis_connection(node) for node in cluster.get_primaries()]
        return sum(int(n.info("stats")["total_commands_processed"]) for n in nodes)
    finally:
        cluster.close()


async def measure(
    redis_url: str,
    kind: str,
    n: int,
    batch: int,
    warmup: int,
    profile: bool,
    fraud_model: bool = False,
    config_path: str | None = None,
    scorer: bool = False,
) -> dict[str, float]:
    """CPU and wall time per event over ``n`` events after ``warmup`` ones, and how
    many keys the handler left in Redis (deleted before returning)."""
    namespace = f"riskmon:bench{uuid.uuid4().hex[:8]}"
    store = DecisionStore(redis_url, ttl_seconds=600, namespace=namespace)
    messages = _messages(kind, warmup + n)
    if fraud_model:
        await _publish_fraud_model(store, messages)
    handler = _handler(kind, store, config_path, scorer)
    try:
        for start in range(0, warmup, batch):
            await handler.handle(messages[start : min(start + batch, warmup)])
        if fraud_model and isinstance(handler, TransactionHandler):
            # the worker re-reads the models every 30 s and cuts the budgets on its last 2,000 transactions:
            # make that read happen at the first measured batch, so grading (and one cut) is measured too
            handler._fraud_read_at = float("-inf")
        profiler = cProfile.Profile() if profile else None
        commands = commands_processed(redis_url)
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for start in range(warmup, warmup + n, batch):
            await handler.handle(messages[start : start + batch])
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        commands = commands_processed(redis_url) - commands
        if profiler:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    finally:
        # on a cluster the store tags the namespace ({riskmon:benchX}:...); entity keys keep it bare
        patterns = {f"{namespace}:*", f"{store.namespace}:*"}
        keys = [k for p in patterns async for k in store.client.scan_iter(match=p, count=1000)]
        written = len(keys)
        for start in range(0, len(keys), 1000):
            await store.client.delete(*keys[start : start + 1000])  # a cluster client splits it by slot
        await store.close()
    return {
        "cpu_us_per_event": cpu / n * 1e6,
        "wall_us_per_event": wall / n * 1e6,
        "keys_written": written,
        "redis_commands_per_event": commands / n,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", required=True, help="Redis URL (the dev stack's REDIS_URL)")
    parser.add_argument("--kind", choices=sorted(DEFAULT_BATCH), default="transactions")
    parser.add_argument("--events", type=int, default=12_000, help="events measured (default 12,000)")
    parser.add_argument("--warmup", type=int, default=2_000, help="events handled first, not measured")
    parser.add_argument("--batch", type=int, help="events per batch (default: a 20 ms window at 1,000 events/s)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat and print each round")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured events to stderr")
    parser.add_argument(
        "--fraud-model",
        action="store_true",
        help="transactions: publish a fraud model first, so each transaction is also scored and graded by it",
    )
    parser.add_argument("--config", help="configuration file (default: the packaged one)")
    parser.add_argument(
        "--scorer",
        action="store_true",
        help="applications: with the worker's model scorer (no model published yet: the scorecard decides, "
        "and each decision keeps its feature snapshot and audit inputs, as in the worker's drain)",
    )
    parser.add_argument(
        "--gc-young",
        type=int,
        help="set up the garbage collector as the worker does (start-up heap frozen) with this generation-0 "
        "threshold: 50000 is the worker's now (riskmon.runtime.tuning.gc), 700 CPython's default",
    )
    args = parser.parse_args(argv)
    if args.gc_young is not None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(args.gc_young, *gc.get_threshold()[1:])
    batch = args.batch or DEFAULT_BATCH[args.kind]
    for r in range(args.rounds):
        result = asyncio.run(
            measure(
                args.redis,
                args.kind,
                args.events,
                batch,
                args.warmup,
                args.profile,
                args.fraud_model,
                args.config,
                args.scorer,
            )
        )
        print(
            f"{args.kind} batch={batch} round {r + 1}: cpu {result['cpu_us_per_event']:.1f} us/event, "
            f"wall {result['wall_us_per_event']:.1f} us/event, "
            f"Redis commands {result['redis_commands_per_event']:.2f}/event",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
