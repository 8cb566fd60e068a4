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
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
import redis

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
    run = cli(worker, services, "token", "create", identity, *(f"--role={r}" for r in roles), "--comment", "test")
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
    service = make_token(worker, services, "approvals-svc", "service")
    greedy = make_token(worker, services, "greedy-svc", "service")
    viewer = make_token(worker, services, "viewer-1", "viewer")
    operator = make_token(worker, services, "ops-anna", "operator")
    scraper = make_token(worker, services, "prometheus", "metrics")

    # Redis keeps hashes, never a token; no key names anyone.
    plain = redis.Redis.from_url(services.redis_url)
    ns = key_namespace(worker.prefix)
    stored = plain.hgetall(f"{ns}:auth:tokens")
    assert len(stored) == 5
    dump = b" ".join([*stored.keys(), *stored.values(), *plain.keys(f"{ns}:*")])
    for token in (service, greedy, viewer, operator, scraper):
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
    assert http("GET", f"{base}/v1/alerts", headers=bearer(service))[0] == 403
    assert http("GET", f"{base}/metrics", headers=bearer(scraper))[0] == 200
    status, _, decision = http(
        "POST", f"{base}/v1/applications?timeout=30", orjson.dumps(application(1)), bearer(service)
    )
    assert status == 200 and decision["application_id"] == "app-00001", decision
    assert http("GET", f"{base}/v1/decisions/app-00001", headers=bearer(service))[0] == 200
    status, _, who = http("GET", f"{base}/v1/whoami", headers=bearer(operator))
    assert (status, who["identity"], who["roles"], who["auth"]) == (200, "ops-anna", ["operator"], True)

    # Abuse limits: a body over the limit is 413, a caller over its rate 429 (others unaffected).
    status, _, error = http("POST", f"{base}/v1/applications", b'{"pad": "' + b"x" * 5000 + b'"}', bearer(service))
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
        if len(actions) >= 9 and orjson.loads(export.read_bytes().splitlines()[0])["checkpoints"]:
            break
    by_action = [(a["action"], a["by"], a["via"], a["channel"]) for a in actions]
    assert by_action.count(("token_create", by_action[0][1], "none", "cli")) == 5
    assert ("ack", "ops-anna", "token", "http") in by_action and ("ack", "ops-anna", "token", "cli") in by_action
    assert ("silence", "ops-anna", "token", "http") in by_action
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
