"""Learning from repayments on the real broker and Redis, through real worker processes.

What the risk team relies on: repayment outcomes reach the models (joined with
the features scored at decision time, each loan once), the learned champion
takes over from the scorecard, a restarted worker scores with the published
model rather than an empty one, and a promotion is recorded with its evidence.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import redis

from tests.config_edit import edited_default_config
from tests.integration.conftest import consume, produce, values

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def application(i: int) -> dict:
    return {
        "application_id": f"la-{i:05d}",
        "customer_id": f"lc-{i:05d}",
        "submitted_at": "2026-11-29T10:00:00Z",
        "amount": 8_000.0,
        "term_months": 36,
        "annual_income": 60_000.0,
        "features": {"inquiries_6m": i % 5, "revol_util": 30.0 + (i * 7) % 40},
    }


def is_bad(i: int) -> bool:
    return i % 5 >= 3  # the signal the model has to find: many recent inquiries


def repayment(i: int, *, event: int = 0) -> dict:
    bad = is_bad(i)
    return {
        "event_id": f"rp-{i:05d}-{event}",
        "application_id": f"la-{i:05d}",
        "customer_id": f"lc-{i:05d}",
        "occurred_at": "2027-02-28T10:00:00Z",
        "status": "default" if bad else "paid_off",
        "days_past_due": 120 if bad else 0,
    }


def config_file(tmp_path: Path) -> str:
    text = edited_default_config(
        {
            "models.min_labels_to_decide": 100,
            "models.publish_every_labels": 50,
            "models.publish_every_seconds": 2,
            "models.champion.params": {"optimizer": "sgd", "learning_rate": 0.05},
            # a LightGBM challenger (a member of the default blend), refitted (in the learner's background
            # thread) often enough to see
            "models.challenger.name": "gbm",
            "models.challenger.params": {
                "family": "lightgbm",
                "refit_every": 100,
                "min_class": 20,
                "window": 1000,
                "n_estimators": 30,
            },
        }
    )
    path = tmp_path / "riskmon.yaml"
    path.write_text(text)
    return str(path)


def wait_for_pointer(r: redis.Redis, namespace: str, min_labels: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = r.get(f"{namespace}:model:role:champion")
        if raw and orjson.loads(raw)["n_learned"] >= min_labels:
            return orjson.loads(raw)
        time.sleep(0.5)
    raise AssertionError(f"no champion with {min_labels} labels was published")


def test_models_learn_from_repayments_take_over_and_survive_a_restart(make_worker, services, tmp_path) -> None:
    worker = make_worker(RISKMON_CONFIG=config_file(tmp_path)).start()
    namespace = "riskmon:" + worker.prefix.strip(".")
    r = redis.Redis.from_url(services.redis_url)
    n = 300

    # 1. decisions first: the scorecard decides (no model has learned anything)
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(f"la-{i:05d}".encode(), orjson.dumps(application(i))) for i in range(n)],
    )
    first = values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n, timeout=90))
    assert len(first) == n and {d["model_version"] for d in first} == {"scorecard-v1"}
    snapshot = orjson.loads(r.get(f"{namespace}:features:la-00003"))
    assert snapshot["inputs"]["inquiries_6m"] == 3.0 and "scorecard" in snapshot["scores"]

    # 2. the loans perform: every final outcome twice (a replay), plus non-final noise
    events = [(f"la-{i:05d}".encode(), orjson.dumps(repayment(i))) for i in range(n)]
    events += [(f"la-{i:05d}".encode(), orjson.dumps(repayment(i, event=1))) for i in range(n)]
    events.append(
        (b"la-00001", orjson.dumps({**repayment(1), "status": "current", "days_past_due": 0, "event_id": "x"}))
    )
    events.append((b"la-99999", orjson.dumps({**repayment(99999), "application_id": "la-99999"})))  # never decided
    produce(services.kafka_bootstrap, worker.topic("credit.repayments"), events)
    pointer = wait_for_pointer(r, namespace, n)
    time.sleep(3)  # let any (wrong) second learning of the replayed labels happen
    pointer = orjson.loads(r.get(f"{namespace}:model:role:champion"))
    assert pointer["n_learned"] == n, "each loan is learned exactly once"
    # the portfolio watch shares its loan rates with every worker's console (which keeps no loan window)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shared = {k.decode(): orjson.loads(v) for k, v in r.hgetall(f"{namespace}:portfolio:loan_rates").items()}
        if shared.get("default_rate", {}).get("n", 0) >= n:
            break
        time.sleep(0.5)
    rate = shared["default_rate"]
    assert (rate["n"], rate["value"]) in {(n, 120 / n), (n + 1, 121 / (n + 1))}, rate  # 40% default; la-99999 maybe

    # 3. new applications: the learned champion decides, with its own reasons
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(f"la-{i:05d}".encode(), orjson.dumps(application(i))) for i in range(n, n + 20)],
    )
    later = values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n + 20, timeout=90))
    new = {d["application_id"]: d for d in later if int(d["application_id"][3:]) >= n}
    assert len(new) == 20
    assert all(d["model_version"].startswith("logreg-binned-n") for d in new.values())
    risky = [d for d in new.values() if is_bad(int(d["application_id"][3:]))]
    safe = [d for d in new.values() if not is_bad(int(d["application_id"][3:]))]
    assert min(d["score"] for d in risky) > max(d["score"] for d in safe), "the model learned the signal"
    assert all(d["reasons"][0]["code"] == "CREDIT_INQUIRIES" for d in risky)

    # 4. a restarted worker scores with the published model, not an empty one
    assert worker.stop() == 0
    second = make_worker(RISKMON_CONFIG=config_file(tmp_path)).start()
    produce(
        services.kafka_bootstrap, second.topic("credit.applications"), [(b"la-01000", orjson.dumps(application(1000)))]
    )
    after = values(consume(services.kafka_bootstrap, second.topic("credit.decisions"), expect=n + 21, timeout=90))
    restarted = [d for d in after if d["application_id"] == "la-01000"]
    assert restarted and restarted[0]["model_version"] == pointer["name"] + f"-n{pointer['n_learned']}"

    # 5. labels of decisions that both models scored are judged prequentially
    produce(
        services.kafka_bootstrap,
        second.topic("credit.repayments"),
        [(f"la-{i:05d}".encode(), orjson.dumps(repayment(i))) for i in range(n, n + 20)],
    )
    wait_for_pointer(r, namespace, n + 20)

    # 6. promotion from the command line is applied by the learner and recorded
    env_prefix = ["--redis-url", services.redis_url, "--topic-prefix", second.prefix]
    promoted = subprocess.run(
        [
            sys.executable,
            "-m",
            "riskmon",
            "model",
            "promote",
            "--author",
            "risk-committee",
            "--reason",
            "test",
            *env_prefix,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert promoted.returncode == 0, promoted.stderr
    record = orjson.loads(promoted.stdout)
    assert record["author"] == "risk-committee" and record["kind"] == "manual"
    assert record["previous_champion"].startswith("logreg-binned-n") and record["champion"].startswith("gbm-n")
    assert record["evidence"]["n"] == 20, "judged on the 20 loans both models scored at decision time"
    assert record["evidence"]["champion"]["auc"] == 1.0  # the signal is clean
    assert record["rule_verdict"]["promote"] is False  # the rule would not have; the person decided
    status = subprocess.run(
        [sys.executable, "-m", "riskmon", "model", "status", *env_prefix], capture_output=True, text=True, timeout=60
    )
    assert orjson.loads(status.stdout)["roles"]["champion"]["name"] == "gbm"
    assert not record["champion"].endswith("-r0"), "the challenger was refitted in the background before"

    # 7. the promoted LightGBM model now scores every application, with reasons from its contributions
    time.sleep(3)  # scorers look at the role pointers every 2 s
    produce(
        services.kafka_bootstrap,
        second.topic("credit.applications"),
        [(f"la-{i:05d}".encode(), orjson.dumps(application(i))) for i in range(2000, 2020)],
    )
    decisions = values(consume(services.kafka_bootstrap, second.topic("credit.decisions"), expect=n + 41, timeout=90))
    scored = {d["application_id"]: d for d in decisions if int(d["application_id"][3:]) >= 2000}
    assert len(scored) == 20
    assert all(d["model_version"].startswith("gbm-n") for d in scored.values())
    risky = [d for d in scored.values() if is_bad(int(d["application_id"][3:]))]
    safe = [d for d in scored.values() if not is_bad(int(d["application_id"][3:]))]
    assert min(d["score"] for d in risky) > max(d["score"] for d in safe)
    assert all(d["reasons"][0]["code"] == "CREDIT_INQUIRIES" for d in risky)
