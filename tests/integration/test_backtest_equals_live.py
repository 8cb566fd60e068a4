"""The backtest reproduces the live pipeline: same stream, same configuration, same results.

One real ``riskmon worker`` (real Kafka, real Redis) runs the current
configuration with a second one in shadow mode. A recorded stream is
produced to it; then ``riskmon backtest record`` reads the input topics back
into a file, and ``riskmon backtest --baseline CURRENT --config SHADOW`` runs
on that file offline. Compared, application by application and alert by
alert:

* the live ``credit.decisions`` with the backtest's current run, and the
  shadow's decisions on ``risk.shadow`` with its new run: ``decision_id``,
  outcome, score, grade, approved amount, reasons (code, text,
  contribution), model and policy versions. Excluded: ``decided_at`` and
  ``latency_ms`` (the wall clock live, event time offline), which the
  backtest reports apart as measured decision times;
* the live raw detector candidates (``risk.alerts`` on this branch) with the
  current run's candidates, and the shadow's alerts with the new run's: per
  ``dedup_key``, the sequence of (level, status, count), plus ``alert_id`` for
  the detectors on event time (velocity, cash-out). Exposure alerts take
  their time from ``decided_at``, so their ids differ by design;
* the dead letters, and that nothing of the shadow reached the live topics.

Why this stream's live result is deterministic: it has 5 repayment
outcomes, far fewer than ``models.min_labels_to_decide`` (500), so the
scorecard decides every application whatever the learner publishes
meanwhile; 34 decisions stay under the portfolio indicators'
``min_decisions`` (50) and ``min_loans`` (100), so no rate alert depends on
how wall-clock batches fall; fewer than 1,000 transactions keep the anomaly
detector in its warm-up; and every alert comes from one customer's own
ordered events (velocity, cash-out) or from approvals whose sum does not
depend on their order (exposure).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from riskmon.backtest.recorded import read_stream
from riskmon.cli import main
from riskmon.config import default_config_text
from riskmon.settings import Settings
from riskmon.stream.topics import topic_names
from tests.integration.conftest import consume, produce, values

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PERSONAL = {"name": "Jane Example", "national_id": "123-45-6789"}
DECISION_FIELDS = ("decision_id", "application_id", "customer_id", "stage", "outcome", "score", "grade",
                   "approved_amount", "currency", "reasons", "model_version", "policy_version")
EVENT_TIME_DETECTORS = ("txn_velocity", "cash_24h")


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stream_lines() -> list[dict | str]:
    """The recorded stream: bare contract events and wrapped records, mixed, as a file may hold them."""
    lines: list[dict | str] = []
    for i in range(32):
        app = {
            "application_id": f"bt-app-{i:03d}", "customer_id": f"bt-cust-{i % 16:03d}", "submitted_at": ts(10 * i),
            "amount": 4_000 + 1_500 * (i % 9), "term_months": 240 if i % 11 == 5 else 36,
            "annual_income": 30_000 + 4_000 * (i % 7), "currency": "USD", "channel": "web",
            "features": {"debt_to_income": 4 + 3 * (i % 12), "delinquencies_2y": 3 if i % 13 == 7 else i % 2,
                         "inquiries_6m": i % 4, "revol_util": 15 + 7 * (i % 10)},
            "applicant": PERSONAL,
        }
        lines.append(app)  # bare: its topic is inferred from its fields
    for k in range(2):  # one customer's two large approvals: exposure 180,000 >= 150,000
        lines.append({"topic": "credit.applications", "key": f"bt-big-{k}", "value": {
            "application_id": f"bt-big-{k}", "customer_id": "bt-exposure", "submitted_at": ts(400 + k),
            "amount": 90_000, "term_months": 36, "annual_income": 1_000_000, "applicant": PERSONAL}})
    lines.append({"topic": "credit.applications", "key": "bt-bad", "value": "this is not json"})
    for i in range(5):  # few outcomes: the scorecard keeps deciding (see the module doc)
        lines.append({"topic": "credit.repayments", "key": f"bt-app-{i:03d}", "value": {
            "event_id": f"bt-rp-{i}", "application_id": f"bt-app-{i:03d}", "customer_id": f"bt-cust-{i:03d}",
            "occurred_at": ts(500 + i), "status": "default" if i % 2 else "paid_off", "days_past_due": 95 if i % 2 else 0}})
    for i in range(20):  # everyday traffic
        lines.append({"topic": "credit.transactions", "key": f"bt-cust-{i % 8:03d}", "value": {
            "transaction_id": f"bt-tx-{i}", "customer_id": f"bt-cust-{i % 8:03d}", "occurred_at": ts(30 * i),
            "amount": 20.0 + i, "type": "purchase", "channel": "card"}})
    for k in range(25):  # a labelled velocity burst
        lines.append({"transaction_id": f"bt-burst-{k}", "customer_id": "bt-burst", "occurred_at": ts(600 + 4 * k),
                      "amount": 19.99, "type": "purchase", "channel": "web", "features": {"incident": "velocity"}})
    for k in range(3):  # a labelled cash-out
        lines.append({"topic": "credit.transactions", "key": "bt-cash", "value": {
            "transaction_id": f"bt-cash-{k}", "customer_id": "bt-cash", "occurred_at": ts(700 + 30 * k),
            "amount": 1500.0, "type": "cash_withdrawal", "channel": "atm", "features": {"incident": "cash_out"}}})
    return lines


def shadow_config_text() -> str:
    """A stricter policy and a more sensitive velocity detector than the defaults."""
    text = default_config_text().replace("id: rules-v1 ", "id: rules-shadow ").replace(
        "approve_below: 0.12 ", "approve_below: 0.05 ").replace(
        "warning: {enter: 10, exit: 6}", "warning: {enter: 5, exit: 3}")
    assert text != default_config_text()
    return text


def _key(doc: dict, topic: str) -> bytes:
    return (doc["customer_id"] if topic == "credit.transactions" else doc["application_id"]).encode()


def comparable(d: dict) -> dict:
    return {k: d[k] for k in DECISION_FIELDS}


def alert_sequences(alerts: list[dict]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for a in alerts:
        ident = a["alert_id"] if a["detector"] in EVENT_TIME_DETECTORS else None
        out[a["dedup_key"]].append((a["level"], a["status"], a["count"], ident))
    return dict(out)


def test_backtest_reproduces_live_and_shadow_results(make_worker, services, tmp_path: Path) -> None:
    current, shadow = tmp_path / "current.yaml", tmp_path / "shadow.yaml"
    current.write_text(default_config_text())
    shadow.write_text(shadow_config_text())
    original = tmp_path / "stream.jsonl"
    original.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in stream_lines()))

    worker = make_worker(RISKMON_CONFIG=str(current), RISKMON_SHADOW_CONFIG=str(shadow)).start()
    by_topic: dict[str, list] = defaultdict(list)
    for event in read_stream(original):  # the file's own reader decides each line's topic
        doc = orjson.loads(event.value) if event.value.startswith(b"{") else None
        by_topic[event.topic].append((doc and _key(doc, event.topic) or b"bt-bad", event.value))
    for topic, messages in by_topic.items():
        produce(services.kafka_bootstrap, worker.topic(topic), messages)

    live_decisions = values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=34, timeout=120))
    letters = values(consume(services.kafka_bootstrap, worker.topic("risk.deadletter"), expect=1, timeout=30, settle=1))
    # 2 velocity + 1 cash-out + 1 exposure live; the shadow's velocity warning comes earlier, same count
    # Raw detector candidates travel on risk.alerts on this branch; where the alert manager runs on the
    # stream they move to risk.alerts.candidates (risk.alerts then carries its feed): read them where they are.
    names = topic_names(Settings(topic_prefix=worker.prefix))
    candidates_topic = getattr(names, "alert_candidates", names.alerts)
    live_alerts = values(consume(services.kafka_bootstrap, candidates_topic, expect=4, timeout=60, settle=5))
    shadowed = values(consume(services.kafka_bootstrap, worker.topic("risk.shadow"), expect=34 + 4, timeout=60, settle=3))

    recorded = tmp_path / "recorded.jsonl"
    assert main(["backtest", "record", "--out", str(recorded), "--bootstrap", services.kafka_bootstrap,
                 "--topic-prefix", worker.prefix]) == 0
    assert sorted((e.topic, e.value) for e in read_stream(recorded)) == sorted(
        (e.topic, orjson.dumps(orjson.loads(e.value)) if e.value.startswith(b"{") else e.value) for e in read_stream(original))

    report_path = tmp_path / "report.json"
    assert main(["backtest", "--baseline", str(current), "--config", str(shadow), "--data", str(recorded),
                 "--json", str(report_path), "--html", str(tmp_path / "report.html")]) == 0
    report = orjson.loads(report_path.read_bytes())
    offline = report["records"]

    # decisions: one per valid application, equal field by field (timing excluded)
    assert len(live_decisions) == 34
    assert sorted(map(comparable, live_decisions), key=lambda d: d["application_id"]) == sorted(
        map(comparable, offline["current"]["decisions"]), key=lambda d: d["application_id"])
    shadow_decisions = [s["record"] for s in shadowed if s["kind"] == "decision"]
    assert sorted(map(comparable, shadow_decisions), key=lambda d: d["application_id"]) == sorted(
        map(comparable, offline["new"]["decisions"]), key=lambda d: d["application_id"])
    outcomes = {d["outcome"] for d in live_decisions}
    assert outcomes == {"approve", "review", "reject"}, "the stream exercises every outcome"
    assert {d["model_version"] for d in live_decisions} == {"scorecard-v1"}
    assert [d["outcome"] for d in shadow_decisions] != [d["outcome"] for d in live_decisions], "the configurations differ"

    # alerts: per dedup key, the same sequence
    assert alert_sequences(live_alerts) == alert_sequences(offline["current"]["candidates"])
    assert alert_sequences([s["record"] for s in shadowed if s["kind"] == "alert"]) == alert_sequences(offline["new"]["candidates"])
    assert {a["dedup_key"] for a in live_alerts} == {
        "txn_velocity:customer:bt-burst", "cash_24h:customer:bt-cash", "exposure:customer:bt-exposure"}

    # dead letters, shadow isolation, personal data, timing reported apart
    assert len(letters) == 1 and report["current"]["stream"]["dead_letters"] == {"credit.applications:invalid_json": 1}
    shadow_version = report["new"]["config"]["version"]
    assert all(d["policy_version"] != report["new"]["config"]["policy_version"] for d in live_decisions)
    assert all(a["labels"]["config_version"] != shadow_version for a in live_alerts)
    assert {s["config_version"] for s in shadowed} == {shadow_version}
    assert {s["active_policy_version"] for s in shadowed} == {report["current"]["config"]["policy_version"]}
    everything = report_path.read_bytes() + (tmp_path / "report.html").read_bytes() + orjson.dumps(shadowed)
    assert PERSONAL["name"].encode() not in everything and PERSONAL["national_id"].encode() not in everything
    assert report["current"]["decision_time_ms"]["n"] == 34 and report["current"]["decision_time_ms"]["p50"] is not None
    assert report["current"]["incidents"]["detected_raw"] == 2 and report["new"]["incidents"]["detected_managed"] == 2
