"""Who may do what, on a real worker with auth on, the real broker and Redis.

Tokens are made with the command line and kept in Redis as hashes only; each
page asks for its permission (401 without a token, 403 without the role);
names recorded on actions are the token's identity; an authenticating proxy
is trusted only with its secret; a revoked token stops working; the command
line's ``ack`` needs an operator token too; ``POST /v1/applications`` refuses
a body over the limit (413) and a caller over its rate (429). Every operator
action is an audit record, and the trail's export verifies offline with the
public key alone, and fails with another key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
import redis
from confluent_kafka.admin import AdminClient

from riskmon.audit.keyfiles import load_public_keys
from riskmon.pipeline.store import key_namespace
from tests.integration.conftest import consume, produce, values
from tests.integration.test_application_path import application
from tests.integration.test_console_browser import candidate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

PROXY_SECRET = "proxy-secret-0123456789abcdef"


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), _json(raw)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), _json(exc.read())


def _json(raw: bytes) -> dict:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"raw": raw[:200].decode(errors="replace")}
    return doc if isinstance(doc, dict) else {"value": doc}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def cli(worker, services, *args: str, token: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {
        **os.environ,
        "RISKMON_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
        "RISKMON_REDIS_URL": services.redis_url,
        "RISKMON_TOPIC_PREFIX": worker.prefix,
        **(env or {}),
    }
    full.pop("RISKMON_TOKEN", None)
    if token is not None:
        full["RISKMON_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "riskmon", *args], env=full, capture_output=True, text=True, timeout=120
    )


def make_token(worker, services, identity: str, *roles: str) -> str:
    """``riskmon token create --role R --name N``, as the issue spells it; the token printed once."""
    run = cli(worker, services, "token", "create", *(a for r in roles for a in ("--role", r)), "--name", identity)
    assert run.returncode == 0, run.stderr
    token = run.stdout.strip()
    assert token.startswith("rmk_") and len(token.splitlines()) == 1
    return token


def test_pages_ask_for_tokens_and_roles_and_actions_are_audited(make_worker, services, tmp_path: Path) -> None:
    keys = cli_keygen(tmp_path / "keys")
    worker = make_worker(
        RISKMON_AUTH="on",
        RISKMON_MAX_MESSAGE_BYTES="4096",
        RISKMON_HTTP_RATE="1",
        RISKMON_HTTP_BURST="4",
        RISKMON_PROXY_IDENTITY_HEADER="X-Forwarded-User",
        RISKMON_PROXY_SECRET=PROXY_SECRET,
        RISKMON_AUDIT_SIGNING_KEY_FILE=str(keys / "audit-signing.key"),
    ).start()
    base = f"http://127.0.0.1:{worker.web_port}"
    submitter = make_token(worker, services, "approvals-svc", "submitter")
    greedy = make_token(worker, services, "greedy-svc", "submitter")
    viewer = make_token(worker, services, "viewer-1", "viewer")
    operator = make_token(worker, services, "ops-anna", "operator")
    scraper = make_token(worker, services, "prometheus", "metrics")

    # Redis keeps hashes, never a token; no key names anyone.
    plain = redis.Redis.from_url(services.redis_url)
    ns = key_namespace(worker.prefix)
    stored = plain.hgetall(f"{ns}:auth:tokens")
    assert len(stored) == 5
    dump = b" ".join([*stored.keys(), *stored.values(), *plain.keys(f"{ns}:*")])
    for token in (submitter, greedy, viewer, operator, scraper):
        assert token.encode() not in dump
    assert b"ops-anna" not in b" ".join(plain.keys(f"{ns}:*"))

    # Nobody: 401 everywhere but /health and the page itself.
    status, headers, _ = http("POST", f"{base}/v1/applications", orjson.dumps(application(1)))
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
    for path in ("/v1/alerts", "/v1/silences", "/console/api/snapshot", "/metrics", "/v1/decisions/app-00001"):
        assert http("GET", base + path)[0] == 401, path
    assert http("GET", f"{base}/health")[0] == 200
    assert http("GET", f"{base}/console")[0] == 200
    made_up = "rmk_" + "x" * 43
    assert http("GET", f"{base}/v1/alerts", headers=bearer(made_up))[0] == 401

    # Roles: each token may do what its role says, and nothing else.
    assert http("GET", f"{base}/v1/alerts", headers=bearer(viewer))[0] == 200
    assert http("POST", f"{base}/v1/alerts/k/ack", b'{"comment": "x"}', bearer(viewer))[0] == 403
    assert http("POST", f"{base}/v1/applications", orjson.dumps(application(1)), bearer(viewer))[0] == 403
    assert http("GET", f"{base}/v1/alerts", headers=bearer(submitter))[0] == 403
    assert http("GET", f"{base}/metrics", headers=bearer(scraper))[0] == 200
    status, _, decision = http(
        "POST", f"{base}/v1/applications?timeout=30", orjson.dumps(application(1)), bearer(submitter)
    )
    assert status == 200 and decision["application_id"] == "app-00001", decision
    assert http("GET", f"{base}/v1/decisions/app-00001", headers=bearer(submitter))[0] == 200
    assert http("GET", f"{base}/v1/decisions/app-00001", headers=bearer(viewer))[0] == 200  # viewers read decisions
    status, _, who = http("GET", f"{base}/v1/whoami", headers=bearer(operator))
    assert (status, who["identity"], who["roles"], who["auth"]) == (200, "ops-anna", ["operator"], True)

    # Abuse limits: a body over the limit is 413, a caller over its rate 429 (others unaffected).
    status, _, error = http("POST", f"{base}/v1/applications", b'{"pad": "' + b"x" * 5000 + b'"}', bearer(submitter))
    assert status == 413 and error["error"]["type"] == "too_large"
    answers = [http("POST", f"{base}/v1/applications", b"{}", bearer(greedy)) for _ in range(6)]
    assert [a[0] for a in answers[:4]] == [400] * 4
    assert 429 in [a[0] for a in answers[4:]]
    limited = next(a for a in answers if a[0] == 429)
    assert int(limited[1]["Retry-After"]) >= 1 and limited[2]["error"]["type"] == "rate_limited"

    # The operator acts as itself: naming someone else is refused, and the recorded name is the token's.
    velocity = "txn_velocity:customer:c-1"
    produce(
        services.kafka_bootstrap,
        worker.topic("risk.alerts.candidates"),
        [candidate("c-1", detector="txn_velocity", level="critical")],
    )
    status, _, refused = http(
        "POST", f"{base}/v1/alerts/{velocity}/ack", b'{"by": "ops-bob", "comment": "x"}', bearer(operator)
    )
    assert status == 403 and "own identity" in refused["error"]["message"]
    status, _, forged = http(
        "POST",
        f"{base}/v1/alerts/{velocity}/ack",
        b'{"comment": "x"}',
        {**bearer(operator), "Origin": "http://evil.example"},
    )
    assert status == 403 and "cross-site" in forged["error"]["message"]
    status, _, accepted = http("POST", f"{base}/v1/alerts/{velocity}/ack", b'{"comment": "calling"}', bearer(operator))
    assert status == 202 and accepted["accepted"]["by"] == "ops-anna", accepted
    http_action = accepted["accepted"]["action_id"]
    status, _, silenced = http(
        "POST",
        f"{base}/v1/silences",
        orjson.dumps({"matcher": "detector=cash_24h", "duration": "1h", "comment": "merchant outage"}),
        bearer(operator),
    )
    assert status == 202 and silenced["accepted"]["silence"]["author"] == "ops-anna"
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=2, timeout=60, settle=1))
    assert [a["acknowledged_by"] for a in feed if a.get("acknowledged_by")] == ["ops-anna"]

    # An authenticating proxy is trusted with its secret only.
    proxied = {"X-Forwarded-User": "sso-carol", "X-Riskmon-Roles": "operator"}
    assert http("GET", f"{base}/v1/whoami", headers=proxied)[0] == 401
    status, _, who = http("GET", f"{base}/v1/whoami", headers={**proxied, "X-Riskmon-Proxy-Secret": PROXY_SECRET})
    assert (status, who["identity"], who["via"]) == (200, "sso-carol", "proxy")

    # The command line needs an operator token too, and records its identity.
    no_token = cli(worker, services, "ack", velocity, "--comment", "x")
    assert no_token.returncode == 2 and "token" in no_token.stderr and "Traceback" not in no_token.stderr
    assert len(no_token.stderr.strip().splitlines()) == 1
    as_viewer = cli(worker, services, "ack", velocity, "--comment", "x", token=viewer)
    assert as_viewer.returncode == 2 and "alerts.act" in as_viewer.stderr
    impostor = cli(worker, services, "ack", velocity, "--by", "ops-bob", "--comment", "x", token=operator)
    assert impostor.returncode == 2 and "own identity" in impostor.stderr
    ok = cli(worker, services, "ack", velocity, "--comment", "taking over", token=operator)
    assert ok.returncode == 0 and "by ops-anna" in ok.stdout, ok.stderr

    # Silences and their expiry, from the command line and over HTTP, as the token's identity too.
    added = cli(
        worker,
        services,
        "silence",
        "add",
        "detector=txn_anomaly",
        "--duration",
        "30m",
        "--comment",
        "deploy",
        token=operator,
    )
    assert added.returncode == 0, added.stderr
    cli_silence = added.stdout.split()[0]
    assert cli_silence.startswith("sil-"), added.stdout
    as_viewer = cli(worker, services, "silence", "expire", cli_silence, token=viewer)
    assert as_viewer.returncode == 2 and "alerts.act" in as_viewer.stderr
    expired = cli(worker, services, "silence", "expire", cli_silence, token=operator)
    assert expired.returncode == 0, expired.stderr
    http_silence = silenced["accepted"]["silence"]["id"]
    status, _, refused = http("DELETE", f"{base}/v1/silences/{http_silence}?by=ops-bob", None, bearer(operator))
    assert status == 403 and "own identity" in refused["error"]["message"]
    assert http("DELETE", f"{base}/v1/silences/{http_silence}", None, bearer(viewer))[0] == 403
    status, _, ended = http("DELETE", f"{base}/v1/silences/{http_silence}", None, bearer(operator))
    assert status == 202 and ended["accepted"]["by"] == "ops-anna", ended

    # Revoked: refused within the cache's 5 s.
    listing = cli(worker, services, "token", "list", "--json")
    viewer_id = next(t["token_id"] for t in json.loads(listing.stdout) if t["identity"] == "viewer-1")
    assert viewer not in listing.stdout and "rmk_" not in listing.stdout
    assert cli(worker, services, "token", "revoke", viewer_id).returncode == 0
    time.sleep(5.5)
    assert http("GET", f"{base}/v1/alerts", headers=bearer(viewer))[0] == 401

    # Every operator action is on the trail; the export verifies offline with the public key alone.
    export = tmp_path / "trail.jsonl"
    deadline = time.monotonic() + 90
    actions: list[dict] = []
    while time.monotonic() < deadline:
        time.sleep(2)
        run = cli(worker, services, "audit", "export", "--out", str(export))
        assert run.returncode == 0, run.stderr
        entries = [orjson.loads(line) for line in export.read_bytes().splitlines()[1:]]
        actions = [e["record"] for e in entries if e["record"]["kind"] == "operator_action"]
        if len(actions) >= 12 and orjson.loads(export.read_bytes().splitlines()[0])["checkpoints"]:
            break
    by_action = [(a["action"], a["by"], a["via"], a["channel"]) for a in actions]
    assert by_action.count(("token_create", by_action[0][1], "none", "cli")) == 5
    assert ("ack", "ops-anna", "token", "http") in by_action and ("ack", "ops-anna", "token", "cli") in by_action
    assert ("silence", "ops-anna", "token", "http") in by_action and (
        "silence",
        "ops-anna",
        "token",
        "cli",
    ) in by_action
    assert ("expire_silence", "ops-anna", "token", "http") in by_action
    assert ("expire_silence", "ops-anna", "token", "cli") in by_action
    assert all(a["by"] != "viewer-1" for a in actions)  # refused attempts never reach the trail
    assert ("token_revoke", by_action[0][1], "none", "cli") in by_action
    http_ack = next(a for a in actions if a["action_id"] == http_action)
    assert http_ack["target"] == {"dedup_key": velocity} and http_ack["token_id"] and "rmk_" not in str(http_ack)

    offline = {"RISKMON_KAFKA_BOOTSTRAP": "127.0.0.1:1", "RISKMON_REDIS_URL": "redis://127.0.0.1:1/0"}
    good = cli(
        worker,
        services,
        "audit",
        "verify",
        "--file",
        str(export),
        "--public-key",
        str(keys / "audit-signing.pub"),
        env=offline,
    )
    verdict = json.loads(good.stdout)
    assert good.returncode == 0 and verdict["ok"] and verdict["checkpoints_checked"] >= 1, verdict
    other = cli_keygen(tmp_path / "other")
    bad = cli(
        worker,
        services,
        "audit",
        "verify",
        "--file",
        str(export),
        "--public-key",
        str(other / "audit-signing.pub"),
        env=offline,
    )
    verdict = json.loads(bad.stdout)
    assert bad.returncode == 1 and "not a trusted key" in verdict["problem"], verdict


ROLES = ("viewer", "operator", "submitter", "auditor", "pager", "metrics", "admin")
#: What each role may do (issue 23: viewer = console, alerts, decisions; operator = ack, silence, expire;
#: submitter = POST applications; auditor = audit reads), by the permission each call needs.
GRANTS = {
    "viewer": {"console.view", "decisions.read"},
    "operator": {"console.view", "decisions.read", "alerts.act"},
    "submitter": {"applications.submit", "decisions.read"},
    "auditor": {"audit.read"},
    "pager": {"pager.acknowledge"},
    "metrics": {"metrics.scrape"},
    "admin": {
        "console.view",
        "decisions.read",
        "alerts.act",
        "applications.submit",
        "audit.read",
        "pager.acknowledge",
        "metrics.scrape",
    },
}


def guarded_calls(app_id: str) -> list[tuple[str, str, bytes | None, str, int]]:
    """Every guarded call: method, path, body, the permission it needs, and its answer once let through.

    A caller let through to a state-changing call gets a 400 of the call's own (a request that would
    change nothing), so the matrix acts on nothing; the real actions are made once, below.
    """
    return [
        ("GET", "/v1/alerts", None, "console.view", 200),
        ("GET", "/v1/silences", None, "console.view", 200),
        ("GET", "/console/api/snapshot", None, "console.view", 200),
        ("GET", "/console/api/indicators", None, "console.view", 200),
        ("GET", f"/v1/decisions/{app_id}", None, "decisions.read", 200),
        ("POST", "/v1/applications", b"{}", "applications.submit", 400),
        ("POST", "/v1/intake", b"{}", "applications.submit", 400),
        ("POST", f"/v1/alerts/{'k' * 301}/ack", b'{"comment": "x"}', "alerts.act", 400),
        ("POST", "/v1/silences", b"{}", "alerts.act", 400),
        ("DELETE", "/v1/silences/not-a-silence", None, "alerts.act", 400),
        ("POST", "/v1/pager/acknowledge", b"{}", "pager.acknowledge", 400),
        ("GET", "/metrics", None, "metrics.scrape", 200),
        ("GET", "/v1/audit/checkpoints", None, "audit.read", 200),
        ("GET", f"/v1/audit/applications/{app_id}", None, "audit.read", 200),
        ("GET", "/v1/audit/export?from=0&to=0", None, "audit.read", 200),
    ]


def test_each_role_may_make_its_calls_and_is_refused_the_others(make_worker, services, tmp_path: Path) -> None:
    keys = cli_keygen(tmp_path / "keys")
    worker = make_worker(RISKMON_AUTH="on", RISKMON_AUDIT_SIGNING_KEY_FILE=str(keys / "audit-signing.key")).start()
    base = f"http://127.0.0.1:{worker.web_port}"
    tokens = {role: make_token(worker, services, f"{role}-1", role) for role in ROLES}
    listing = json.loads(cli(worker, services, "token", "list", "--json").stdout)
    token_ids = {t["identity"]: t["token_id"] for t in listing}

    # A decision, and the trail holding it under a checkpoint, before the matrix reads them.
    status, _, decision = http(
        "POST", f"{base}/v1/applications?timeout=30", orjson.dumps(application(2)), bearer(tokens["submitter"])
    )
    assert status == 200 and decision["application_id"] == "app-00002", decision
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, _, doc = http("GET", f"{base}/v1/audit/checkpoints", headers=bearer(tokens["auditor"]))
        if status == 200 and any(c["checkpoint"]["size"] >= 1 for c in doc["checkpoints"]):
            break
        time.sleep(1)
    else:
        raise AssertionError(f"no checkpoint covers the decision: {doc}")

    # The matrix: every role, every guarded call.
    for role in ROLES:
        for method, path, body, permission, allowed in guarded_calls("app-00002"):
            status, _, answer = http(method, base + path, body, bearer(tokens[role]))
            if permission in GRANTS[role]:
                assert status == allowed, (role, method, path, status, answer)
            else:
                assert status == 403, (role, method, path, status, answer)
                assert answer["error"] == {
                    "type": "forbidden",
                    "message": f"{role}-1 may not do this: it needs {permission}",
                }, (role, path)
        assert http("GET", f"{base}/health", headers=bearer(tokens[role]))[0] == 200
    for method, path, body, _, _ in guarded_calls("app-00002"):  # and nobody at all: 401, with a reason
        status, headers, answer = http(method, base + path, body)
        assert status == 401 and answer["error"]["type"] == "unauthenticated", (path, answer)
        assert headers.get("WWW-Authenticate", "").startswith("Bearer"), path

    # A viewer is refused an acknowledgement; an operator's is made, as itself, and audited.
    velocity = "txn_velocity:customer:c-2"
    produce(
        services.kafka_bootstrap,
        worker.topic("risk.alerts.candidates"),
        [candidate("c-2", detector="txn_velocity", level="critical")],
    )
    status, _, refused = http("POST", f"{base}/v1/alerts/{velocity}/ack", b'{"comment": "x"}', bearer(tokens["viewer"]))
    assert (status, refused["error"]["type"]) == (403, "forbidden") and "alerts.act" in refused["error"]["message"]
    status, _, accepted = http(
        "POST", f"{base}/v1/alerts/{velocity}/ack", b'{"comment": "calling"}', bearer(tokens["operator"])
    )
    assert status == 202 and accepted["accepted"]["by"] == "operator-1", accepted
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=2, timeout=60, settle=1))
    assert [a["acknowledged_by"] for a in feed if a.get("acknowledged_by")] == ["operator-1"]

    # The auditor's reads: an application's history with proofs, the checkpoints, an export that verifies offline.
    auditor = bearer(tokens["auditor"])
    status, _, shown = http("GET", f"{base}/v1/audit/applications/app-00002", headers=auditor)
    assert status == 200 and shown["application_id"] == "app-00002", shown
    assert [e["entry"]["record"]["kind"] for e in shown["entries"]] == ["decision"]
    assert all(e["proof_valid"] for e in shown["entries"]) and shown["checkpoint"]["alg"] == "ed25519"
    status, _, missing = http("GET", f"{base}/v1/audit/applications/app-never", headers=auditor)
    assert status == 404 and missing["error"]["type"] == "not_found"
    status, _, bad = http("GET", f"{base}/v1/audit/export?from=minus-one", headers=auditor)
    assert status == 400 and bad["error"]["field"] == "from"
    status, _, cps = http("GET", f"{base}/v1/audit/checkpoints", headers=auditor)
    key_id = next(iter(load_public_keys([keys / "audit-signing.pub"])))
    assert status == 200 and cps["signed_by"] == [key_id] and cps["trusted_keys"] == [key_id], cps
    assert all(c["problem"] is None for c in cps["checkpoints"]), cps

    export = tmp_path / "from-http.jsonl"
    deadline = time.monotonic() + 90
    ack: dict | None = None
    while time.monotonic() < deadline and ack is None:
        time.sleep(2)
        request = urllib.request.Request(f"{base}/v1/audit/export", headers=auditor)
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.headers["Content-Type"].startswith("application/x-ndjson")
            export.write_bytes(response.read())
        header, *lines = [orjson.loads(line) for line in export.read_bytes().splitlines()]
        records = [e["record"] for e in lines]
        covered = max((c["size"] for c in header["checkpoints"]), default=0)
        ack = next(
            (r for r in records if r["kind"] == "operator_action" and r["action"] == "ack" and covered >= len(records)),
            None,
        )
    assert ack is not None, "the operator's acknowledgement never reached the exported trail under a checkpoint"
    assert (ack["by"], ack["via"], ack["channel"], ack["token_id"], ack["roles"]) == (
        "operator-1",
        "token",
        "http",
        token_ids["operator-1"],
        ["operator"],
    )
    assert ack["action_id"] == accepted["accepted"]["action_id"] and ack["target"] == {"dedup_key": velocity}
    offline = {"RISKMON_KAFKA_BOOTSTRAP": "127.0.0.1:1", "RISKMON_REDIS_URL": "redis://127.0.0.1:1/0"}
    run = cli(
        worker,
        services,
        "audit",
        "verify",
        "--file",
        str(export),
        "--public-key",
        str(keys / "audit-signing.pub"),
        env=offline,
    )
    verdict = json.loads(run.stdout)
    assert run.returncode == 0 and verdict["ok"] and verdict["checked"] == len(lines), verdict

    # The trail unreadable (its topic gone): a clear JSON 503, and the worker's loop keeps answering meanwhile.
    admin = AdminClient({"bootstrap.servers": services.kafka_bootstrap})
    admin.delete_topics([worker.topic("risk.audit")])[worker.topic("risk.audit")].result(30)
    answer: list = []
    reader = threading.Thread(
        target=lambda: answer.append(http("GET", f"{base}/v1/audit/applications/app-00002", headers=auditor))
    )
    reader.start()
    time.sleep(1)
    served = []
    while reader.is_alive():
        began = time.monotonic()
        assert http("GET", f"{base}/health")[0] == 200
        served.append(time.monotonic() - began)
        time.sleep(0.5)
    reader.join()
    status, _, error = answer[0]
    assert status == 503 and error["error"]["type"] == "unavailable", error
    assert "cannot read the audit trail" in error["error"]["message"]
    assert served and max(served) < 2.0, f"/health waited on the trail read: {served}"


def cli_keygen(directory: Path) -> Path:
    run = subprocess.run(
        [sys.executable, "-m", "riskmon", "audit", "keygen", "--out", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert oct((directory / "audit-signing.key").stat().st_mode & 0o777) == "0o600"
    return directory
