"""Ceilings of the single-partition jobs: how fast the audit writer and the learner drain a backlog.

Why: decisions and transactions scale by partitions and workers, but the audit
writer (one hash chain) and the credit learner (one model state) each read a
single partition, in one background process. Their events per second on one
process is the system's ceiling for decisions audited and labels learned,
whatever the number of decision workers. The capacity model in
docs/performance.md quotes these figures.

How: a *source* phase runs one riskmon worker (``--role all``) over
``--applications`` applications, then one final repayment for each, so the
worker writes the real ``risk.audit.pending`` batches and ``risk.training``
examples. Then, for each job, those messages are copied into a fresh topic
prefix (a fresh Redis namespace too: a new chain, a new model) and a
background-role worker is started on the backlog. Its rate is the units it
finished (audit records appended to ``risk.audit``; labels claimed in Redis),
polled every 0.2 s, over the span from the first unit seen to the last,
beside the CPU its process used over that span (which includes the learner's
LightGBM refits in their thread).

    .venv/bin/python -m bench.ceilings --applications 20000

A benchmark, not a test: nothing here asserts. Prints the environment, one
line per job, and a last ``name: value`` line.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
import redis
from confluent_kafka import Consumer, Producer, TopicPartition

from bench.harness import Candidate, CpuSampler, Mix, _free_port, produce_all
from riskmon.pipeline.store import key_namespace
from riskmon.runtime.topics import TopicNames, ensure_topics, topic_names
from riskmon.settings import settings_from_env


@dataclass(frozen=True)
class Ceiling:
    """One job's drain: messages and the units inside them (records, labels) per second, CPU per unit."""

    job: str
    messages: int
    units: int
    seconds: float
    cpu_seconds: float

    @property
    def units_per_s(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else float("nan")

    @property
    def cpu_us_per_unit(self) -> float:
        return self.cpu_seconds / self.units * 1e6 if self.units else float("nan")


def _names(c: Candidate) -> TopicNames:
    return topic_names(settings_from_env(c._env()))  # noqa: SLF001


def _end_offset(bootstrap: str, topic: str) -> int:
    """The messages ``topic`` holds, over all its partitions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ceil-{uuid.uuid4().hex}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def _committed(bootstrap: str, group: str, topic: str) -> int:
    """The group's committed offset on ``topic``'s partition 0 (0 before its first commit)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        (tp,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return max(tp.offset, 0)
    finally:
        consumer.close()


def _wait_until(what: str, done, timeout: float, alive) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        if not alive():
            raise RuntimeError(f"the worker stopped while waiting for {what}")
        time.sleep(1.0)
    raise RuntimeError(f"timed out waiting for {what}")


def source(c: Candidate, mix: Mix, n: int, timeout: float) -> None:
    """Decide ``n`` applications, then learn one final repayment of each: the backlogs to replay."""
    c.role = "all"
    c.prepare("source")
    names = _names(c)
    c.start()
    c.wait_assigned()
    produce_all(c.bootstrap, c.inputs, mix.events(n, "applications"))
    _wait_until("the decisions", lambda: _end_offset(c.bootstrap, c.output) >= n, timeout, c.alive)
    repayments = (("repayments", *mix.repayment(i, i, final=True)) for i in range(n))
    produce_all(c.bootstrap, c.inputs, repayments)
    _wait_until("the repayments", lambda: (c.consumed() or 0) >= 2 * n, timeout, c.alive)
    time.sleep(10)  # the last training examples and audit batches
    print(
        f"source: {n} applications decided, {_end_offset(c.bootstrap, names.training)} training examples, "
        f"{_end_offset(c.bootstrap, names.audit_pending)} audit batches",
        flush=True,
    )
    c.stop()


def copy(bootstrap: str, source_topic: str, target_topic: str, count_units) -> tuple[int, int]:  # noqa: ANN001
    """Copy every message of ``source_topic`` (one partition) to ``target_topic``; (messages, units)."""
    end = _end_offset(bootstrap, source_topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ceil-{uuid.uuid4().hex}"})
    consumer.assign([TopicPartition(source_topic, 0, 0)])
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "queue.buffering.max.messages": 200_000,
            "message.max.bytes": 64 << 20,
        }
    )
    messages = units = 0
    try:
        while messages < end:
            for msg in consumer.consume(500, timeout=5):
                if msg.error():
                    continue
                producer.produce(target_topic, key=msg.key(), value=msg.value())
                messages += 1
                units += count_units(msg.value())
            producer.poll(0)
        producer.flush(60)
    finally:
        consumer.close()
    return messages, units


def _records(value: bytes) -> int:
    return len(orjson.loads(value).get("records", []))


def measure(c: Candidate, job: str, source_topic: str, pick, count_units, progress, timeout: float) -> Ceiling:  # noqa: ANN001
    """A background worker on a fresh prefix, draining a copy of ``source_topic``.

    ``progress(names)`` counts the units done so far (records appended, labels claimed),
    polled every 0.2 s; the rate is over the span from the first unit seen to the last."""
    c.role = "background"
    c.prepare(f"ceiling-{job.replace(' ', '-')}")
    names = _names(c)
    target = pick(names)
    messages, units = copy(c.bootstrap, source_topic, target, count_units)
    c.start()
    assert c.proc is not None
    cpu = CpuSampler(c.proc.pid)
    cpu.start()
    first: tuple[float, int] | None = None
    last: tuple[float, int] = (0.0, 0)
    try:
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and c.alive():
            done = progress(names)
            now = time.time()
            if done and first is None:
                first = (now, done)
            if done > last[1]:
                last, quiet_since = (now, done), time.monotonic()
            if done >= units or (first is not None and time.monotonic() - quiet_since > 20):
                break
            time.sleep(0.2)
        if first is None or last[1] <= first[1]:
            return Ceiling(job, messages, 0, float("nan"), float("nan"))
        span = last[0] - first[0]
        return Ceiling(job, messages, last[1] - first[1], span, cpu.between(first[0], last[0]))
    finally:
        cpu.stop()
        c.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=20_000, help="applications in the source phase")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--dir", type=Path, default=None, help="stack directory (default: a temporary one)")
    args = parser.parse_args(argv)

    from riskmon import stack

    directory = args.dir or Path(tempfile.mkdtemp(prefix="riskmon-ceilings-"))
    was_running = stack.status(directory) is not None
    info = stack.up(directory)
    try:
        print(f"cpus={os.cpu_count()} kafka={info.kafka_bootstrap} load={os.getloadavg()[0]:.2f}", flush=True)
        c = Candidate("riskmon", info.kafka_bootstrap, info.redis_url, uuid.uuid4().hex[:6], web_port=_free_port())
        source(c, Mix(), args.applications, args.timeout)
        src = _names(c)
        ensure_topics(settings_from_env(c._env()))  # noqa: SLF001
        client = redis.Redis.from_url(info.redis_url)

        def appended(names: TopicNames) -> int:
            return _end_offset(c.bootstrap, names.audit)

        def claimed(names: TopicNames) -> int:
            pattern = f"{key_namespace(c.prefix)}:labelled:*"
            return sum(1 for _ in client.scan_iter(match=pattern, count=5000))

        results = [
            measure(c, "audit writer", src.audit_pending, lambda n: n.audit_pending, _records, appended, args.timeout),
            measure(c, "learner", src.training, lambda n: n.training, lambda _: 1, claimed, args.timeout),
        ]
        for r in results:
            unit = "records" if r.job == "audit writer" else "labels"
            print(
                f"{r.job:<13} {r.units:>7} {unit} ({r.messages} messages) in {r.seconds:.1f} s: "
                f"{r.units_per_s:,.0f} {unit}/s, CPU {r.cpu_us_per_unit:.0f} us per {unit[:-1]} "
                f"({r.cpu_seconds / r.seconds * 100 if r.seconds else float('nan'):.0f}% of a core); "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        print("ceilings: " + ", ".join(f"{r.job.replace(' ', '_')}_per_s={r.units_per_s:.0f}" for r in results))
        return 0
    finally:
        if not was_running:
            stack.down(directory)


if __name__ == "__main__":
    raise SystemExit(main())
