"""Signing in to the console, in Debian's real headless Chromium, against a worker with auth on.

The page asks for a token before it shows anything; a wrong one is refused
with the worker's reason; the right one is kept in this tab's
sessionStorage only (no cookie, nothing in localStorage), sent in the
``Authorization`` header on the feeds and on actions, and an acknowledgement
made on the page is recorded as the token's identity. A request without the
header (what another site's page could make the browser send) is refused.
Signing out forgets the token and asks again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Chromium, chromium_binary
from tests.integration.conftest import consume, produce, values
from tests.integration.test_auth import make_token
from tests.integration.test_console_browser import candidate, row

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    assert chromium_binary(), "Chromium is missing: scripts/bootstrap.sh installs Debian's chromium"
    with Chromium(tmp_path / "chromium") as chromium:
        yield chromium


def test_sign_in_act_as_the_token_and_sign_out(make_worker, services, browser, tmp_path: Path) -> None:
    worker = make_worker(RISKMON_AUTH="on").start()
    token = make_token(worker, services, "ops-anna", "operator")
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

    page.type("#signin-token", token)
    page.click("#signin-submit")
    page.wait_for("!document.getElementById('signin-dialog').open", what="the dialog to close")
    page.wait_for(
        "document.body.dataset.ready === 'true' && document.body.dataset.connection === 'live'",
        what="the live feed, signed in",
    )
    assert page.evaluate("document.getElementById('whoami').textContent") == "signed in as ops-anna"
    assert page.evaluate("sessionStorage.getItem('riskmon.token')") == token
    assert page.evaluate("document.cookie") == "" and page.evaluate("localStorage.length") == 0

    # A request without the header (all another site's page could make the browser send) is refused.
    assert (
        page.evaluate(
            "fetch('/v1/alerts/x/ack', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({comment: 'forged'})}).then(r => r.status)"
        )
        == 401
    )

    # Acting from the page: the name is the token's identity, not typed.
    velocity = "txn_velocity:customer:c-1"
    produce(
        services.kafka_bootstrap,
        worker.topic("risk.alerts.candidates"),
        [candidate("c-1", detector="txn_velocity", level="critical")],
    )
    page.wait_for(f"!!document.querySelector({json.dumps(row(velocity))})", what="the alert on the page")
    page.click(row(velocity) + " button.ack")
    page.wait_for("document.getElementById('action-dialog').open", what="the acknowledgement dialog")
    assert page.evaluate(
        "[document.getElementById('action-by').value, document.getElementById('action-by').readOnly]"
    ) == [
        "ops-anna",
        True,
    ]
    page.type("#action-comment", "calling the customer")
    page.click("#action-submit")
    page.wait_for(
        f"document.querySelector({json.dumps(row(velocity))}).dataset.acknowledgedBy === 'ops-anna'",
        what="the acknowledgement back from the alert manager",
    )
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=2, timeout=60, settle=1))
    assert [a["acknowledged_by"] for a in feed if a.get("acknowledged_by")] == ["ops-anna"]
    page.screenshot(tmp_path / "2-signed-in.png", full_page=False)

    # Signing out forgets the token and asks again.
    page.click("#signout")
    page.wait_for("document.getElementById('signin-dialog').open", what="the sign-in dialog again")
    assert page.evaluate("sessionStorage.getItem('riskmon.token')") is None
    assert page.errors == [], f"JavaScript errors on the page: {page.errors}"
