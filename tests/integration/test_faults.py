"""Fault tolerance on the real broker and Redis, through real worker processes.

Each test lets a stream of applications (and some bad inputs) flow while
something fails, then checks with :mod:`tests.integration.verifier` what
users rely on: every valid application decided once (one ``decision_id``,
repeats byte-identical), every bad input in ``risk.deadletter`` with its
original bytes, nothing lost.

Covered elsewhere, not repeated here: the same application sent three times
(``test_application_path.py``), one kill -9 with the audit trail checked
(``test_audit_trail.py``), Redis down for a minute and back empty
(``test_redis_outage.py``).

Workers here run with the default ``RISKMON_SESSION_TIMEOUT_MS`` (6 s; Faust's
own default is 60 s): a killed worker's partitions move to the next one after
seconds instead of a minute, which keeps five kills affordable.
"""

from __future__ import annotations

import json
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from riskmon.applications.decide import parse_application
from riskmon.pipeline.messages import Incoming
from riskmon.schemas import SchemaError
from tests.integration.conftest import Services, WorkerProcess, produce
from tests.integration.test_application_path import application
from tests.integration.verifier import Expected, OutputReader, verify

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


class Feeder(threading.Thread):
    """Produces applications (every ``bad_every``-th input a bad one) at a steady rate.

    Only what the broker acknowledged counts as sent (``acked_valid``,
    ``acked_bad``): "nothing acknowledged is lost" is the promise we test.
    """

    def __init__(self, bootstrap: str, topic: str, n: int, *, rate: float, tag: str, bad_every: int = 20) -> None:
        super().__init__(daemon=True)
        self.topic, self.n, self.rate, self.tag, self.bad_every = topic, n, rate, tag, bad_every
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "linger.ms": 5,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": 120_000,
                "log_level": 0,
            }
        )
        self.acked_valid: set[str] = set()
        self.acked_bad: dict[bytes, bytes] = {}
        self.failed = 0

    def message(self, i: int) -> tuple[bytes, bytes, bool]:
        if self.bad_every and i % self.bad_every == self.bad_every - 1:
            key = f"{self.tag}-bad-{i}".encode()
            return key, b'{"application_id": "%s", "amount": -1' % key, False  # truncated JSON
        app_id = f"{self.tag}-{i:05d}"
        return app_id.encode(), orjson.dumps(application(i, application_id=app_id)), True

    def run(self) -> None:
        started = time.monotonic()
        for i in range(self.n):
            key, value, valid = self.message(i)

            def delivered(err, msg, key=key, value=value, valid=valid) -> None:  # type: ignore[no-untyped-def]
                if err is not None:
                    self.failed += 1
                elif valid:
                    self.acked_valid.add(key.decode())
                else:
                    self.acked_bad[key] = value

            self.producer.produce(self.topic, key=key, value=value, on_delivery=delivered)
            self.producer.poll(0)
            pause = started + (i + 1) / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self.producer.flush(150)

    def expected(self) -> Expected:
        return Expected(valid=set(self.acked_valid), bad=dict(self.acked_bad))


def audit_caught_up(reader: OutputReader) -> bool:
    audited = {e["record"]["application_id"] for e in reader.docs("risk.audit") if e["record"]["kind"] == "decision"}
    return audited >= reader.decided()


@pytest.fixture
def reader_for() -> Iterator:
    readers: list[OutputReader] = []

    def make(worker: WorkerProcess) -> OutputReader:
        readers.append(OutputReader(worker.services.kafka_bootstrap, worker.prefix))
        return readers[-1]

    yield make
    for reader in readers:
        reader.close()


def test_five_kill_9s_at_random_points_lose_nothing_and_change_no_decision(make_worker, services, reader_for) -> None:
    rng = random.Random(20261129)
    worker = make_worker().start()
    feeder = Feeder(services.kafka_bootstrap, worker.topic("credit.applications"), 1500, rate=40, tag="k9")
    feeder.start()
    for _ in range(5):
        time.sleep(rng.uniform(0.5, 4.0))  # a seeded point within the flow
        worker.stop(signal.SIGKILL)
        worker = make_worker().start()
    feeder.join(120)
    assert not feeder.is_alive() and feeder.failed == 0
    expected = feeder.expected()
    assert len(expected.valid) == 1425 and len(expected.bad) == 75

    reader = reader_for(worker)
    reader.wait_until(
        lambda r: r.accounted_for(expected) and audit_caught_up(r),
        timeout=180,
        what="every input decided or dead-lettered, and audited",
    )
    worker.assert_alive()
    assert worker.stop() == 0, worker.log_tail()  # a clean stop flushes what is in flight
    reader.read_to_end()
    # a dead letter delivered before a kill is marked in Redis and not sent again (43 repeats before the mark)
    report = verify(reader, expected, audit=True, max_deadletter_repeats=5)
    print(f"kill -9 x5: {report}")


def test_sigterm_mid_stream_and_restart_repeats_nothing(make_worker, services, reader_for) -> None:
    worker = make_worker().start()
    feeder = Feeder(services.kafka_bootstrap, worker.topic("credit.applications"), 600, rate=60, tag="term")
    feeder.start()
    time.sleep(4)  # the stream is flowing
    assert worker.stop(signal.SIGTERM) == 0, worker.log_tail()
    worker = make_worker().start()
    feeder.join(60)
    expected = feeder.expected()
    reader = reader_for(worker)
    reader.wait_until(
        lambda r: r.accounted_for(expected) and audit_caught_up(r),
        timeout=120,
        what="every input decided or dead-lettered",
    )
    assert worker.stop() == 0, worker.log_tail()
    reader.read_to_end()
    report = verify(reader, expected, audit=True, max_repeats=0, max_deadletter_repeats=0)
    assert report.repeated_dead_letters == 0, report  # a clean shutdown commits what it processed


def test_a_second_worker_joining_and_one_leaving_mid_stream_decides_each_application_once(
    make_worker, services, reader_for
) -> None:
    first = make_worker(RISKMON_PARTITIONS="4").start()
    feeder = Feeder(services.kafka_bootstrap, first.topic("credit.applications"), 900, rate=60, tag="rb")
    feeder.start()
    time.sleep(3)
    second = make_worker(RISKMON_PARTITIONS="4").start()  # joins: the partitions are shared out
    time.sleep(4)
    assert first.stop() == 0, first.log_tail()  # leaves: the second takes everything
    feeder.join(60)
    expected = feeder.expected()
    reader = reader_for(second)
    reader.wait_until(
        lambda r: r.accounted_for(expected) and audit_caught_up(r),
        timeout=120,
        what="every input decided or dead-lettered",
    )
    second.assert_alive()
    assert second.stop() == 0, second.log_tail()
    reader.read_to_end()
    verify(reader, expected, audit=True)


# --- the broker goes away -------------------------------------------------------


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator:
    """A Kafka and Redis of this test's own, so stopping the broker harms no other test."""
    from riskmon import stack

    directory = tmp_path / "stack"
    try:
        info = stack.up(directory, timeout=120)
        yield directory, Services(info.kafka_bootstrap, info.redis_url)
    finally:
        stack.down(directory)


def test_the_broker_down_for_30_s_loses_nothing_it_acknowledged(own_stack, tmp_path, reader_for) -> None:
    from riskmon import stack

    directory, services = own_stack
    worker = WorkerProcess(services, "bk.", tmp_path / "worker.log", {}).start()
    started = time.monotonic()
    try:
        feeder = Feeder(services.kafka_bootstrap, worker.topic("credit.applications"), 2400, rate=40, tag="bk")
        feeder.start()
        time.sleep(8)
        assert stack.down(directory, only="kafka"), "the broker was not running"
        time.sleep(30)
        stack.up(directory, timeout=120)  # same port, same data
        feeder.join(150)
        expected = feeder.expected()
        assert len(expected.valid) > 1000  # the feeder's retries carried it through the outage
        reader = reader_for(worker)
        reader.wait_until(
            lambda r: r.accounted_for(expected) and audit_caught_up(r),
            timeout=180,
            what="processing to resume and account for every acknowledged input, audited",
        )
        worker.assert_alive()  # rode out the outage: no restart needed
        assert worker.stop() == 0, worker.log_tail()
        reader.read_to_end()
        report = verify(reader, expected, audit=True)
        print(f"broker down 30 s: {report}, producer failures {feeder.failed}")
        # the client's reconnect errors are logged a few times per 10 s, not on every retry
        kinds = Counter(
            re.sub(r"\d+", "N", line.split("] ", 2)[-1])[:100]
            for line in (tmp_path / "worker.log").read_text(errors="replace").splitlines()
            if "[ERROR]" in line or "[WARNING]" in line
        )
        bound = 6 * (int(time.monotonic() - started) // 10 + 1)
        floods = {kind: n for kind, n in kinds.items() if n > bound}
        assert not floods, f"lines repeated more than {bound} times: {floods}"
    finally:
        worker.stop()


# --- a storm of malformed input -------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
FIELDS = [
    "application_id",
    "customer_id",
    "submitted_at",
    "amount",
    "term_months",
    "annual_income",
    "currency",
    "features",
    "applicant",
    "schema_version",
]


@st.composite
def mutated_application(draw: st.DrawFn, i: int) -> bytes:
    """A valid application with one thing changed: a field dropped, replaced, or the bytes cut or flipped."""
    doc = application(i, application_id=f"st-{i:05d}")
    raw = orjson.dumps(doc)
    how = draw(st.sampled_from(["drop", "replace", "truncate", "flip", "splice"]))
    if how == "drop":
        doc.pop(draw(st.sampled_from(FIELDS)), None)
        return orjson.dumps(doc)
    if how == "replace":
        doc[draw(st.sampled_from(FIELDS))] = draw(json_values)
        return json.dumps(doc).encode()  # the standard encoder: integers beyond 64 bits too
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if how == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]


def storm_inputs(n: int) -> list[bytes]:
    """``n`` hostile inputs from hypothesis, the same every run (derandomized)."""
    out: list[bytes] = []
    hostile = st.one_of(
        st.binary(max_size=64),  # random bytes
        json_values.map(lambda v: json.dumps(v).encode()),  # JSON that is not an application
        st.integers(0, 10**6).flatmap(mutated_application),  # near misses
        st.integers(0, 10**6).flatmap(mutated_application),
    )

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile)
    def collect(raw: bytes) -> None:
        out.append(raw)

    collect()
    return out[:n]


def is_valid(raw: bytes) -> str | None:
    """The application id if ``raw`` is a valid application (the schema's own judgement)."""
    try:
        return parse_application(Incoming("t", 0, 0, None, raw, 0.0), max_bytes=262_144).application_id
    except SchemaError:
        return None


def test_a_storm_of_malformed_input_is_dead_lettered_and_the_worker_never_restarts(
    make_worker, services, reader_for
) -> None:
    hostile = storm_inputs(3000)
    assert len(hostile) == 3000 and len(set(hostile)) > 2500
    worker = make_worker().start()
    messages: list[tuple[bytes, bytes]] = []
    expected = Expected()
    for i, raw in enumerate(hostile):
        app_id = is_valid(raw)
        key = f"storm-{i}".encode()
        if app_id is None:
            expected.bad[key] = raw
            messages.append((key, raw))
        elif app_id not in expected.valid:  # a mutation that left a valid application: it must be decided
            expected.valid.add(app_id)
            messages.append((app_id.encode(), raw))
        if i % 3 == 0:  # good ones mixed in
            good = application(i, application_id=f"good-{i:05d}")
            expected.valid.add(good["application_id"])
            messages.append((good["application_id"].encode(), orjson.dumps(good)))
    assert len(expected.bad) > 2000 and len(expected.valid) > 1000
    produce(services.kafka_bootstrap, worker.topic("credit.applications"), messages)
    reader = reader_for(worker)
    reader.wait_until(
        lambda r: r.accounted_for(expected),
        timeout=180,
        what="every good input decided and every bad one dead-lettered",
    )
    worker.assert_alive()  # the process started above never exited: nothing crashed it
    assert worker.stop() == 0, worker.log_tail()
    reader.read_to_end()
    report = verify(reader, expected, max_repeats=0)
    assert report.dead_letters == len(expected.bad)  # one each, none twice
