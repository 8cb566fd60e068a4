"""The live console in Debian's real headless Chromium, against a real worker on the real broker and Redis.

What an operator does on the page must happen in the system: alerts
produced to the alert manager's input appear on the page, filters narrow
them, an acknowledgement typed into the page reaches ``risk.alerts`` with
``acknowledged_by``, a refused one shows the worker's reason, a resolution
shows up live, a silence made on the page lists and expires. Decisions
appear with outcome, grade, score and reasons, never the applicant's data,
and the indicator centre shows the rates of the decisions actually made.

Screenshots are kept under the test's tmp dir and copied to
``test-artifacts/console/`` (git-ignored).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from riskmon.detectors import build_alert
from tests.browser import Chromium, Page, chromium_binary
from tests.integration.conftest import consume, produce, values
from tests.integration.test_application_path import application

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
T0 = time.time() - 600


def candidate(
    customer: str, *, detector: str, level: str, status: str = "firing", at: float = T0
) -> tuple[bytes, bytes]:
    a = build_alert(
        detector=detector,
        subject={"kind": "customer", "id": customer},
        level=level,
        status=status,
        summary=f"{detector} on customer {customer}",
        started_at=T0,
        updated_at=at,
        config_version="test",
        value=25.0,
        threshold=20.0,
        window="1h",
    )
    return a.dedup_key.encode(), orjson.dumps(a.to_dict())


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    assert chromium_binary(), "Chromium is missing: scripts/bootstrap.sh installs Debian's chromium"
    with Chromium(tmp_path / "chromium") as chromium:
        yield chromium


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """Where a test's screenshots go; copied to test-artifacts/console/<test>/ afterwards, pass or fail."""
    directory = tmp_path / "screenshots"
    directory.mkdir()
    yield directory
    target = ARTIFACTS / request.node.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(directory, target)


def open_console(page: Page, port: int) -> None:
    page.goto(f"http://127.0.0.1:{port}/console")
    page.wait_for(
        "document.body.dataset.ready === 'true' && document.body.dataset.connection === 'live'",
        what="the console's live feed",
    )


def row(key: str) -> str:
    return f"#alerts-body tr[data-key={json.dumps(key)}]"


def wait_keys(page: Page, keys: list[str], what: str) -> None:
    """Wait until the alert table lists exactly ``keys``, in that order (the page renders on the next frame)."""
    page.wait_for(
        "JSON.stringify([...document.querySelectorAll('#alerts-body tr')].map(r => r.dataset.key)) === "
        + json.dumps(json.dumps(keys, separators=(",", ":"))),
        what=what,
    )


def set_filter(page: Page, selector: str, value: str) -> None:
    page.type(selector, value) if value else page.evaluate(f"document.querySelector({json.dumps(selector)}).value = ''")
    page.evaluate(
        f"document.querySelector({json.dumps(selector)}).dispatchEvent(new Event('input', {{bubbles: true}}))"
    )


def test_alerts_appear_filter_acknowledge_resolve_and_silence_from_the_page(
    make_worker, services, browser, shots
) -> None:
    worker = make_worker().start()
    page = browser.page()
    open_console(page, worker.web_port)
    velocity, cash, anomaly = "txn_velocity:customer:c-1", "cash_24h:customer:c-2", "txn_anomaly:customer:c-3"
    produce(
        services.kafka_bootstrap,
        worker.topic("risk.alerts.candidates"),
        [
            candidate("c-1", detector="txn_velocity", level="critical"),
            candidate("c-2", detector="cash_24h", level="warning"),
            candidate("c-3", detector="txn_anomaly", level="info"),
        ],
    )

    # Live: the three alerts appear without a reload, coloured and counted by level.
    wait_keys(page, [velocity, cash, anomaly], "three alerts on the page, most severe first")
    assert (
        page.evaluate(f"document.querySelector({json.dumps(row(velocity) + ' .level')}).className") == "level critical"
    )
    assert page.evaluate(
        "['critical', 'warning', 'info'].map(l => document.getElementById('open-' + l).textContent)"
    ) == ["1", "1", "1"]
    page.screenshot(shots / "1-alerts-firing.png", full_page=False)

    # Filters: level, subject, detector.
    page.click("#alert-filters label.chip.critical")
    wait_keys(page, [cash, anomaly], "the critical alert filtered out")
    page.click("#alert-filters label.chip.critical")
    wait_keys(page, [velocity, cash, anomaly], "the critical alert back")
    set_filter(page, "#filter-subject", "c-2")
    wait_keys(page, [cash], "the subject filter")
    set_filter(page, "#filter-subject", "")
    wait_keys(page, [velocity, cash, anomaly], "the subject filter cleared")
    page.evaluate(
        "(() => { const s = document.getElementById('filter-detector'); s.value = 'txn_anomaly';"
        " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )
    wait_keys(page, [anomaly], "the detector filter")
    page.evaluate(
        "(() => { const s = document.getElementById('filter-detector'); s.value = '';"
        " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )
    wait_keys(page, [velocity, cash, anomaly], "the detector filter cleared")

    # Acknowledge: a reason is asked for, a bad name is refused with the worker's own message, then it goes through.
    page.click(row(velocity) + " button.ack")
    page.wait_for("document.getElementById('action-dialog').open", what="the acknowledgement dialog")
    page.type("#action-by", "ops anna!")
    page.click("#action-submit")
    page.wait_for("!document.getElementById('action-error').hidden", what="the missing reason to be pointed out")
    assert page.evaluate("document.getElementById('action-error').textContent") == "a reason is required"
    page.type("#action-comment", "calling the customer")
    page.click("#action-submit")
    page.wait_for(
        "document.getElementById('action-error').textContent.includes('user name')", what="the worker's refusal"
    )
    assert page.evaluate("document.getElementById('action-dialog').open"), "the dialog stays open on an error"
    page.screenshot(shots / "2-ack-refused.png", full_page=False)
    page.type("#action-by", "ops-anna")
    page.click("#action-submit")
    page.wait_for("!document.getElementById('action-dialog').open", what="the dialog to close")
    page.wait_for(
        f"document.querySelector({json.dumps(row(velocity))}).dataset.acknowledgedBy === 'ops-anna'",
        what="the acknowledgement back from the alert manager",
    )
    assert (
        page.evaluate(f"document.querySelector({json.dumps(row(velocity) + ' .badge.ack')}).textContent")
        == "ack ops-anna"
    )
    assert not page.evaluate(f"document.querySelector({json.dumps(row(velocity) + ' button.ack')})"), (
        "no second ack button"
    )
    feed = values(consume(services.kafka_bootstrap, worker.topic("risk.alerts"), expect=4, timeout=60, settle=1))
    acks = [a for a in feed if a["dedup_key"] == velocity and a.get("acknowledged_by")]
    assert [(a["acknowledged_by"], a["notification"], a["status"]) for a in acks] == [
        ("ops-anna", "acknowledged", "firing")
    ]

    # A resolution arrives live; the status filter hides it.
    produce(
        services.kafka_bootstrap,
        worker.topic("risk.alerts.candidates"),
        [candidate("c-2", detector="cash_24h", level="warning", status="resolved", at=T0 + 60)],
    )
    page.wait_for(
        f"document.querySelector({json.dumps(row(cash))}).dataset.status === 'resolved'", what="the resolution"
    )
    assert page.evaluate("document.getElementById('open-warning').textContent") == "0"
    page.evaluate(
        "(() => { const s = document.getElementById('filter-status'); s.value = 'firing';"
        " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )
    wait_keys(page, [velocity, anomaly], "the status filter")
    page.screenshot(shots / "3-acknowledged-and-resolved.png", full_page=False)

    # Silence from the page, see it listed, expire it from the page.
    page.click(row(anomaly) + " button.silence")
    page.wait_for("document.getElementById('action-dialog').open", what="the silence dialog")
    assert page.evaluate("document.getElementById('action-matcher').value") == f"dedup_key={anomaly}"
    assert page.evaluate("document.getElementById('action-by').value") == "ops-anna", (
        "the operator's name is remembered"
    )
    page.type("#action-comment", "known merchant outage")
    page.click("#action-submit")
    page.wait_for("!document.getElementById('action-dialog').open", what="the silence to be accepted")
    page.wait_for(
        "[...document.querySelectorAll('#silences-body tr')].some(r => r.cells[4].textContent === 'active')",
        what="the active silence listed",
    )
    assert page.evaluate("document.querySelector('#silences-body tr td').textContent") == f"dedup_key={anomaly}"
    page.click("#silences-body tr button[data-action=expire]")
    page.wait_for("document.getElementById('action-dialog').open", what="the expiry dialog")
    page.click("#action-submit")
    page.wait_for(
        "document.querySelector('#silences-body tr').cells[4].textContent === 'expired'",
        what="the silence expired",
        timeout=90,
    )
    page.screenshot(shots / "4-full-page.png")
    assert page.errors == [], f"JavaScript errors on the page: {page.errors}"

    # The worker stops cleanly with the page still connected, and the page notices.
    assert worker.stop() == 0
    page.wait_for("document.body.dataset.connection === 'reconnecting'", what="the page to notice the worker left")


def test_decisions_and_indicators_without_personal_data(make_worker, services, browser, shots) -> None:
    worker = make_worker().start()
    page = browser.page()
    open_console(page, worker.web_port)
    n = 60  # above the portfolio indicators' minimum sample (50 decisions)
    apps = [
        application(i, applicant={"name": "Jane Example", "national_id": "123-45-6789", "email": "jane@example.org"})
        for i in range(n)
    ]
    produce(
        services.kafka_bootstrap,
        worker.topic("credit.applications"),
        [(a["application_id"].encode(), orjson.dumps(a)) for a in apps],
    )
    decisions = {
        d["application_id"]: d
        for d in values(
            consume(services.kafka_bootstrap, worker.topic("credit.decisions"), expect=n, timeout=120, settle=0)
        )
    }
    assert len(decisions) == n

    # The decision feed: every decision, live, with outcome, grade, score and its top reason codes.
    page.wait_for(f"document.querySelectorAll('#decisions-body tr').length === {n}", what="every decision on the page")
    shown = page.evaluate(
        "[...document.querySelectorAll('#decisions-body tr')].map(r => [r.dataset.application,"
        " r.dataset.outcome, r.cells[3].textContent, r.cells[4].textContent,"
        " [...r.cells[6].querySelectorAll('span')].map(s => s.textContent)])"
    )
    for app_id, outcome, grade, pd, codes in shown:
        d = decisions[app_id]
        assert (outcome, grade, pd) == (d["outcome"], d["grade"], f"{d['score']:.3f}")
        assert codes == [r["code"] for r in d["reasons"][:2]]

    # The indicator centre: the approval rate of the decisions actually made, and a latency point.
    approved = sum(d["outcome"] == "approve" for d in decisions.values()) / n
    expected = f"{approved * 100:.1f}%"
    page.wait_for(
        f"document.querySelector('[data-indicator=approval_rate] .value').textContent === {json.dumps(expected)}",
        what=f"the approval rate tile to show {expected}",
    )
    page.wait_for("!!document.querySelector('#chart-latency [data-series=latency_ms_p50]')", what="a latency point")
    page.wait_for(
        "!!document.querySelector('#chart-outcomes [data-series=approval_rate]')", what="the approval rate line"
    )
    page.screenshot(shots / "decisions-and-indicators.png")

    # Nothing personal anywhere on the page or in what the console serves.
    html = page.evaluate("document.documentElement.outerHTML")
    snapshot = page.evaluate("fetch('/console/api/snapshot').then(r => r.text())")
    for secret in ("Jane Example", "123-45-6789", "jane@example.org", "cust-0"):
        assert secret not in html and secret not in snapshot, f"{secret!r} reached the console"
    assert page.errors == [], f"JavaScript errors on the page: {page.errors}"
