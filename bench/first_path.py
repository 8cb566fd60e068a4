"""Throughput of the application path against its two baselines, in one run.

    python -m bench.first_path [--n 20000] [--dir DIR]

Each candidate drains the same backlog of N real Lending Club applications
(pre-produced to its own topic, 3 partitions) as a separate process on the
real broker (and Redis, for riskmon): a bare confluent-kafka passthrough, a
plain Faust forwarding agent, and ``riskmon worker``. Throughput is N over the
span between the first and last output record's broker timestamps, so start-up
and group join are not counted. Prints the environment, the absolute figures,
the ratios to the baselines, and a last ``name: value`` line.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Literal, overload

import orjson
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 3


def applications(n: int) -> list[tuple[bytes, bytes]]:
    from riskmon.demo.data import load_records

    records = load_records("lending_club")
    out = []
    for i in range(n):
        doc = dict(records[i % len(records)].application)
        doc["application_id"] = f"{doc['application_id']}-{i}"
        out.append((doc["application_id"].encode(), orjson.dumps(doc)))
    return out


def create(bootstrap: str, topics: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics]).values():
        f.result(30)


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 5000})
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)


@overload
def drain(
    bootstrap: str,
    topic: str,
    n: int,
    timeout: float,
    alive: Callable[[], bool] = ...,
    with_start: Literal[False] = False,
) -> tuple[int, float]: ...


@overload
def drain(
    bootstrap: str, topic: str, n: int, timeout: float, alive: Callable[[], bool] = ..., *, with_start: Literal[True]
) -> tuple[int, float, float]: ...


def drain(
    bootstrap: str,
    topic: str,
    n: int,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    with_start: bool = False,
) -> tuple[int, float] | tuple[int, float, float]:
    """Consume ``n`` records of ``topic``; return (count, span in seconds), and with
    ``with_start`` the first record's timestamp (epoch seconds) as a third item."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    first: float | None = None
    last: float | None = None
    count = 0
    deadline = time.monotonic() + timeout
    while count < n and time.monotonic() < deadline and alive():
        for msg in consumer.consume(1000, timeout=0.5):
            if msg.error():
                continue
            ts = msg.timestamp()[1] / 1000.0
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
            count += 1
    consumer.close()
    span = (last - first) if first is not None and last is not None else float("nan")
    if with_start:
        return count, span, first if first is not None else float("nan")
    return count, span


def peak_rss_mb(pid: int, field: str = "VmHWM:") -> float:
    """A memory figure of ``pid`` from /proc in MB: the peak (VmHWM) by default, or e.g. ``VmRSS:`` now."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_candidate(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    src: str,
    dst: str,
    bootstrap: str,
    messages: list[tuple[bytes, bytes]],
    timeout: float,
) -> dict:
    produce(bootstrap, src, messages)
    log = open(Path(tempfile.gettempdir()) / f"riskmon-bench-{name.split()[0]}.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        count, span = drain(bootstrap, dst, len(messages), timeout, alive=lambda: proc.poll() is None)
        if proc.poll() is not None:
            print(f"  {name} exited with {proc.returncode}; see {log.name}", file=sys.stderr)
        rss = peak_rss_mb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    rate = (count - 1) / span if count > 1 and span > 0 else float("nan")
    return {"name": name, "count": count, "span_s": span, "rate": rate, "rss_mb": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--dir", type=Path, default=None, help="stack directory (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    from riskmon import stack

    directory = args.dir or Path(tempfile.mkdtemp(prefix="riskmon-bench-"))
    was_running = stack.status(directory) is not None
    info = stack.up(directory)
    bootstrap = info.kafka_bootstrap
    try:
        messages = applications(args.n)
        print(
            f"cpus={os.cpu_count()} python={platform.python_version()} "
            + " ".join(
                f"{p}={metadata.version(p)}"
                for p in ("faust-streaming", "aiokafka", "confluent-kafka", "redis", "orjson")
            )
        )
        print(f"kafka={info.kafka_bootstrap} n={args.n} partitions={PARTITIONS}")
        run = uuid.uuid4().hex[:6]
        results = []
        base_env = dict(os.environ)
        for kind in ("confluent", "faust"):
            src, dst = f"bench{run}.{kind}.in", f"bench{run}.{kind}.out"
            create(bootstrap, [src, dst])
            cmd = [sys.executable, "-m", "bench.baselines", kind, src, dst, bootstrap, f"bench{run}-{kind}"]
            results.append(
                run_candidate(f"{kind} passthrough", cmd, base_env, src, dst, bootstrap, messages, args.timeout)
            )
            print(f"  {results[-1]}", flush=True)
        prefix = f"bench{run}.riskmon."
        env = dict(
            base_env,
            RISKMON_KAFKA_BOOTSTRAP=bootstrap,
            RISKMON_REDIS_URL=info.redis_url,
            RISKMON_TOPIC_PREFIX=prefix,
            RISKMON_APP_ID=f"bench{run}-riskmon",
            RISKMON_WEB_PORT="0",
            RISKMON_PARTITIONS=str(PARTITIONS),
        )
        from riskmon.runtime.topics import ensure_topics
        from riskmon.settings import settings_from_env

        ensure_topics(settings_from_env(env))
        results.append(
            run_candidate(
                "riskmon worker (decisions)",
                [sys.executable, "-m", "riskmon", "worker", "--loglevel", "warning"],
                env,
                f"{prefix}credit.applications",
                f"{prefix}credit.decisions",
                bootstrap,
                messages,
                args.timeout,
            )
        )
        print(f"  {results[-1]}", flush=True)
        # the same worker without the audit trail, to price it (a fresh topic prefix and group)
        prefix_na = f"bench{run}.noaudit."
        env_na = dict(env, RISKMON_TOPIC_PREFIX=prefix_na, RISKMON_APP_ID=f"bench{run}-noaudit", RISKMON_AUDIT="0")
        ensure_topics(settings_from_env(env_na))
        results.append(
            run_candidate(
                "riskmon worker, audit off",
                [sys.executable, "-m", "riskmon", "worker", "--loglevel", "warning"],
                env_na,
                f"{prefix_na}credit.applications",
                f"{prefix_na}credit.decisions",
                bootstrap,
                messages,
                args.timeout,
            )
        )
        print(f"  {results[-1]}", flush=True)

        print(f"\n{'candidate':<30} {'events':>7} {'events/s':>10} {'peak RSS MB':>12}")
        for r in results:
            print(f"{r['name']:<30} {r['count']:>7} {r['rate']:>10.0f} {r['rss_mb']:>12.1f}")
        ours = results[2]["rate"]
        print(f"\nriskmon / confluent passthrough = {ours / results[0]['rate']:.2f}")
        print(f"riskmon / faust passthrough     = {ours / results[1]['rate']:.2f}")
        print(f"riskmon with audit / without    = {ours / results[3]['rate']:.2f}")
        print(f"first_path_decisions_per_s: {ours:.0f}")
        return 0 if all(r["count"] == args.n for r in results) else 1
    finally:
        if not was_running:
            stack.down(directory)


if __name__ == "__main__":
    sys.exit(main())
