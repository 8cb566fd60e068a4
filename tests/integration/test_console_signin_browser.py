"""Signing in to the console, in Debian's real headless Chromium, against a worker with auth on.

The page asks for a token before it shows anything; a wrong one is refused
with the worker's reason; the right one is kept in this tab's
sessionStorage only (no cookie, nothing in localStorage) and sent in the
``Authorization`` header on the feeds and on actions. A viewer sees the
alerts, but an acknowledgement it tries is refused (403, the reason shown in
the dialog) and reaches neither the alert manager nor the audit trail. An
operator's acknowledgement made on the page is recorded as the signed-in
token's identity on the alert (``risk.alerts``) and as an audit record of
its own naming that token (``risk.audit``). A request without the header
(what another site's page could make the browser send) is refused. Signing
out forgets the token and asks again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from riskmon.audit import verify
from riskmon.audit.keyfiles import load_public_keys
from riskmon.audit.log import read_audit_log, read_checkpoints
from riskmon.pipeline.store import key_namespace
from tests.browser import Chromium, Page, chromium_binary
from tests.integration.conftest import consume, produce, values
from tests.integration.test_auth import cli, cli_keygen, make_token
from tests.integration.test_console_browser import candidate, row

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    assert chromium_binary(), "Chromium is missing: scripts/bootstrap.sh installs Debian's chromium"
    with Chromium(tmp_path / "chromium") as chromium:
        yield chromium


def sign_in(page: Page, token: str, identity: str) -> None:
    page.wait_for("document.getElementById('signin-dialog').open", what="the sign-in dialog")
    page.type("#signin-token", token)
    page.click("#signin-submit")
    page.wait_for("!document.getElementById('signin-dialog').open", what="the dialog to close")
    page.wait_for(
        "document.body.dataset.ready === 'true' && document.body.dataset.connection === 'live'",
        what="the live feed, signed in",
    )
    assert page.evaluate("document.getElementById('whoami').textContent") == f"signed in as {identity}"
    assert page.evaluate("sessionStorage.getItem('riskmon.token')") == token


def open_ack(page: Page, key: str, identity: str, comment: str) -> None:
    page.wait_for(f"!!document.querySelector({json.dumps(row(key))})", what="the alert on the page")
    page.click(row(key) + " button.ack")
    page.wait_for("document.getElementById('action-dialog').open", what="the acknowledgement dialog")
    by = "[document.getElementById('action-by').value, document.getElementById('action-by').readOnly]"
    assert page.evaluate(by) == [identity, True]  # the name is the token's, not typed
    page.type("#action-comment", comment)
    page.click("#action-submit")


def test_sign_in_act_as_the_token_and_sign_out(make_worker, services, browser, tmp_path: Path) -> None:
    keys = cli_keygen(tmp_path / "keys")
    worker = make_worker(RISKMON_AUTH="on", RISKMON_AUDIT_SIGNING_KEY_FILE=str(keys / "audit-signing.key")).start()
    operator = make_token(worker, services, "ops-anna", "operator")
    viewer = make_token(worker, services, "viewer-vic", "viewer")
    token_ids = {
        t["identity"]: t["token_id"] for t in json.loads(cli(worker, services, "token", "list", "--json").stdout)
    }
    velocity = "txn_velocity:customer:c-1"
    produce(
        services.kafka_bootstrap,
        worker.topic("risk.alerts.candidates"),
        [candidate("c-1", detector="txn_velocity", level="critical")],
    )
    page = browser.page()
    page.goto(f"http://127.0.0.1:{worker.web_port}/console")

    # Nothing before signing in: the dialog asks, and the feeds are not open.
    page.wait_for("document.getElementById('signin-dialog').open", what="the sign-in dialog")
    assert page.evaluate("document.body.dataset.signin") == "required"
    assert page.evaluate("document.querySelectorAll('#alerts-body tr').length") == 0
    page.screenshot(tmp_path / "1-sign-in.png", full_page=False)

    page.type("#signin-token", "rmk_" + "x" * 43)
    page.click("#signin-submit")
    page.wait_for("!document.getElementById('signin-error').hidden", what="the wrong token refused")
    assert "unknown or revoked token" in page.evaluate("document.getElementById('signin-error').textContent")

    # A viewer sees the alert, and is refused its acknowledgement: the worker's reason is shown.
    sign_in(page, viewer, "viewer-vic")
    assert page.evaluate("document.cookie") == "" and page.evaluate("localStorage.length") == 0
    open_ack(page, velocity, "viewer-vic", "trying")
    page.wait_for("!document.getElementById('action-error').hidden", what="the viewer's acknowledgement refused")
    refusal = page.evaluate("document.getElementById('action-error').textContent")
    assert refusal == "viewer-vic may not do this: it needs alerts.act", refusal
    assert page.evaluate("document.getElementById('action-dialog').open")
    assert page.evaluate(f"document.querySelector({json.dumps(row(velocity))}).dataset.acknowledgedBy || ''") == ""
    page.screenshot(tmp_path / "2-viewer-refused.png", full_page=False)
    page.click("#action-cancel")

    # Sign out, sign in as the operator.
    page.click("#signout")
    page.wait_for("document.getElementById('signin-dialog').open", what="the sign-in dialog again")
    assert page.evaluate("sessionStorage.getItem('riskmon.token')") is None
    sign_in(page, operator, "ops-anna")

    # A request without the header (all another site's page could make the browser send) is refused.
    assert (
        page.evaluate(
            "fetch('/v1/alerts/x/ack', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({comment: 'forged'})}).then(r => r.status)"
        )
        == 401
    )

    # The operator acknowledges from the page: the name is the signed-in token's identity.
    open_ack(page, velocity, "ops-anna", "calling the customer")
    page.wait_for(
        f"document.querySelector({json.dumps(row(velocity))}).dataset.acknowledgedBy === 'ops-anna'",
        what="the acknowledgement back from the alert manager",
    )
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=2, timeout=60, settle=1))
    assert [a["acknowledged_by"] for a in feed if a.get("acknowledged_by")] == ["ops-anna"]
    page.screenshot(tmp_path / "3-operator-acknowledged.png", full_page=False)

    # ... and on the audit trail, as a record of its own naming the token; the viewer's attempt is not there.
    kafka = {"bootstrap.servers": services.kafka_bootstrap}
    deadline = time.monotonic() + 60
    acks: list[dict] = []
    while time.monotonic() < deadline and not acks:
        entries = read_audit_log(kafka, worker.topic("risk.audit"))
        acks = [e["record"] for e in entries if e["record"].get("action") == "ack"]
        time.sleep(1)
    assert len(acks) == 1, acks
    ack = acks[0]
    assert (ack["kind"], ack["by"], ack["via"], ack["token_id"], ack["roles"], ack["channel"]) == (
        "operator_action",
        "ops-anna",
        "token",
        token_ids["ops-anna"],
        ["operator"],
        "http",
    )
    assert ack["target"] == {"dedup_key": velocity} and ack["comment"] == "calling the customer"
    assert all(e["record"].get("by") != "viewer-vic" for e in entries if e["record"]["kind"] == "operator_action")
    checkpoints = read_checkpoints(redis.Redis.from_url(services.redis_url), key_namespace(worker.prefix))
    assert verify(entries, checkpoints=checkpoints, public_keys=load_public_keys([keys / "audit-signing.pub"])).ok

    # Signing out forgets the token and asks again.
    page.click("#signout")
    page.wait_for("document.getElementById('signin-dialog').open", what="the sign-in dialog again")
    assert page.evaluate("sessionStorage.getItem('riskmon.token')") is None
    assert page.errors == [], f"JavaScript errors on the page: {page.errors}"
