"""An auditor's export, verified with no Kafka and no Redis left running, across a signing-key rotation.

As a new user would (issue 23): ``riskmon stack up``, a worker deciding,
``riskmon audit export --out F``, ``riskmon stack down``, then ``riskmon
audit verify --file F --public-key KEY``. Before, that ended in a Redis
traceback, since the checkpoints were read from Redis even with a file.

On the way, the signing key is rotated exactly as docs/audit.md says: a new
pair, the old and the new public keys in ``RISKMON_AUDIT_PUBLIC_KEY_FILE``,
``RISKMON_AUDIT_SIGNING_KEY_FILE`` switched, the worker restarted. The
writer resumes (trusting the old checkpoints) and signs on with the new key;
the export then carries checkpoints of both keys, verifies with both, and is
refused with the new key alone (naming the old key), with an unrelated key,
and when one entry is edited (naming its seq). Commands that need the
stopped services say so in one line, with no traceback.

This test runs its own stack (the session's must outlive it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
import redis

from riskmon.audit.keyfiles import load_public_keys
from riskmon.audit.log import read_checkpoints
from riskmon.pipeline.store import key_namespace
from tests.integration.conftest import Services, WorkerProcess, consume, produce, values
from tests.integration.test_application_path import application

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def riskmon(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("RISKMON_")}
    return subprocess.run(
        [sys.executable, "-m", "riskmon", *args],
        env={**full, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def keygen(directory: Path) -> tuple[Path, Path, str]:
    run = riskmon("audit", "keygen", "--out", str(directory))
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    return Path(made["private_key"]), Path(made["public_key"]), made["key_id"]


def decide(services: Services, worker: WorkerProcess, ids: range, total: int) -> None:
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(f"app-{i:05d}".encode(), orjson.dumps(application(i))) for i in ids],
    )
    decided = values(consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=total, timeout=120))
    assert len(decided) >= total


def wait_for_checkpoint(services: Services, prefix: str, size: int, key_id: str, timeout: float = 90) -> list[dict]:
    client = redis.Redis.from_url(services.redis_url)
    deadline = time.monotonic() + timeout
    checkpoints: list[dict] = []
    while time.monotonic() < deadline:
        checkpoints = read_checkpoints(client, key_namespace(prefix))
        if any(cp["size"] >= size and cp.get("key_id") == key_id for cp in checkpoints):
            return checkpoints
        time.sleep(1)
    raise AssertionError(f"no checkpoint of {size} entries signed by {key_id}: {checkpoints}")


def test_an_export_verifies_offline_after_stack_down_across_a_key_rotation(tmp_path: Path) -> None:
    directory = tmp_path / "stack"
    old_private, old_public, old_id = keygen(tmp_path / "keys-2026")
    new_private, new_public, new_id = keygen(tmp_path / "keys-2027")
    trusted = tmp_path / "trusted.pub"  # after the rotation: the new public key and the old one
    trusted.write_bytes(new_public.read_bytes() + old_public.read_bytes())
    prefix = f"t{uuid.uuid4().hex[:8]}."
    export = tmp_path / "trail-2026-12.jsonl"
    workers: list[WorkerProcess] = []
    up = riskmon("stack", "up", "--dir", str(directory))
    assert up.returncode == 0, up.stderr
    lines = dict(line.split("=", 1) for line in up.stdout.splitlines())
    services = Services(lines["KAFKA_BOOTSTRAP"], lines["REDIS_URL"])
    env = {
        "RISKMON_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
        "RISKMON_REDIS_URL": services.redis_url,
        "RISKMON_TOPIC_PREFIX": prefix,
    }
    try:
        first = WorkerProcess(
            services, prefix, tmp_path / "worker-2026.log", {"RISKMON_AUDIT_SIGNING_KEY_FILE": str(old_private)}
        )
        workers.append(first.start())
        decide(services, first, range(20), 20)
        wait_for_checkpoint(services, prefix, 20, old_id)
        first.stop()

        # The rotation, as docs/audit.md says.
        second = WorkerProcess(
            services,
            prefix,
            tmp_path / "worker-2027.log",
            {"RISKMON_AUDIT_SIGNING_KEY_FILE": str(new_private), "RISKMON_AUDIT_PUBLIC_KEY_FILE": str(trusted)},
        )
        workers.append(second.start())
        decide(services, second, range(20, 40), 40)
        checkpoints = wait_for_checkpoint(services, prefix, 40, new_id)
        assert [cp["key_id"] for cp in checkpoints if cp["size"] <= 20] and checkpoints[-1]["key_id"] == new_id

        run = riskmon("audit", "export", "--out", str(export), env=env)
        assert run.returncode == 0 and "wrote 40 entries" in run.stdout, run.stdout + run.stderr
        second.stop()
    finally:
        for worker in workers:
            worker.stop()
        down = riskmon("stack", "down", "--dir", str(directory))
    assert down.returncode == 0 and down.stdout.count("stopped") == 2, down.stdout + down.stderr

    # From here on nothing runs: the environment still names the stack's (now closed) ports.
    def verify(*keys: Path, file: Path = export) -> tuple[int, dict]:
        flags = [a for key in keys for a in ("--public-key", str(key))]
        run = riskmon("audit", "verify", "--file", str(file), *flags, env=env)
        assert "Traceback" not in run.stderr, run.stderr
        return run.returncode, json.loads(run.stdout)

    status, verdict = verify(trusted)
    assert status == 0 and verdict["ok"] and verdict["checked"] == 40, verdict
    assert verdict["signed_by"] == [old_id, new_id] and verdict["checkpoints_checked"] >= 2, verdict
    assert verify(old_public, new_public)[1]["ok"]  # the same keys as two files

    status, verdict = verify(new_public)  # the old checkpoints' key forgotten
    assert status == 1 and f"signed by key {old_id}, which is not a trusted key" in verdict["problem"], verdict
    other = keygen(tmp_path / "someone-else")[1]
    status, verdict = verify(other)  # a checkpoint signed with another key than the one trusted
    assert status == 1 and not verdict["ok"] and "not a trusted key" in verdict["problem"], verdict

    header, *entries = export.read_bytes().splitlines()
    edited = orjson.loads(entries[7])
    edited["record"]["score"] = 0.0001 if edited["record"].get("score") != 0.0001 else 0.0002
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(b"\n".join([header, *entries[:7], orjson.dumps(edited), *entries[8:]]) + b"\n")
    status, verdict = verify(trusted, file=tampered)
    assert status == 1 and verdict["first_bad_seq"] == 7 and verdict["problem"].startswith("entry 7"), verdict

    # What needs the stopped services says so in one line, with no traceback.
    for command in (("audit", "verify"), ("audit", "export", "--out", str(tmp_path / "x.jsonl")), ("token", "list")):
        run = riskmon(*command, env=env, timeout=120)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr, (command, run.stderr)
        assert "cannot reach" in run.stderr, (command, run.stderr)
    assert set(load_public_keys([trusted])) == {old_id, new_id}
