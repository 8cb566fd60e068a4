"""The speed benchmark: drain throughput, latency at a fixed load, and memory over a long run.

    python -m bench.harness [--drain 20000] [--rate 1000] [--seconds 30] [--long 0] [--dir DIR]

Every figure comes from separate processes on the real broker and Redis (a
stack started with ``riskmon.stack`` in ``--dir``, or a temporary one), each
candidate measured on the same generated data in the same run:

* ``confluent``: a bare confluent-kafka consume -> produce passthrough;
* ``faust``: a plain Faust agent forwarding each event (``bench.baselines``),
  as shipped (its consumer waits up to 1,500 ms per fetch);
* ``faust-tuned``: the same agent tuned as riskmon's worker is (fetch wait and
  minimum, uvloop, no terminal spinner: ``bench.baselines``): the latency
  ratio is taken against it;
* ``riskmon``: the real ``riskmon worker``, with its web port (as deployed).

The data is a realistic mix built from the demo's sources: in every ten
events two Lending Club applications (``riskmon.demo.data``), seven card
transactions (``riskmon.demo.transactions``, customers from a pool of 50,000,
event time advancing 25 ms per event so no customer is unusually busy), and one
repayment of an earlier application.

Phases:

1. **drain**: ``--drain`` events pre-produced, then the candidate started;
   events/s over the span of the work, start-up and group join excluded
   (baselines: first to last output record; riskmon on applications: first to
   last decision; riskmon on transactions or the mix: its
   ``riskmon_messages_consumed_total`` counter, polled every 0.2 s). Each of
   applications only, transactions only and the mix; then applications with
   two riskmon workers sharing the partitions (scale-out).
2. **latency**: the mix offered at ``--rate`` events/s for ``--seconds``
   (after 5 s of warm-up); latency is the producer's send time to this
   process's receipt of the decision (riskmon; an anomaly alert names its
   transaction and counts too) or of the forwarded event (baselines).
   ``--workers 2`` runs riskmon's latency with two workers in one group (the
   scale-out deployment); its RSS, GC and CPU figures are then the first worker's.
   Each latency line also gives the CPU the worker, the broker and this
   harness used over the measured span (percent of one core) and how busy
   the machine was (``bench.cpu_shares``; steal is time given to other guests):
   the same code's p99 moves with the machine's load. When no drain ran
   first, a throw-away latency run of ``--warm`` seconds (default 15) comes
   before the measured ones: a fresh broker compiles its hot paths first
   (its JIT used 106-114% of a core during its first 15 s latency run), and
   that would otherwise fall in the first candidate's measured span.
3. **long run** (``--long N``, 0 skips it): N mix events produced as fast as
   the broker takes them while the candidate drains them; RSS sampled every
   2 s from /proc. Growth = RSS at the end / RSS after the first 10%; second-half
   growth = RSS at the end / RSS at 50%; growth after fill = RSS at the end /
   RSS once the stream has covered the longest event-time state the worker
   keeps (the 30-day loan window and its day of lateness: a third of the
   default run), i.e. whether anything grows once bounded state is full. Its events are ``--long-step`` seconds
   apart in event time (default 8: 1M events span 93 days, three of the
   portfolio's 30-day loan windows), so the bounded state fills in the first
   third and the rest of the run shows whether anything else grows. The long
   run uses the *closing* mix: two applications, six transactions and two
   repayments in every ten, each application's repayment final (``paid_off``
   or ``charged_off``), so loans end and the exposure book reaches a steady
   size as a real one does (``--long-open-loans``: the latency mix instead).

``--pin-worker`` runs every candidate on one CPU of its own and the broker,
Redis and this harness on the others (``bench.pinning``), as a deployment
would give the worker its own cores; without it all share every CPU.

Prints the environment, the absolute figures, the ratios to the baselines and
a last ``name: value`` line. A benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import orjson
from confluent_kafka import OFFSET_END, Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.cpu_shares import HZ, broker_pids, shares, snapshot, stack_pids, ticks
from bench.first_path import PARTITIONS, create, drain, peak_rss_mb
from bench.pinning import pin, split
from riskmon.stack.ports import free_ports

KINDS = ("applications", "transactions", "repayments")
CANDIDATES = ("confluent", "faust", "faust-tuned", "riskmon")
KINDS_DRAINED = ("applications", "transactions", "mix")  # the drains, in the order they run
CUSTOMERS = 50_000
EVENT_STEP_S = 0.025


# --- the data -------------------------------------------------------------------


class Mix:
    """Events of the three input kinds, unique ids, generated on demand (1M never sits in memory)."""

    def __init__(
        self, seed: int = 8, *, step: float = EVENT_STEP_S, start: datetime | None = None, closing: bool = False
    ) -> None:
        """``step``: event-time seconds between consecutive events of a phase, from ``start``
        (default 8 h ago). Transactions and repayments carry these times, so the detectors'
        event-time windows advance with the stream as in production.

        ``closing``: every application gets a final repayment four events later (good
        loans ``paid_off``, bad ones ``charged_off``): two applications, six
        transactions and two repayments in every ten events. Loans then end as
        they do in a real book, so the exposure book reaches a steady size and a
        long run can judge whether memory is flat. (In the default mix one
        application in two is never repaid and good loans stay ``current``, so
        the book grows with every approval.)"""
        from riskmon.demo.data import load_records, repayment_for
        from riskmon.demo.transactions import generate_transactions

        self._records = load_records("lending_club")
        self._repayment_for = repayment_for
        customers = [f"bc-{i:05d}" for i in range(200)]
        self._transactions = [t.transaction for t in generate_transactions(customers, n=5000, seed=seed)]
        self._start = start if start is not None else datetime.now(UTC) - timedelta(hours=8)
        self._step = step
        self.closing = closing

    def _at(self, t: int) -> str:
        at = self._start + timedelta(seconds=t * self._step)
        return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def application(self, i: int) -> tuple[bytes, bytes]:
        record = self._records[i % len(self._records)]
        doc = dict(record.application, application_id=f"{record.application['application_id']}-{i}")
        return doc["application_id"].encode(), orjson.dumps(doc)

    def repayment(self, i: int, t: int, *, final: bool = False) -> tuple[bytes, bytes]:
        """The repayment of application ``i``, at event time ``t`` steps (``final``: the loan's
        last, ``paid_off`` or ``charged_off``).

        Its time is the stream's, not the record's (submission + 3 months): the
        records repeat every few thousand events, so their historical times would
        put every repeat's new loan into the same 30 days, and the portfolio's
        loan window would grow without end, as no production stream does.
        """
        record = self._records[i % len(self._records)]
        doc = (
            self._repayment_for(record, good_status="paid_off", bad_status="charged_off")
            if final
            else self._repayment_for(record)
        )
        doc["application_id"] = f"{record.application['application_id']}-{i}"
        doc["event_id"] = f"{doc['event_id']}-{i}"
        doc["occurred_at"] = self._at(t)
        return doc["application_id"].encode(), orjson.dumps(doc)

    def transaction(self, i: int, t: int) -> tuple[bytes, bytes]:
        template = self._transactions[i % len(self._transactions)]
        doc = dict(
            template, transaction_id=f"bt-{i}", customer_id=f"bc-{(i * 7919) % CUSTOMERS:05d}", occurred_at=self._at(t)
        )
        return doc["customer_id"].encode(), orjson.dumps(doc)

    def event(self, i: int, t: int) -> tuple[str, bytes, bytes]:
        """The i-th event of the mix (``t`` steps into its phase): 2 applications, 7 transactions,
        1 repayment in every 10 (closing: 2 applications, 6 transactions, 2 final repayments)."""
        slot = i % 10
        if slot in (0, 5):
            return ("applications", *self.application(i))
        if self.closing and slot in (4, 9):
            return ("repayments", *self.repayment(i - 4, t, final=True))  # the application four events earlier
        if slot == 9:
            return ("repayments", *self.repayment(i - 9, t))  # the application sent nine events earlier
        return ("transactions", *self.transaction(i, t))

    def events(self, n: int, kind: str = "mix", start: int = 0) -> Iterator[tuple[str, bytes, bytes]]:
        for t, i in enumerate(range(start, start + n)):
            if kind == "mix":
                yield self.event(i, t)
            elif kind == "applications":
                yield ("applications", *self.application(i))
            else:
                yield ("transactions", *self.transaction(i, t))


def produce_all(bootstrap: str, topics: dict[str, str], events: Iterator[tuple[str, bytes, bytes]]) -> int:
    """Produce as fast as the broker takes them; returns how many were acknowledged."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.num.messages": 5000,
            "queue.buffering.max.messages": 200_000,
        }
    )
    failed = [0]

    def report(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failed[0] += 1

    count = 0
    for kind, key, value in events:
        while True:
            try:
                producer.produce(topics[kind], key=key, value=value, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
        if count % 1000 == 0:
            producer.poll(0)
    producer.flush(120)
    return count - failed[0]


# --- the candidates -------------------------------------------------------------


@dataclass
class Candidate:
    """One process under test, with its own topics and consumer group."""

    name: str
    bootstrap: str
    redis_url: str
    run: str
    web_port: int = 0
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    prefix: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    output: str = ""
    cpus: set[int] | None = None  # ``--pin-worker``: the CPUs its process may run on
    role: str = "all"  # riskmon only: ``riskmon worker --role`` (``--roles`` runs one process per role)

    def prepare(self, phase: str) -> None:
        """Fresh topics for ``phase``: the candidate reads from the first offset."""
        self.prefix = f"bench{self.run}.{self.name}.{phase}."
        self.inputs = {kind: f"{self.prefix}credit.{kind}" for kind in KINDS}
        if self.name == "riskmon":
            from riskmon.runtime.topics import ensure_topics
            from riskmon.settings import settings_from_env

            ensure_topics(settings_from_env(self._env()))
            self.output = f"{self.prefix}credit.decisions"
        else:
            self.output = f"{self.prefix}out"
            create(self.bootstrap, [*self.inputs.values(), self.output])

    def _env(self) -> dict[str, str]:
        return dict(
            os.environ,
            RISKMON_KAFKA_BOOTSTRAP=self.bootstrap,
            RISKMON_REDIS_URL=self.redis_url,
            RISKMON_TOPIC_PREFIX=self.prefix,
            RISKMON_APP_ID=f"{self.prefix}riskmon",
            RISKMON_WEB_PORT=str(self.web_port),
            RISKMON_PARTITIONS=str(PARTITIONS),
            RISKMON_ROLE=self.role,
        )

    @property
    def group(self) -> str:
        if self.name != "riskmon":
            return f"{self.prefix}group"
        return f"{self.prefix}riskmon" if self.role == "all" else f"{self.prefix}riskmon-{self.role}"

    def held_topics(self) -> set[str]:
        """The topics this process's group must hold before it counts as running."""
        if self.role == "transactions":
            return {self.inputs["transactions"], self.inputs["repayments"]}
        if self.role == "background":
            return {f"{self.prefix}risk.alerts.candidates"}
        if self.role == "decisions":
            return {self.inputs["applications"]}
        return set(self.inputs.values())

    def start(self) -> None:
        if self.name == "riskmon":
            cmd = [sys.executable, "-m", "riskmon", "worker", "--loglevel", "warning"]
        else:
            cmd = [
                sys.executable,
                "-m",
                "bench.baselines",
                self.name,
                ",".join(self.inputs.values()),
                self.output,
                self.bootstrap,
                self.group,
            ]
        self.log_path = Path(tempfile.gettempdir()) / f"riskmon-harness-{self.run}-{self.name}-{self.role}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if self.cpus:  # before its interpreter starts a thread: every later thread inherits it
            pin(self.proc.pid, self.cpus)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def rss_mb(self) -> float:
        return peak_rss_mb(self.proc.pid, "VmRSS:") if self.proc else float("nan")

    def _metrics(self, timeout: float) -> str | None:
        """riskmon's /metrics page, or None when it does not answer."""
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=timeout).read().decode()
        except OSError:
            return None

    def consumed(self) -> int | None:
        """riskmon's own count of input messages consumed, from its /metrics page."""
        text = self._metrics(timeout=2)
        if text is None:
            return None
        total = 0.0
        for line in text.splitlines():
            if line.startswith("riskmon_messages_consumed_total{") and any(
                f'"{t}"' in line for t in self.inputs.values()
            ):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def gc_pauses(self) -> dict[str, float]:
        """riskmon's garbage-collector pauses since it started (``riskmon_gc_pause_seconds``):
        count and total seconds of each generation, as ``gc{g}_count`` / ``gc{g}_seconds``
        (empty for the baselines, which have no such metric)."""
        text = self._metrics(timeout=5) if self.name == "riskmon" else None
        if text is None:
            return {}
        found: dict[str, float] = {}
        for line in text.splitlines():
            for series, key in (
                ("riskmon_gc_pause_seconds_count{", "count"),
                ("riskmon_gc_pause_seconds_sum{", "seconds"),
            ):
                if line.startswith(series):
                    generation = line.split('generation="', 1)[1].split('"', 1)[0]
                    found[f"gc{generation}_{key}"] = float(line.rsplit(" ", 1)[1])
        return found

    def profile_delays(self) -> dict[str, dict[float, float]]:
        """riskmon's ``riskmon_profile_delay_seconds`` histogram: per profile part, bucket bound -> cumulative count
        (empty for the baselines). The delay from an event reaching the broker to its effect on the profile."""
        text = self._metrics(timeout=5) if self.name == "riskmon" else None
        found: dict[str, dict[float, float]] = {}
        for line in (text or "").splitlines():
            if line.startswith("riskmon_profile_delay_seconds_bucket{"):
                labels = line.split("{", 1)[1].split("}", 1)[0]
                part = labels.split('part="', 1)[1].split('"', 1)[0]
                bound = labels.split('le="', 1)[1].split('"', 1)[0]
                found.setdefault(part, {})[float(bound)] = float(line.rsplit(" ", 1)[1])
        return found

    def wait_assigned(self, timeout: float = 120.0, members: int = 1) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            try:
                desc = admin.describe_consumer_groups([self.group])[self.group].result(timeout=5)
                topics = {
                    tp.topic for m in desc.members for tp in (m.assignment.topic_partitions if m.assignment else [])
                }
                if str(desc.state).endswith("STABLE") and self.held_topics() <= topics and len(desc.members) >= members:
                    return
            except Exception:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} never got its partitions; see {self.log_path}")


def _free_port() -> int:
    return free_ports(1)[0]


# --- the phases -----------------------------------------------------------------


class CpuSampler(threading.Thread):
    """The CPU seconds a process has used (all its threads), sampled with the wall
    clock every 0.1 s, so the CPU spent inside a drain's span can be read back.

    Why: drain throughput on two cores shared with the broker varies by a third
    from run to run; CPU per event varies far less, so it is the figure to
    compare an optimisation against.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._done = threading.Event()
        self.samples: list[tuple[float, float]] = []

    def _cpu(self) -> float | None:
        used = ticks(self._pid)
        return None if used is None else used / HZ

    def run(self) -> None:
        while not self._done.wait(0.1):
            cpu = self._cpu()
            if cpu is not None:
                self.samples.append((time.time(), cpu))

    def stop(self) -> None:
        self._done.set()
        self.join(2)

    def between(self, start: float, end: float) -> float:
        """CPU seconds used from wall-clock ``start`` to ``end`` (nearest samples);
        nan for a span under a second, too short for samples 0.1 s apart (the
        confluent passthrough drains 20,000 events in about 0.1 s)."""
        if not self.samples or end - start < 1.0:
            return float("nan")
        at = lambda t: min(self.samples, key=lambda s: abs(s[0] - t))[1]  # noqa: E731
        return at(end) - at(start)


@dataclass
class Drain:
    """One drain's figures: events/s over its span, and CPU microseconds per event."""

    rate: float
    cpu_us: float


def measure_drain(c: Candidate, mix: Mix, kind: str, n: int, timeout: float, roles: bool = False) -> Drain:
    """Events/s draining a backlog of ``n`` events of ``kind``, and the CPU each cost.

    ``roles``: riskmon as one process per role; the rate and CPU are those of the role
    that takes ``kind`` (the others run beside it, as they would in production)."""
    c.role = ("transactions" if kind == "transactions" else "decisions") if roles and c.name == "riskmon" else "all"
    c.prepare(f"drain-{kind}")
    others = _role_processes(c) if c.role != "all" else []
    for other in others:
        other.start()
    for other in others:
        other.wait_assigned()
    produce_all(c.bootstrap, c.inputs, mix.events(n, kind))
    c.start()
    assert c.proc is not None
    cpu = CpuSampler(c.proc.pid)
    cpu.start()
    try:
        if c.name != "riskmon" or kind == "applications":
            expect = n
            count, span, first_ts = drain(c.bootstrap, c.output, expect, timeout, alive=c.alive, with_start=True)
            if count != expect or not span > 0:
                return Drain(float("nan"), float("nan"))
            return Drain((count - 1) / span, cpu.between(first_ts, first_ts + span) / (count - 1) * 1e6)
        first: tuple[float, int] | None = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and c.alive():
            seen = c.consumed()
            now = time.time()
            if seen and first is None:
                first = (now, seen)
            if seen is not None and seen >= n and first is not None:
                if now <= first[0]:
                    return Drain(float("nan"), float("nan"))
                done = seen - first[1]
                return Drain(done / (now - first[0]), cpu.between(first[0], now) / done * 1e6)
            time.sleep(0.2)
        return Drain(float("nan"), float("nan"))
    finally:
        cpu.stop()
        c.stop()
        for other in others:
            other.stop()


def measure_scale(c: Candidate, mix: Mix, n: int, timeout: float) -> float:
    """Applications/s draining ``n`` applications with two riskmon workers in one group."""
    c.prepare("scale")
    produce_all(c.bootstrap, c.inputs, mix.events(n, "applications"))
    (twin,) = _twins(c, 2)
    c.start()
    twin.start()
    try:
        count, span = drain(c.bootstrap, c.output, n, timeout, alive=lambda: c.alive() and twin.alive())
        return (count - 1) / span if count == n and span > 0 else float("nan")
    finally:
        c.stop()
        twin.stop()


def _twins(c: Candidate, workers: int) -> list[Candidate]:
    """``workers - 1`` more riskmon processes in ``c``'s group, on its topics (not started)."""
    twins = [
        Candidate(c.name, c.bootstrap, c.redis_url, c.run, web_port=_free_port(), cpus=c.cpus)
        for _ in range(workers - 1)
    ]
    for twin in twins:
        twin.prefix, twin.inputs, twin.output = c.prefix, c.inputs, c.output
    return twins


def measure_latency(
    c: Candidate,
    mix: Mix,
    rate: float,
    seconds: float,
    warmup: float = 5.0,
    workers: int = 1,
    stack_dir: str = "",
    phase: str = "latency",
    roles: bool = False,
) -> dict:
    """Send the mix at ``rate`` events/s; latency from send to receipt of each output
    (the broker's CPU is that of the broker started in ``stack_dir``; ``phase`` names
    the fresh topics and group, so a warm-up leaves no backlog to the measured run).
    ``roles``: riskmon as three processes, one per role (``c`` the decision role), each's CPU reported."""
    c.role = "decisions" if roles and c.name == "riskmon" else "all"
    c.prepare(phase)
    twins = _twins(c, workers) if c.name == "riskmon" else []
    others = _role_processes(c) if c.role == "decisions" else []
    for p in (c, *twins, *others):
        p.start()
    try:
        c.wait_assigned(members=1 + len(twins))
        for other in others:
            other.wait_assigned()
        return _offer(c, mix, rate, seconds, warmup, stack_dir, others=others)
    finally:
        for p in (*twins, *others):
            p.stop()


def _role_processes(c: Candidate) -> list[Candidate]:
    """The other roles beside ``c`` (a riskmon process of one role), on its topics (not started)."""
    procs = [
        Candidate(c.name, c.bootstrap, c.redis_url, c.run, web_port=_free_port(), cpus=c.cpus, role=role)
        for role in ("decisions", "transactions", "background")
        if role != c.role
    ]
    for p in procs:
        p.prefix, p.inputs, p.output = c.prefix, c.inputs, c.output
    return procs


def _offer(
    c: Candidate,
    mix: Mix,
    rate: float,
    seconds: float,
    warmup: float,
    stack_dir: str = "",
    others: Sequence[Candidate] = (),
) -> dict:
    """The latency phase's load and measurement, once ``c`` holds its partitions; stops ``c``."""
    outputs = [c.output] + ([f"{c.prefix}risk.alerts"] if c.name == "riskmon" else [])
    consumer = Consumer(
        {
            "bootstrap.servers": c.bootstrap,
            "group.id": f"lat-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
        }
    )
    parts = []
    for topic in outputs:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        parts += [TopicPartition(topic, p, OFFSET_END) for p in md.partitions]
    consumer.assign(parts)
    consumer.consume(1, timeout=1.0)  # settle the assignment before anything is sent
    sent: dict[bytes, float] = {}  # identity -> send time (wall clock)
    received: list[float] = []
    # riskmon's measured decisions, where the time went (ms): (end to end, before the worker's consumer
    # had it, inside the worker (its latency_ms), after: the decision's producer timestamp to this receipt)
    spans: list[tuple[float, float, float, float]] = []
    alerted: list[float] = []  # riskmon: ms to each anomaly alert
    measure_from = [float("inf")]
    done = threading.Event()

    def identity(kind: str, key: bytes, value: bytes) -> bytes | None:
        if c.name != "riskmon":
            return value  # forwarded unchanged
        if kind == "applications":
            return key
        if kind == "transactions":
            return orjson.loads(value)["transaction_id"].encode()
        return None

    def receive() -> None:
        while not done.is_set():
            for msg in consumer.consume(500, timeout=0.005):  # consume() waits for 500 or the timeout
                now = time.time()
                if msg.error():
                    continue
                worker_ms = None
                if c.name != "riskmon":
                    ident = msg.value()
                elif msg.topic() == c.output:
                    ident = msg.key()
                    worker_ms = orjson.loads(_payload(msg))["latency_ms"]  # the worker's own view
                else:
                    ident = (orjson.loads(_payload(msg)).get("labels") or {}).get("transaction_id", "").encode() or None
                started = sent.pop(ident, None) if ident is not None else None
                if started is not None and started >= measure_from[0]:
                    received.append(now - started)
                    total_ms = (now - started) * 1000
                    if worker_ms is not None:
                        after_ms = now * 1000 - msg.timestamp()[1]  # the worker's producer stamps the decision
                        spans.append((total_ms, total_ms - worker_ms - after_ms, worker_ms, after_ms))
                    elif c.name == "riskmon":
                        alerted.append(total_ms)

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    producer = Producer({"bootstrap.servers": c.bootstrap, "linger.ms": 1})
    total = int(rate * (seconds + warmup))
    begin = time.monotonic()
    wall0 = time.time()
    measure_from[0] = wall0 + warmup
    offered = 0
    gc_before: dict[str, float] = {}
    delays_before: dict[str, dict[float, float]] = {}
    roles = {"worker": [c.proc.pid] if c.proc else [], "broker": broker_pids(stack_dir), "harness": [os.getpid()]}
    if others:  # one process per role: each role's CPU, and the worker's as their sum
        roles["role_decisions"] = roles["worker"]
        for other in others:
            roles[f"role_{other.role}"] = [other.proc.pid] if other.proc else []
        roles["worker"] = [pid for pids in (roles[f"role_{o.role}"] for o in others) for pid in pids] + roles["worker"]
    cpu_before, cpu_from = snapshot(roles), time.monotonic()
    redis_before = redis_commands(c.redis_url)
    for i, (kind, key, value) in enumerate(mix.events(total, "mix", start=10_000_000)):
        if i == int(rate * warmup):
            gc_before = c.gc_pauses()  # the pauses of the measured span only, not start-up's
            delays_before = c.profile_delays()
            cpu_before, cpu_from = snapshot(roles), time.monotonic()
            redis_before = redis_commands(c.redis_url)
        pause = begin + i / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        ident = identity(kind, key, value)
        if ident is not None:
            sent[ident] = time.time()
        producer.produce(c.inputs[kind], key=key, value=value)
        producer.poll(0)
        offered += 1
    achieved = offered / (time.monotonic() - begin)
    cpu = shares(cpu_before, snapshot(roles), time.monotonic() - cpu_from)  # under the measured load
    measured = offered - int(rate * warmup)
    redis_per_event = (redis_commands(c.redis_url) - redis_before) / measured if measured > 0 else float("nan")
    producer.flush(30)
    time.sleep(3)  # the last outputs arrive
    done.set()
    reader.join(5)
    consumer.close()
    rss = c.rss_mb()
    gc_pauses = {k: v - gc_before.get(k, 0.0) for k, v in c.gc_pauses().items()}
    profile = profile_delay_quantiles(delays_before, c.profile_delays())
    c.stop()
    latencies_ms = sorted(x * 1000 for x in received)
    inside = sorted(s[2] for s in spans)
    in_worker = {"worker_p50_ms": pct(inside, 0.50), "worker_p99_ms": pct(inside, 0.99)} if inside else {}
    by_kind = {}
    for kind, values in (("decision", sorted(s[0] for s in spans)), ("alert", sorted(alerted))):
        if values:
            by_kind.update(
                {
                    f"{kind}_samples": len(values),
                    f"{kind}_p50_ms": round(pct(values, 0.50), 1),
                    f"{kind}_p99_ms": round(pct(values, 0.99), 1),
                }
            )
    return {
        "offered_per_s": achieved,
        "samples": len(received),
        "p50_ms": pct(latencies_ms, 0.50),
        "p95_ms": pct(latencies_ms, 0.95),
        "p99_ms": pct(latencies_ms, 0.99),
        "max_ms": pct(latencies_ms, 1.0),
        "rss_mb": rss,
        **in_worker,
        **by_kind,
        **gc_pauses,
        **profile,
        **breakdown(spans),
        **cpu,
        "redis_commands_per_event": round(redis_per_event, 2),  # every candidate's and the harness's (none)
    }


def redis_commands(url: str) -> int:
    """Commands the Redis server has processed since it started (``INFO stats``)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def profile_delay_quantiles(
    before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]
) -> dict[str, float]:
    """``profile_<part>_p50_ms`` / ``_p99_ms`` over the measured span: the first histogram bound that holds
    the quantile (an upper bound on it: the buckets are 10 ms to 5 min).

    >>> profile_delay_quantiles({}, {"alerts": {0.01: 10, 0.05: 99, 0.1: 100, float("inf"): 100}})
    {'profile_alerts_p50_ms': 50.0, 'profile_alerts_p99_ms': 50.0}
    """
    out: dict[str, float] = {}
    for part, buckets in sorted(after.items()):
        counts = sorted((bound, n - before.get(part, {}).get(bound, 0.0)) for bound, n in buckets.items())
        total = counts[-1][1] if counts else 0.0
        if total <= 0:
            continue
        for q in (0.50, 0.99):
            bound = next(b for b, n in counts if n >= q * total)
            out[f"profile_{part}_p{round(q * 100)}_ms"] = round(bound * 1000, 1)
    return out


def _payload(msg: Message) -> bytes:
    """A record's value: riskmon's decisions and alerts always carry one (it writes no tombstones)."""
    value = msg.value()
    assert value is not None, f"a record without a value on {msg.topic()}"
    return value


def pct(ordered: list[float], p: float) -> float:
    """The ``p`` quantile of an ascending list (nearest rank below; NaN when empty)."""
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def breakdown(spans: list[tuple[float, float, float, float]]) -> dict[str, float]:
    """Where a decision's time went: medians, and the mean of each part over the slowest 1%.

    Parts: ``to_worker`` (producer, broker, the worker's fetch and Faust's
    hand-over), ``in_worker`` (its ``latency_ms``: batch window and
    handling), ``from_worker`` (the decision's send, the broker and this
    process's fetch). Clocks: one machine, so wall clocks agree.
    """
    if not spans:
        return {}
    names = ("to_worker", "in_worker", "from_worker")
    out: dict[str, float] = {}
    for n, name in enumerate(names, start=1):
        out[f"{name}_p50_ms"] = round(pct(sorted(s[n] for s in spans), 0.50), 1)
    slowest = sorted(spans)[-max(1, len(spans) // 100) :]
    for n, name in enumerate(names, start=1):
        out[f"{name}_slowest1pct_ms"] = round(statistics.fmean(s[n] for s in slowest), 1)
    return out


def longest_window_s() -> float:
    """The longest event-time state the worker keeps by default: the portfolio's loan
    window plus its allowed lateness (30 + 1 days). Until the stream has covered
    it, memory grows because the bounded state is still filling."""
    from riskmon.config import load_config

    indicators = load_config(None).detectors.portfolio()
    return indicators.loan_window + indicators.loan_lateness


def measure_long(c: Candidate, mix: Mix, n: int, timeout: float, filled: float = 0.1) -> dict:
    """Drain ``n`` mix events produced alongside; RSS sampled every 2 s.

    ``filled``: the fraction of the run after which the bounded state is full
    (:func:`longest_window_s` over the run's span); ``growth_after_fill`` is
    the RSS at the end over the RSS then."""
    c.prepare("long")
    c.start()
    c.wait_assigned()
    began = time.monotonic()
    producer = threading.Thread(
        target=produce_all, args=(c.bootstrap, c.inputs, mix.events(n, "mix", start=20_000_000))
    )
    producer.start()
    samples: list[tuple[float, int, float]] = []  # (seconds, events done, RSS MB)
    progress: Callable[[], int | None]
    if c.name == "riskmon":
        progress = c.consumed
    else:
        out = Consumer({"bootstrap.servers": c.bootstrap, "group.id": f"long-{uuid.uuid4().hex}"})

        def progress() -> int | None:
            md = out.list_topics(c.output, timeout=10).topics[c.output]
            return sum(out.get_watermark_offsets(TopicPartition(c.output, p), timeout=10)[1] for p in md.partitions)

    deadline = began + timeout
    done = 0
    while time.monotonic() < deadline and c.alive():
        done = progress() or done
        samples.append((time.monotonic() - began, done, c.rss_mb()))
        if done >= n:
            break
        time.sleep(2)
    producer.join()
    c.stop()
    elapsed = samples[-1][0] if samples else float("nan")
    after_warmup = next((s for s in samples if s[1] >= n * 0.1), samples[0] if samples else (0, 0, float("nan")))
    rss = [s[2] for s in samples]
    deciles = [next((round(x[2]) for x in samples if x[1] >= n * k / 10), None) for k in range(1, 11)]
    at_fill = next((s[2] for s in samples if s[1] >= n * min(filled, 1.0)), float("nan"))
    return {
        "events": done,
        "seconds": elapsed,
        "rss_by_decile_mb": deciles,
        "events_per_s": done / elapsed if elapsed else float("nan"),
        "rss_at_10pct_mb": after_warmup[2],
        "rss_end_mb": rss[-1] if rss else float("nan"),
        "rss_max_mb": max(rss) if rss else float("nan"),
        "growth": (rss[-1] / after_warmup[2]) if rss and after_warmup[2] else float("nan"),
        "growth_second_half": (rss[-1] / deciles[4]) if rss and deciles[4] else float("nan"),
        "filled_fraction": round(min(filled, 1.0), 3),
        "rss_at_fill_mb": at_fill,
        "growth_after_fill": (rss[-1] / at_fill) if rss and at_fill else float("nan"),
    }


# --- the report -----------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drain", type=int, default=20_000, help="events per drain (default 20000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load for latency, events/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="latency measurement length after 5 s warm-up")
    parser.add_argument("--long", type=int, default=0, help="events in the long run (1000000 is the target; 0 skips)")
    parser.add_argument(
        "--long-step",
        type=float,
        default=8.0,
        help="event-time seconds between long-run events (default 8: 1M events span 93 days, "
        "three 30-day loan windows, so bounded state fills early in the run)",
    )
    parser.add_argument(
        "--long-open-loans",
        action="store_true",
        help="long run on the latency mix, whose loans never close (the book grows with every "
        "approval); default: the closing mix, every loan paid off or charged off",
    )
    parser.add_argument("--workers", type=int, default=1, help="riskmon workers in the latency phase (default 1)")
    parser.add_argument(
        "--roles",
        action="store_true",
        help="riskmon as three processes, one per role (riskmon worker --role): in the drains, the rate "
        "and CPU of the role that takes the kind; in the latency phase, decision and alert p99 and each role's CPU",
    )
    parser.add_argument(
        "--warm",
        type=float,
        default=15.0,
        help="seconds of a throw-away latency run that warms the broker when no drain ran first "
        "(default 15; 0 skips it)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="stack directory (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS_DRAINED),
        help="comma-separated drains to run: applications,transactions,mix (default all)",
    )
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: drain,scale,latency")
    parser.add_argument(
        "--candidates", default=",".join(CANDIDATES), help="which to run (ratios need all four; fewer is for profiling)"
    )
    parser.add_argument(
        "--pin-worker",
        action="store_true",
        help="run each candidate on a CPU of its own, and the broker, Redis and this harness on "
        "the others (bench.pinning): the worker's figures without their contention",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    from riskmon import stack

    directory = args.dir or Path(tempfile.mkdtemp(prefix="riskmon-harness-"))
    was_running = stack.status(directory) is not None
    info = stack.up(directory)
    everywhere = os.sched_getaffinity(0)
    shared: list[int] = []  # --pin-worker: this harness and the stack, given every CPU back at the end
    worker_cpus: set[int] | None = None
    try:
        if args.pin_worker:
            worker_cpus, rest = split(everywhere)
            shared = [os.getpid(), *stack_pids(str(directory))]
            for pid in shared:
                pin(pid, rest)
            print(f"pinned: candidates on CPU {sorted(worker_cpus)}; broker, Redis and harness on {sorted(rest)}")
        print(
            f"cpus={os.cpu_count()} python={platform.python_version()} "
            + " ".join(
                f"{p}={metadata.version(p)}"
                for p in ("faust-streaming", "aiokafka", "confluent-kafka", "redis", "orjson", "river")
            )
        )
        print(
            f"kafka={info.kafka_bootstrap} redis={info.redis_url} partitions={PARTITIONS} load={os.getloadavg()[0]:.2f}"
        )
        print(f"drain={args.drain} rate={args.rate:.0f}/s seconds={args.seconds:.0f} long={args.long}", flush=True)
        mix = Mix()
        run = uuid.uuid4().hex[:6]
        names = tuple(args.candidates.split(","))
        cands = {
            n: Candidate(
                n,
                info.kafka_bootstrap,
                info.redis_url,
                run,
                web_port=_free_port() if n == "riskmon" else 0,
                cpus=worker_cpus,
            )
            for n in names
        }
        drains: dict[tuple[str, str], float] = {}
        cpu_us: dict[tuple[str, str], float] = {}
        kinds = tuple(args.kinds.split(","))
        if "drain" not in skip:
            for kind in kinds:
                for n in names:
                    d = measure_drain(cands[n], mix, kind, args.drain, args.timeout, roles=args.roles)
                    drains[(n, kind)], cpu_us[(n, kind)] = d.rate, d.cpu_us
                    print(
                        f"  drain {kind:<12} {n:<11} {d.rate:>8.0f} events/s {d.cpu_us:>7.0f} us CPU/event", flush=True
                    )
        scale = float("nan")
        if "scale" not in skip and "riskmon" in names:
            scale = measure_scale(cands["riskmon"], mix, args.drain, args.timeout)
            print(f"  drain applications riskmon x2 {scale:>7.0f} events/s", flush=True)
        latency: dict[str, dict] = {}
        if "latency" not in skip:
            if "drain" in skip and args.warm > 0:
                warm = measure_latency(
                    cands[names[0]], mix, args.rate, args.warm, stack_dir=str(directory), phase="warm"
                )
                print(
                    f"  warm-up   {names[0]:<9} p99 {warm['p99_ms']:.1f} ms, "
                    f"broker {warm.get('cpu_broker_pct', 0):.0f}% "
                    "of a core (discarded)",
                    flush=True,
                )
            for n in names:
                latency[n] = measure_latency(
                    cands[n],
                    mix,
                    args.rate,
                    args.seconds,
                    workers=args.workers,
                    stack_dir=str(directory),
                    roles=args.roles,
                )
                print(f"  latency {n:<9} {latency[n]}", flush=True)
        long: dict[str, dict] = {}
        if args.long:
            for n in names:
                span = timedelta(seconds=args.long * args.long_step)
                long_mix = Mix(
                    step=args.long_step,
                    start=datetime.now(UTC) - span,  # ends now
                    closing=not args.long_open_loans,
                )
                filled = longest_window_s() / (args.long * args.long_step)
                long[n] = measure_long(cands[n], long_mix, args.long, args.timeout * 10, filled=filled)
                print(f"  long {n:<9} {long[n]}", flush=True)

        if names != CANDIDATES or kinds != KINDS_DRAINED:
            return 0  # a partial run (profiling): the lines above are its figures, no ratios
        print()
        if drains:
            print(
                f"{'drain events/s':<16} {'confluent':>10} {'faust':>10} {'faust-tuned':>12} {'riskmon':>10} "
                f"{'/confluent':>11} {'/faust':>8} {'/tuned':>8}"
            )
            for kind in ("applications", "transactions", "mix"):
                c, f, t, r = (drains[(n, kind)] for n in names)
                print(
                    f"{kind:<16} {c:>10.0f} {f:>10.0f} {t:>12.0f} {r:>10.0f} {r / c:>11.3f} {r / f:>8.2f} {r / t:>8.2f}"
                )
            print(
                f"\n{'CPU us/event':<16} {'confluent':>10} {'faust':>10} {'faust-tuned':>12} "
                f"{'riskmon':>10} {'/faust':>8}"
            )
            for kind in KINDS_DRAINED:
                c, f, t, r = (cpu_us[(n, kind)] for n in names)
                print(f"{kind:<16} {c:>10.0f} {f:>10.0f} {t:>12.0f} {r:>10.0f} {r / f:>8.2f}")
            one = drains[("riskmon", "applications")]
            print(
                f"two riskmon workers, applications: {scale:.0f}/s = {scale / one:.2f} x one worker "
                f"({PARTITIONS} partitions, {os.cpu_count()} CPUs shared with the broker)"
            )
        if latency:
            print(
                f"\nlatency at {args.rate:.0f}/s  {'offered/s':>9} {'samples':>8} {'p50 ms':>8} {'p95 ms':>8} "
                f"{'p99 ms':>8} {'max ms':>8} {'RSS MB':>7}"
            )
            for n in names:
                x = latency[n]
                print(
                    f"{n:<18} {x['offered_per_s']:>9.0f} {x['samples']:>8} {x['p50_ms']:>8.1f} {x['p95_ms']:>8.1f} "
                    f"{x['p99_ms']:>8.1f} {x['max_ms']:>8.1f} {x['rss_mb']:>7.0f}"
                )
            print(
                "riskmon p99 / faust-tuned p99 = "
                f"{latency['riskmon']['p99_ms'] / latency['faust-tuned']['p99_ms']:.2f} "
                f"(/ faust as shipped = {latency['riskmon']['p99_ms'] / latency['faust']['p99_ms']:.2f})"
            )
        if long:
            print(
                f"\nlong run of {args.long} {'seconds':>8} {'events/s':>9} {'RSS@10% MB':>11} "
                f"{'RSS end':>8} {'RSS max':>8} {'growth':>7}"
            )
            for n in names:
                x = long[n]
                print(
                    f"{n:<18} {x['seconds']:>8.0f} {x['events_per_s']:>9.0f} {x['rss_at_10pct_mb']:>11.0f} "
                    f"{x['rss_end_mb']:>8.0f} {x['rss_max_mb']:>8.0f} {x['growth']:>7.3f}"
                )
        summary = []
        if drains:
            summary.append(
                f"harness_app_vs_faust: {drains[('riskmon', 'applications')] / drains[('faust', 'applications')]:.3f}"
            )
            summary.append(
                f"harness_txn_vs_faust: {drains[('riskmon', 'transactions')] / drains[('faust', 'transactions')]:.3f}"
            )
        if latency:
            summary.append(f"harness_p99_ms: {latency['riskmon']['p99_ms']:.1f}")
        if long:
            summary.append(f"harness_rss_growth: {long['riskmon']['growth']:.3f}")
            summary.append(f"harness_rss_growth_after_fill: {long['riskmon']['growth_after_fill']:.3f}")
        print()
        for line in reversed(summary):  # the application ratio last: the one a script reads
            print(line)
        return 0
    finally:
        for c in locals().get("cands", {}).values():
            c.stop()
        for pid in shared:  # the stack may be a shared dev stack
            with contextlib.suppress(ProcessLookupError):
                pin(pid, everywhere)
        if not was_running:
            stack.down(directory)
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)  # a temporary stack: its broker's data goes too


if __name__ == "__main__":
    sys.exit(main())
