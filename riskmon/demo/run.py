"""``riskmon demo``: the whole path on real public data, in one command.

It starts the local stack (unless one already runs), starts a real worker
process, streams the chosen public data set onto ``credit.applications`` at a
steady rate (with a handful of malformed messages mixed in, to show the
dead-letter path), and prints decisions and a live summary as they arrive from
``credit.decisions``. Approved loans then "perform": a little later (after
``label_delay`` more decisions) the demo sends each approved loan's real
outcome from the data set to ``credit.repayments`` (default, or paid off), the
worker's learner learns from them, and once the champion model has seen
enough labels it takes over from the scorecard: the ``model`` column shows
the switch. At the end it reports outcome rates, latency, how the outcomes
line up with the data set's real labels and the models' prequential quality,
Meanwhile a seeded synthetic transaction stream of the same customers, with
labelled incidents (a velocity burst, a cash-out, an outsized withdrawal),
runs through the customer detectors, after a seeded labelled card stream
(``riskmon.demo.card_fraud``: card holders' habits, fraud episodes, and each
transaction's confirmed outcome 3 days later on
``credit.transaction_outcomes``) from which the fraud model learns; every
graded alert from ``risk.alerts`` is printed as it fires, and the report says
how many alerted card holders had fraud. Then the demo stops everything it
started, and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from riskmon.client import watermark_high
from riskmon.demo.scanned import scanned_form
from riskmon.portfolio import summaries
from riskmon.settings import PRODUCER_DEFAULTS

if TYPE_CHECKING:
    from riskmon.runtime.topics import TopicNames

__all__ = ["DemoOptions", "run_demo", "MALFORMED_SAMPLES"]

#: Bad inputs mixed into the demo stream; each must land in risk.deadletter.
MALFORMED_SAMPLES: tuple[bytes, ...] = (
    b"this is not json",
    b'{"application_id": "bad-1", "amount": -5}',
    b'["an", "array"]',
    b'{"application_id": "bad-2", "customer_id": "c", "submitted_at": "2026-01-04T09:00:00Z",'
    b' "amount": NaN, "term_months": 36, "annual_income": 1}',
    b"\xff\xfe\x00not utf-8",
)


@dataclass(frozen=True)
class DemoOptions:
    """What ``riskmon demo`` streams and how fast."""

    source: str = "lending_club"
    limit: int | None = 3000
    rate: float = 200.0
    stack_dir: Path | None = None
    keep_stack: bool = False
    config_path: str | None = None
    out: TextIO = field(default=sys.stdout)
    decision_timeout: float = 180.0
    label_delay: int = 100
    learn_timeout: float = 90.0
    card_customers: int = 300  # card holders of the labelled card stream (riskmon.demo.card_fraud); 0: none


@dataclass
class _Tally:
    outcomes: Counter = field(default_factory=Counter)
    bad_by_outcome: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    deadletters: int = 0
    alerts: Counter = field(default_factory=Counter)
    decided: set[str] = field(default_factory=set)
    by_model: Counter = field(default_factory=Counter)
    labels_sent: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _end_offsets(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Assignments at the current end of ``topic``, so only new records show."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "riskmon-demo-probe", "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=30)
        parts = []
        for p in meta.topics[topic].partitions:
            parts.append(TopicPartition(topic, p, watermark_high(consumer, TopicPartition(topic, p))))
        return parts
    finally:
        consumer.close()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_demo(options: DemoOptions) -> int:
    """Run the demo; returns 0 when every application got its decision."""

    from riskmon import stack
    from riskmon.config import load_config
    from riskmon.demo.card_fraud import card_fraud_stream
    from riskmon.demo.data import load_records
    from riskmon.demo.transactions import generate_transactions
    from riskmon.pipeline.store import key_namespace
    from riskmon.redis_clients import sync_client
    from riskmon.runtime.topics import ensure_topics, topic_names
    from riskmon.settings import Settings

    out = options.out

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    directory = options.stack_dir or stack.default_stack_dir()
    was_running = stack.status(directory) is not None
    say(f"== riskmon demo: {options.source}, up to {options.limit or 'all'} applications at {options.rate:g}/s")
    try:
        info = stack.up(directory, progress=lambda line: say(f"   stack: {line}"))
    except stack.StackError as exc:
        print(f"riskmon demo: error: {exc}", file=sys.stderr)
        return 2
    say(f"   Kafka {info.kafka_bootstrap}   Redis {info.redis_url}")
    worker: subprocess.Popen | None = None
    try:
        settings = Settings(kafka_bootstrap=info.kafka_bootstrap, redis_url=info.redis_url, app_id="riskmon-demo")
        ensure_topics(settings)
        names = topic_names(settings)
        records = load_records(options.source, limit=options.limit)
        labels = {r.application["application_id"]: r.is_bad for r in records}
        by_id = {r.application["application_id"]: r for r in records}
        say(
            f"   loaded {len(records)} real applications from {options.source} "
            f"(bad rate {sum(labels.values()) / max(1, len(labels)):.1%})"
        )

        web_port = _free_port()
        env = dict(os.environ, RISKMON_KAFKA_BOOTSTRAP=info.kafka_bootstrap, RISKMON_REDIS_URL=info.redis_url)
        env.setdefault("RISKMON_FRAUD_REFRESH_SECONDS", "2")  # the fraud model's updates show within the demo
        if options.config_path:
            env["RISKMON_CONFIG"] = options.config_path
        log_path = Path(directory) / "demo-worker.log"
        with open(log_path, "ab") as log_file:
            worker = subprocess.Popen(
                [sys.executable, "-m", "riskmon", "worker", "--app-id", "riskmon-demo", "--web-port", str(web_port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        say(f"   worker pid {worker.pid}, metrics on http://127.0.0.1:{web_port}/metrics, log {log_path}")

        tally = _Tally()
        start_positions = {
            names.decisions: _end_offsets(info.kafka_bootstrap, names.decisions),
            names.deadletter: _end_offsets(info.kafka_bootstrap, names.deadletter),
            names.alerts: _end_offsets(info.kafka_bootstrap, names.alerts),
        }
        consumer = Consumer(
            {
                "bootstrap.servers": info.kafka_bootstrap,
                "group.id": f"riskmon-demo-view-{os.getpid()}",
                "enable.auto.commit": False,
            }
        )
        consumer.assign([tp for parts in start_positions.values() for tp in parts])

        producer_done = threading.Event()
        # Two phases: the first half is decided by the scorecard while the
        # approved loans' outcomes flow back; the second half waits until the
        # learner has published a champion that may decide, so the switch shows.
        model_ready = threading.Event()
        phase_two_at = len(records) // 2
        champion_key = f"{key_namespace(settings.topic_prefix, info.redis_url)}:model:role:champion"
        redis_client = sync_client(info.redis_url, socket_timeout=2)
        min_labels = load_config(options.config_path or os.environ.get("RISKMON_CONFIG")).models.min_labels_to_decide
        next_model_check = 0.0
        produced = {"n": 0}

        def produce() -> None:
            producer = Producer({"bootstrap.servers": info.kafka_bootstrap, **PRODUCER_DEFAULTS, "linger.ms": 5})
            interval = 1.0 / options.rate if options.rate > 0 else 0.0
            next_at = time.monotonic()
            bad_every = max(1, len(records) // (len(MALFORMED_SAMPLES) + 1))
            bad_iter = iter(MALFORMED_SAMPLES)
            for i, record in enumerate(records):
                if i == phase_two_at:
                    producer.flush(30)
                    model_ready.wait(options.learn_timeout)
                    next_at = time.monotonic()
                app = record.application
                producer.produce(names.applications, key=app["application_id"].encode(), value=orjson.dumps(app))
                produced["n"] += 1
                if i and i % bad_every == 0:
                    sample = next(bad_iter, None)
                    if sample is not None:
                        producer.produce(names.applications, key=b"malformed", value=sample)
                producer.poll(0)
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            producer.flush(30)
            producer_done.set()

        threading.Thread(target=produce, name="demo-producer", daemon=True).start()
        transactions_done = threading.Event()
        transactions = generate_transactions(sorted({r.application["customer_id"] for r in records}))
        incidents = Counter(t.incident for t in transactions if t.incident)
        # the alert each incident must raise: (detector, customer)
        expected_alerts = {
            (
                {"velocity": "txn_velocity", "cash_out": "cash_24h", "anomaly": "txn_anomaly"}[t.incident],
                t.transaction["customer_id"],
            )
            for t in transactions
            if t.incident
        }
        raised: set[tuple[str, str]] = set()
        critical_customers: set[str] = set()
        approved_template: dict | None = None

        card_events, card_frauds = card_fraud_stream(
            end=datetime.now(UTC) - timedelta(hours=6), customers=options.card_customers
        )
        fraud_holders = {
            e["value"]["customer_id"] for e in card_events if e["value"].get("transaction_id") in card_frauds
        }
        flagged: dict[str, set[str]] = {"txn_fraud": set(), "txn_anomaly": set()}  # card holders at warning+

        def produce_transactions() -> None:
            producer = Producer({"bootstrap.servers": info.kafka_bootstrap, **PRODUCER_DEFAULTS, "linger.ms": 5})
            for event in card_events:  # the labelled card stream first (its 20 days end before the incidents)
                topic = names.transactions if event["topic"] == "credit.transactions" else names.transaction_outcomes
                producer.produce(topic, key=event["key"].encode(), value=orjson.dumps(event["value"]))
                producer.poll(0)
                time.sleep(0.0005)
            for labelled in transactions:
                tx = labelled.transaction
                producer.produce(names.transactions, key=tx["customer_id"].encode(), value=orjson.dumps(tx))
                producer.poll(0)
                time.sleep(0.004)
            producer.flush(30)
            transactions_done.set()

        threading.Thread(target=produce_transactions, name="demo-transactions", daemon=True).start()
        say(
            f"   streaming a labelled card stream ({len(card_events)} transactions and outcomes, "
            f"{len(card_frauds)} fraud transactions of {len(fraud_holders)} card holders, outcomes 3 days later), "
            f"then {len(transactions)} synthetic transactions with incidents: "
            + ", ".join(f"{k} ({v} events)" for k, v in sorted(incidents.items()))
        )
        label_producer = Producer({"bootstrap.servers": info.kafka_bootstrap, **PRODUCER_DEFAULTS, "linger.ms": 20})
        performing: deque = deque()  # approved loans whose outcome is not known yet
        say("   streaming... (decisions as they happen; a summary every 2 s)")
        say(f"   {'application':<14} {'outcome':<8} {'PD':>6} grade  {'latency':>8}  {'model':<16} top reasons")
        last_model = None
        alerts_due = None
        drain_until = None
        waiting_said = False
        shown = 0
        last_summary = time.monotonic()
        t0 = time.monotonic()
        deadline = None
        while True:
            msg = consumer.poll(0.2)
            now = time.monotonic()
            if msg is not None and not msg.error():
                if msg.topic() == names.alerts:
                    a = orjson.loads(msg.value() or b"{}")
                    tally.alerts[(a["level"], a["detector"])] += 1
                    if a["level"] != "info":
                        raised.add((a["detector"], a["subject"]["id"]))
                        if a["detector"] == "txn_fraud":  # the outsized withdrawal counts as caught by either
                            raised.add(("txn_anomaly", a["subject"]["id"]))  # transaction-level detector
                    if a["detector"] in flagged and a["level"] != "info" and a["subject"]["id"].startswith("card-"):
                        flagged[a["detector"]].add(a["subject"]["id"])
                    if a["level"] == "critical" and a["status"] == "firing" and a["subject"]["kind"] == "customer":
                        critical_customers.add(a["subject"]["id"])
                    if a["level"] != "info":  # info alerts are counted in the report, not printed one by one
                        say(
                            f"   ALERT {a['level'].upper():<8} {a['status']:<8} {a['detector']:<22} "
                            f"{a['subject']['kind']}:{a['subject']['id']}  value {a['value']}"
                        )
                elif msg.topic() == names.deadletter:
                    tally.deadletters += 1
                    err = orjson.loads(msg.value() or b"{}")["error"]
                    say(f"   dead letter: {err['type']}: {err['message'][:80]}")
                else:
                    d = orjson.loads(msg.value() or b"{}")
                    if d["application_id"] in labels and d["application_id"] not in tally.decided:
                        tally.decided.add(d["application_id"])
                        tally.outcomes[d["outcome"]] += 1
                        tally.latencies.append(d["latency_ms"])
                        model_family = summaries.model_family(d["model_version"])
                        tally.by_model[model_family] += 1
                        if labels[d["application_id"]]:
                            tally.bad_by_outcome[d["outcome"]] += 1
                        if d["outcome"] == "approve":
                            performing.append(by_id[d["application_id"]])
                            approved_template = approved_template or by_id[d["application_id"]].application
                        while len(performing) > options.label_delay:
                            _send_outcome(label_producer, names.repayments, performing.popleft(), tally)
                        switched = model_family != last_model
                        if shown < 12 or switched:
                            if switched and last_model is not None:
                                say(f"   -- the learned model takes over: {d['model_version']} --")
                            last_model = model_family
                            shown += 1
                            reasons = ", ".join(r["code"] for r in d["reasons"][:3])
                            say(
                                f"   {d['application_id']:<14} {d['outcome']:<8} {d['score']:>6.3f}   {d['grade']}    "
                                f"{d['latency_ms']:>6.1f}ms  {d['model_version']:<16} {reasons}"
                            )
            if not model_ready.is_set() and len(tally.decided) >= phase_two_at and now >= next_model_check:
                next_model_check = now + 1.0
                while performing:  # time passes: every approved loan of phase one reports its outcome
                    _send_outcome(label_producer, names.repayments, performing.popleft(), tally)
                label_producer.flush(10)
                pointer = redis_client.get(champion_key)
                learned = orjson.loads(pointer)["n_learned"] if pointer else 0
                if learned >= min_labels:
                    say(f"   phase two: the champion has learned {learned} outcomes; streaming the second half")
                    model_ready.set()
                elif tally.labels_sent < min_labels:
                    say(
                        f"   only {tally.labels_sent} loan outcomes (< {min_labels} the champion needs): "
                        "the scorecard keeps deciding"
                    )
                    model_ready.set()
                elif not waiting_said:
                    say(f"   phase one decided; waiting for the learner ({learned}/{min_labels} outcomes learned)")
                    waiting_said = True
            if now - last_summary >= 2.0:
                last_summary = now
                say("   " + _summary(tally, produced["n"], len(records), now - t0))
            if worker.poll() is not None:
                say(f"   worker exited unexpectedly with status {worker.returncode}; see {log_path}")
                return 1
            if (
                len(tally.decided) >= len(records)
                and tally.deadletters >= len(MALFORMED_SAMPLES)
                and transactions_done.is_set()
            ):
                alerts_due = alerts_due or now + 20.0  # the last incidents' alerts are on their way
                if expected_alerts <= raised and drain_until is None:
                    drain_until = now + 2.0  # read escalations right behind the first alerts
                if now > alerts_due or (drain_until is not None and now > drain_until):
                    if not expected_alerts <= raised:
                        say(
                            "   not every incident raised its alert in time: "
                            f"missing {sorted(expected_alerts - raised)}"
                        )
                    break
            if producer_done.is_set():
                deadline = deadline or now + options.decision_timeout
                if now > deadline:
                    say(f"   timed out waiting for decisions: {len(tally.decided)}/{len(records)}")
                    break
        scanned_ok = True
        if len(tally.decided) == len(records):
            _linked_response(say, consumer, info.kafka_bootstrap, names, sorted(critical_customers), approved_template)
            scan_producer = Producer({"bootstrap.servers": info.kafka_bootstrap, **PRODUCER_DEFAULTS})
            scanned_ok = scanned_form(say, consumer, scan_producer, names, records[0].application)
            del scan_producer
        consumer.close()
        model_ready.set()
        label_producer.flush(30)
        del label_producer  # closes its connections before the stack stops
        redis_client.close()
        elapsed = time.monotonic() - t0
        say("   " + _summary(tally, produced["n"], len(records), elapsed))
        say(_report(tally, len(records)))
        say(_model_report(settings, tally))
        say(
            "== labelled card stream: card holders alerted at warning or above, and how many had fraud: "
            + ", ".join(
                f"{detector} {len(who)} ({len(who & fraud_holders)} with fraud, of {len(fraud_holders)})"
                for detector, who in flagged.items()
            )
        )
        say(
            "== alerts by level and detector: "
            + (
                ", ".join(f"{level} {detector} {count}" for (level, detector), count in sorted(tally.alerts.items()))
                or "none"
            )
        )
        return 0 if len(tally.decided) == len(records) and scanned_ok else 1
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            say("   worker stopped")
        if not options.keep_stack and not was_running:
            for line in stack.down(directory):
                say(f"   stopped {line}")
        elif was_running:
            say("   the stack was already running before the demo; left running")


def _linked_response(
    say: Callable[[str], None],
    consumer: Consumer,
    bootstrap: str,
    names: TopicNames,
    critical_customers: list[str],
    template: dict | None,
    timeout: float = 60.0,
) -> None:
    """Both directions of the linked response, on the running worker.

    A customer under an open critical alert applies: held for review
    (``CUSTOMER_ALERT``). A fresh customer is approved, then cashes out: the
    approval is re-issued as a ``hold``.
    """
    if template is None:
        say("== linked response: no approval to copy; skipped")
        return
    say("== linked response: the approval flow bound to each customer's live risk")
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS})

    def apply(app_id: str, customer: str) -> None:
        app = {**template, "application_id": app_id, "customer_id": customer}
        producer.produce(names.applications, key=app_id.encode(), value=orjson.dumps(app))
        producer.flush(10)

    def wait(match: Callable[[dict], bool], what: str) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error() or msg.topic() != names.decisions:
                continue
            d = orjson.loads(msg.value() or b"{}")
            if match(d):
                return d
        say(f"   {what}: none within {timeout:.0f} s")
        return None

    def show(d: dict) -> None:
        reasons = "; ".join(f"{r['code']}: {r['description']}" for r in d["reasons"][:2])
        extra = f"  supersedes {d['supersedes']}" if d.get("supersedes") else ""
        say(f"   {d['application_id']:<14} {d['stage']:<9} {d['outcome']:<8} {reasons}{extra}")

    if critical_customers:
        customer = critical_customers[0]
        say(f"   customer {customer} has an open critical alert, and applies for a loan:")
        apply("linked-alert-1", customer)
        if (d := wait(lambda d: d["application_id"] == "linked-alert-1", "its decision")) is not None:
            show(d)
    customer = "demo-hold-customer"
    say(f"   customer {customer} is approved, then cashes out 3 x 2,000 within minutes:")
    apply("linked-hold-1", customer)
    approval = wait(lambda d: d["application_id"] == "linked-hold-1", "its decision")
    if approval is None:
        return
    show(approval)
    if approval["outcome"] != "approve":
        say("   (not approved on its own merits: nothing to hold)")
        return
    now = time.time()
    for k in range(3):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 120 + 30 * k))
        tx = {
            "transaction_id": f"demo-hold-cash-{k}",
            "customer_id": customer,
            "occurred_at": at,
            "amount": 2_000.0,
            "type": "cash_withdrawal",
            "channel": "atm",
        }
        producer.produce(names.transactions, key=customer.encode(), value=orjson.dumps(tx))
    producer.flush(10)
    hold = wait(lambda d: d["application_id"] == "linked-hold-1" and d["stage"] == "hold", "the hold")
    if hold is not None:
        show(hold)


def _send_outcome(producer: Producer, topic: str, record: object, tally: _Tally) -> None:
    """Report a loan's real outcome from the data set (defaulted, or paid off)."""
    from riskmon.demo.data import repayment_for

    repayment = repayment_for(record, months_after=12, good_status="paid_off")  # type: ignore[arg-type]
    producer.produce(topic, key=repayment["application_id"].encode(), value=orjson.dumps(repayment))
    producer.poll(0)
    tally.labels_sent += 1


def _model_report(settings: object, t: _Tally) -> str:
    """Which model decided how much, and the learner's prequential evaluation."""
    import asyncio

    from riskmon.learning.tools import model_status

    lines = ["== models"]
    lines.append("   decided by: " + ", ".join(f"{name} {count}" for name, count in t.by_model.most_common()))
    lines.append(f"   repayment outcomes sent for approved loans: {t.labels_sent}")
    try:
        status = asyncio.run(model_status(settings))  # type: ignore[arg-type]
    except Exception as exc:  # the report is a courtesy; the decisions are what counts
        return "\n".join([*lines, f"   (model registry unavailable: {exc})"])
    for role, pointer in sorted(status["roles"].items()):
        lines.append(f"   {role:<10} {pointer['version']:<22} snapshot {pointer['hash'][:12]}")
    evaluation = status.get("evaluation") or {}
    card = evaluation.get("scorecard") or {}
    comparison = evaluation.get("comparison") or {}
    for name, summary in (
        ("scorecard", card),
        ("champion", comparison.get("champion", {})),
        ("challenger", comparison.get("challenger", {})),
    ):
        if summary.get("n"):
            auc = summary.get("auc")
            lines.append(
                f"   prequential {name:<10} n={summary['n']:<5} AUC {auc if auc is None else round(auc, 3)}  "
                f"log loss {summary.get('log_loss') and round(summary['log_loss'], 4)}"
            )
    return "\n".join(lines)


def _summary(t: _Tally, produced: int, total: int, elapsed: float) -> str:
    n = len(t.decided)
    rates = " ".join(f"{o} {t.outcomes[o] / n:.0%}" for o in ("approve", "review", "reject")) if n else "-"
    return (
        f"[{elapsed:5.1f}s] produced {produced}/{total}  decided {n}  ({rates})  "
        f"p50 {_percentile(t.latencies, 0.5):.1f}ms p99 {_percentile(t.latencies, 0.99):.1f}ms  "
        f"dead letters {t.deadletters}  {n / elapsed if elapsed else 0:.0f}/s"
    )


def _report(t: _Tally, total: int) -> str:
    lines = ["== result"]
    n = len(t.decided)
    lines.append(f"   decisions {n}/{total}, dead letters {t.deadletters} (of {len(MALFORMED_SAMPLES)} malformed sent)")
    for outcome in ("approve", "review", "reject"):
        count = t.outcomes[outcome]
        bad = t.bad_by_outcome[outcome]
        share = f"{bad / count:.1%}" if count else "-"
        lines.append(f"   {outcome:<8} {count:>6}  ({count / n if n else 0:.0%})   later defaulted: {share}")
    return "\n".join(lines)
