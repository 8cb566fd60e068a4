"""The backtest reproduces the live pipeline: same stream, same configuration, same results.

One real ``riskmon worker`` (real Kafka, real Redis) runs the current
configuration with a second one in shadow mode. A stream file is sent to it
with ``riskmon replay``; then ``riskmon backtest record`` reads the input
topics back into a file, and ``riskmon backtest --baseline CURRENT --config
SHADOW`` runs on that file offline. Compared, application by application and
alert by alert:

* the live ``credit.decisions`` with the backtest's current run, and the
  shadow's decisions on ``risk.shadow`` with its new run: ``decision_id``,
  outcome, score, grade, approved amount, reasons (code, text,
  contribution), model and policy versions. Excluded: ``decided_at`` and
  ``latency_ms`` (the wall clock live, event time offline), which the
  backtest reports apart as measured decision times;
* the raw detector candidates (live: ``risk.alerts.candidates``; shadow:
  its ``candidate`` records) with each run's candidates, per ``dedup_key``
  the sequence of (level, status, count), plus ``alert_id`` for the
  detectors on event time (velocity, cash-out; exposure alerts take their
  time from ``decided_at``);
* the alert manager's feed (live: ``risk.alerts``; shadow: its ``alert``
  records) with each run's published alerts, per ``dedup_key`` the sequence
  of (level, status, notification reason), the exposure alert included: the
  portfolio worker shares exposures in Redis before it sends the candidates
  they grade;
* the dead letters, and that nothing of the shadow reached the live topics.

Why this stream's live result is deterministic: it has 5 repayment
outcomes, far fewer than ``models.min_labels_to_decide`` (500), so the
scorecard decides every application whatever the learner publishes
meanwhile; 34 decisions stay under the portfolio indicators'
``min_decisions`` (50) and ``min_loans`` (100), so no rate alert depends on
how wall-clock batches fall; fewer than 1,000 transactions keep the anomaly
detector in its warm-up; every alert comes from one customer's own ordered
events (velocity, cash-out) or from approvals whose sum does not depend on
their order (exposure); and no alert depends on the manager's repeat, group
or resolve intervals.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import yaml

from riskmon.cli.commands import main
from riskmon.config import default_config_text, load_config, parse_config
from tests.config_edit import edited_default_config
from tests.integration.conftest import consume, produce, values

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSONAL = {"name": "Jane Example", "national_id": "123-45-6789"}
DECISION_FIELDS = (
    "decision_id",
    "application_id",
    "customer_id",
    "stage",
    "outcome",
    "score",
    "grade",
    "approved_amount",
    "currency",
    "reasons",
    "model_version",
    "policy_version",
)
EVENT_TIME_DETECTORS = ("txn_velocity", "cash_24h")  # alert times from the events; exposure's from decided_at


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stream_docs() -> list[dict]:
    """The stream: contract events as producers send them (``riskmon replay`` infers each one's topic)."""
    docs: list[dict] = []
    for i in range(32):
        docs.append(
            {
                "application_id": f"bt-app-{i:03d}",
                "customer_id": f"bt-cust-{i % 16:03d}",
                "submitted_at": ts(10 * i),
                "amount": 4_000 + 1_500 * (i % 9),
                "term_months": 240 if i % 11 == 5 else 36,
                "annual_income": 30_000 + 4_000 * (i % 7),
                "currency": "USD",
                "channel": "web",
                "features": {
                    "debt_to_income": 4 + 3 * (i % 12),
                    "delinquencies_2y": 3 if i % 13 == 7 else i % 2,
                    "inquiries_6m": i % 4,
                    "revol_util": 15 + 7 * (i % 10),
                },
                "applicant": PERSONAL,
            }
        )
    for k in range(2):  # one customer's two large approvals: exposure 180,000 >= 150,000
        docs.append(
            {
                "application_id": f"bt-big-{k}",
                "customer_id": "bt-exposure",
                "submitted_at": ts(400 + k),
                "amount": 90_000,
                "term_months": 36,
                "annual_income": 1_000_000,
                "applicant": PERSONAL,
            }
        )
    for i in range(5):  # few outcomes: the scorecard keeps deciding (see the module doc)
        docs.append(
            {
                "event_id": f"bt-rp-{i}",
                "application_id": f"bt-app-{i:03d}",
                "customer_id": f"bt-cust-{i:03d}",
                "occurred_at": ts(500 + i),
                "status": "default" if i % 2 else "paid_off",
                "days_past_due": 95 if i % 2 else 0,
            }
        )
    for i in range(20):  # everyday traffic
        docs.append(
            {
                "transaction_id": f"bt-tx-{i}",
                "customer_id": f"bt-cust-{i % 8:03d}",
                "occurred_at": ts(30 * i),
                "amount": 20.0 + i,
                "type": "purchase",
                "channel": "card",
            }
        )
    for k in range(25):  # a labelled velocity burst
        docs.append(
            {
                "transaction_id": f"bt-burst-{k}",
                "customer_id": "bt-burst",
                "occurred_at": ts(600 + 4 * k),
                "amount": 19.99,
                "type": "purchase",
                "channel": "web",
                "features": {"incident": "velocity"},
            }
        )
    for k in range(3):  # a labelled cash-out
        docs.append(
            {
                "transaction_id": f"bt-cash-{k}",
                "customer_id": "bt-cash",
                "occurred_at": ts(700 + 30 * k),
                "amount": 1500.0,
                "type": "cash_withdrawal",
                "channel": "atm",
                "features": {"incident": "cash_out"},
            }
        )
    return docs


def shadow_config_text() -> str:
    """A stricter policy and a more sensitive velocity detector than the defaults."""
    text = edited_default_config(
        {
            "policy.id": "rules-shadow",
            "policy.cutoffs.approve_below": 0.05,
            "detectors.customer.txn_velocity.thresholds.levels.warning": {"enter": 5, "exit": 3},
        }
    )
    assert parse_config(yaml.safe_load(text)).version != load_config(None).version  # a configuration of its own
    return text


def comparable(d: dict) -> dict:
    return {k: d[k] for k in DECISION_FIELDS}


def hold_fields(h: dict) -> tuple:
    """What a hold is, whatever the clock that stamped it: which approval, which alert, why."""
    return (
        h["decision_id"],
        h["application_id"],
        h["supersedes"],
        h["alert"]["dedup_key"],
        h["alert"]["level"],
        tuple(r["code"] for r in h["reasons"]),
    )


def candidate_sequences(alerts: list[dict]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for a in alerts:
        ident = a["alert_id"] if a["detector"] in EVENT_TIME_DETECTORS else None
        out[a["dedup_key"]].append((a["level"], a["status"], a["count"], ident))
    return dict(out)


def feed_sequences(alerts: list[dict]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for a in alerts:
        out[a["dedup_key"]].append((a["level"], a["status"], a.get("notification")))
    return dict(out)


def test_backtest_reproduces_live_and_shadow_results(make_worker, services, tmp_path: Path) -> None:
    current, shadow = tmp_path / "current.yaml", tmp_path / "shadow.yaml"
    current.write_text(default_config_text())
    shadow.write_text(shadow_config_text())
    # Two steps, so that the live worker sees the events in the order the recorded file holds them:
    # the customer profile joins topics, and Kafka orders a topic, never two. The applications
    # are decided first; then the repayments and transactions come (and hold approvals).
    applications, rest = tmp_path / "applications.jsonl", tmp_path / "rest.jsonl"
    applications.write_bytes(b"".join(orjson.dumps(doc) + b"\n" for doc in stream_docs() if "submitted_at" in doc))
    rest.write_bytes(b"".join(orjson.dumps(doc) + b"\n" for doc in stream_docs() if "submitted_at" not in doc))

    worker = make_worker(RISKMON_CONFIG=str(current), RISKMON_SHADOW_CONFIG=str(shadow)).start()
    bootstrap = services.kafka_bootstrap
    replay = ["--bootstrap", bootstrap, "--topic-prefix", worker.prefix]
    assert main(["replay", str(applications), *replay]) == 0
    produce(bootstrap, worker.topic("credit.applications"), [(b"bt-bad", b"this is not json")])
    consume(bootstrap, worker.topic("credit.decisions"), expect=34, timeout=120, settle=0)
    assert main(["replay", str(rest), *replay]) == 0

    live_all = values(consume(bootstrap, worker.topic("credit.decisions"), expect=34, timeout=120, settle=5))
    # approvals of bt-burst before its velocity alert turned critical are re-issued as holds
    live_decisions = [d for d in live_all if d["stage"] == "automated"]
    live_holds = [d for d in live_all if d["stage"] == "hold"]
    letters = values(consume(bootstrap, worker.topic("risk.deadletter"), expect=1, timeout=30, settle=1))
    # velocity warning and critical, cash-out warning, exposure warning: as candidates, then as the feed
    live_candidates = values(consume(bootstrap, worker.topic("risk.alerts.candidates"), expect=4, timeout=60, settle=3))
    live_feed = values(consume(bootstrap, worker.topic("risk.alerts"), expect=4, timeout=60, settle=3))
    shadowed = values(consume(bootstrap, worker.topic("risk.shadow"), expect=34 + 4 + 4, timeout=60, settle=3))
    kinds = defaultdict(list)
    for s in shadowed:
        kind = "hold" if s["kind"] == "decision" and s["record"]["stage"] == "hold" else s["kind"]
        kinds[kind].append(s["record"])

    recorded = tmp_path / "recorded.jsonl"
    assert (
        main(["backtest", "record", "--out", str(recorded), "--bootstrap", bootstrap, "--topic-prefix", worker.prefix])
        == 0
    )
    lines = recorded.read_bytes().splitlines()
    wrapped = [orjson.loads(x) for x in lines if x.startswith(b'{"topic"')]
    assert sorted(x for x in lines if not x.startswith(b'{"topic"')) == sorted(
        orjson.dumps(doc) for doc in stream_docs()
    ), "every event recorded as its original bytes, as replay sent them"
    assert [(w["topic"], w["value"]) for w in wrapped] == [("credit.applications", "this is not json")]

    report_path = tmp_path / "report.json"
    assert (
        main(
            [
                "backtest",
                "--baseline",
                str(current),
                "--config",
                str(shadow),
                "--data",
                str(recorded),
                "--json",
                str(report_path),
                "--html",
                str(tmp_path / "report.html"),
            ]
        )
        == 0
    )
    report = orjson.loads(report_path.read_bytes())
    offline = report["records"]

    # decisions: one per valid application, equal field by field (timing excluded)
    assert len(live_decisions) == 34
    assert sorted(map(comparable, live_decisions), key=lambda d: d["application_id"]) == sorted(
        map(comparable, offline["current"]["decisions"]), key=lambda d: d["application_id"]
    )
    assert sorted(map(comparable, kinds["decision"]), key=lambda d: d["application_id"]) == sorted(
        map(comparable, offline["new"]["decisions"]), key=lambda d: d["application_id"]
    )
    # holds: the same approvals held, by the same alerts, live, in shadow mode and offline
    assert live_holds and len({h["decision_id"] for h in live_holds}) == len(live_holds)
    assert sorted(map(hold_fields, live_holds)) == sorted(map(hold_fields, offline["current"]["holds"]))
    assert sorted(map(hold_fields, kinds["hold"])) == sorted(map(hold_fields, offline["new"]["holds"]))
    assert {d["outcome"] for d in live_decisions} == {"approve", "review", "reject"}, (
        "the stream exercises every outcome"
    )
    assert {d["model_version"] for d in live_decisions} == {"scorecard-v1"}
    live_outcomes = {d["application_id"]: d["outcome"] for d in live_decisions}
    assert any(live_outcomes[d["application_id"]] != d["outcome"] for d in kinds["decision"]), (
        "the configurations differ"
    )

    # alerts: raw candidates, then the manager's feed, per dedup key
    assert candidate_sequences(live_candidates) == candidate_sequences(offline["current"]["candidates"])
    assert candidate_sequences(kinds["candidate"]) == candidate_sequences(offline["new"]["candidates"])
    assert {a["dedup_key"] for a in live_candidates} == {
        "txn_velocity:customer:bt-burst",
        "cash_24h:customer:bt-cash",
        "exposure:customer:bt-exposure",
    }
    assert feed_sequences(live_feed) == feed_sequences(offline["current"]["published"])
    assert feed_sequences(kinds["alert"]) == feed_sequences(offline["new"]["published"])
    assert feed_sequences(live_feed)["txn_velocity:customer:bt-burst"] == [
        ("warning", "firing", "first_notification"),
        ("critical", "firing", "level_changed"),
    ]

    # dead letters, shadow isolation, personal data, timing reported apart
    assert len(letters) == 1 and report["current"]["stream"]["dead_letters"] == {"credit.applications:invalid_json": 1}
    shadow_version = report["new"]["config"]["version"]
    assert all(d["policy_version"] != report["new"]["config"]["policy_version"] for d in live_decisions)
    assert all(a["labels"]["config_version"] != shadow_version for a in live_candidates + live_feed)
    assert {s["config_version"] for s in shadowed} == {shadow_version}
    assert {s["active_policy_version"] for s in shadowed} == {report["current"]["config"]["policy_version"]}
    everything = report_path.read_bytes() + (tmp_path / "report.html").read_bytes() + orjson.dumps(shadowed)
    assert PERSONAL["name"].encode() not in everything and PERSONAL["national_id"].encode() not in everything
    assert report["current"]["decision_time_ms"]["n"] == 34 and report["current"]["decision_time_ms"]["p50"] is not None
    assert report["current"]["incidents"]["detected_raw"] == 2 and report["new"]["incidents"]["detected_managed"] == 2
