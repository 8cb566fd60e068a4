"""What the backtest reports, and how: figures, incident detection, terminal table, HTML page (no broker)."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

import orjson
import pytest

from riskmon.alerting.config import DEFAULTS
from riskmon.backtest.engine import run
from riskmon.backtest.html import html_report
from riskmon.backtest.recorded import Incident
from riskmon.backtest.report import build_report, text_report
from riskmon.backtest.summary import DETECTION_GRACE_SECONDS, compare, detect, percentile, summarise
from riskmon.detectors import build_alert
from tests.unit.backtest_streams import PERSONAL, T0, application, burst, config, parsed, repayment, transaction

DEFAULT = config()
VELOCITY_LEVELS = "detectors.customer.txn_velocity.thresholds.levels"
STRICT = config(
    {
        "policy.id": "rules-strict",
        "policy.cutoffs.approve_below": 0.03,
        f"{VELOCITY_LEVELS}.warning": {"enter": 30, "exit": 20},
        f"{VELOCITY_LEVELS}.critical": {"enter": 40, "exit": 30},
    }
)


@pytest.mark.parametrize(
    "values, q, expected",
    [
        ([], 0.5, None),
        ([7.0], 0.99, 7.0),
        ([1, 2, 3, 4], 0.5, 2),  # nearest rank: ceil(0.5 * 4) = 2nd
        ([1, 2, 3, 4], 0.75, 3),
        (list(range(1, 101)), 0.99, 99),
        (list(range(1, 101)), 1.0, 100),
    ],
)
def test_percentile_is_nearest_rank(values: list, q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


INCIDENT = Incident("burst", "c-1", start=T0.timestamp() + 100, end=T0.timestamp() + 200, events=3)


def alert(at: float, *, level: str = "warning", customer: str = "c-1", status: str = "firing", **changes: object):
    a = build_alert(
        detector="txn_velocity",
        subject={"kind": "customer", "id": customer},
        level=level,
        status=status,
        summary="s",
        started_at=T0.timestamp() + at,
        updated_at=T0.timestamp() + at,
        config_version="v",
    )
    return replace(a, **changes) if changes else a


@pytest.mark.parametrize(
    "alerts, detected, delay",
    [
        ([alert(150)], True, 50.0),  # during the incident
        ([alert(200 + DETECTION_GRACE_SECONDS)], True, 100.0 + DETECTION_GRACE_SECONDS),  # at the end of the grace
        ([alert(201 + DETECTION_GRACE_SECONDS)], False, None),  # too late
        ([alert(99)], False, None),  # before the incident began
        ([alert(150, level="info")], False, None),  # info does not count as a detection
        ([alert(150, customer="c-2")], False, None),  # another customer
        ([alert(150, status="resolved")], False, None),
        ([alert(150, suppressed_by="silence s-1")], False, None),  # muted: nobody was told
        (
            [alert(180, level="critical"), alert(120)],
            True,
            20.0,
        ),  # the first alert sets the delay, the top level is kept
    ],
)
def test_an_incident_is_detected_by_a_warning_on_its_customer_in_time(alerts, detected: bool, delay) -> None:
    result = detect(INCIDENT, alerts)
    assert (result["detected"], result["delay_s"]) == (detected, delay)
    if len(alerts) == 2:
        assert result["level"] == "critical"


def stream() -> list:
    docs: list[dict] = [application(i, applicant=PERSONAL) for i in range(40)]
    docs += [repayment(i, bad=i % 5 == 0, at=500 + i) for i in range(40)]
    docs += burst("c-burst", start=600)  # labelled "velocity"
    docs += [
        transaction(k, customer="c-cash", at=700 + k, amount=1500.0, type="cash_withdrawal", incident="cash_out")
        for k in range(2)
    ]  # 3,000 in cash: a warning with the defaults
    return parsed(*docs)


@pytest.fixture(scope="module")
def report() -> dict:
    events = stream()
    return build_report("stream <1>.jsonl", events, run(DEFAULT, DEFAULTS, events), run(STRICT, DEFAULTS, events))


def test_rates_bad_rates_and_outcome_moves(report: dict) -> None:
    cur, new = report["current"], report["new"]
    assert cur["decisions"]["n"] == new["decisions"]["n"] == 40
    assert sum(cur["decisions"]["counts"].values()) == 40
    assert new["decisions"]["counts"]["approve"] < cur["decisions"]["counts"]["approve"]
    approved = [d["application_id"] for d in report["records"]["current"]["decisions"] if d["outcome"] == "approve"]
    bad = [a for a in approved if int(a.split("-")[1]) % 5 == 0]
    assert cur["performance"]["approve"] == {
        "decided": len(approved),
        "labelled": len(approved),
        "bad": len(bad),
        "bad_rate": round(len(bad) / len(approved), 6),
    }
    moved = (
        report["comparison"]["outcome_matrix"]["approve"]["review"]
        + report["comparison"]["outcome_matrix"]["approve"]["reject"]
    )
    assert report["comparison"]["changed"] == moved > 0


def test_alerts_and_incidents_side_by_side(report: dict) -> None:
    cur, new = report["current"], report["new"]
    assert cur["alerts"]["candidates"]["firing"] == {"info": 0, "warning": 2, "critical": 1}
    assert new["alerts"]["candidates"]["firing"] == {"info": 0, "warning": 1, "critical": 0}  # velocity never fires
    each = {i["label"]: i for i in cur["incidents"]["each"]}
    assert each["velocity"]["raw"]["detected"] and each["velocity"]["raw"]["level"] == "critical"
    assert each["cash_out"]["managed"]["detectors"] == ["cash_24h"]
    assert {i["label"]: i["raw"]["detected"] for i in new["incidents"]["each"]} == {"velocity": False, "cash_out": True}
    assert (cur["incidents"]["detected_raw"], new["incidents"]["detected_raw"]) == (2, 1)


def test_compare_counts_each_move_once() -> None:
    events = parsed(*[application(i) for i in range(20)])
    matrix = compare(run(DEFAULT, DEFAULTS, events), run(STRICT, DEFAULTS, events))["outcome_matrix"]
    assert sum(sum(row.values()) for row in matrix.values()) == 20


def test_the_terminal_table_puts_both_configurations_side_by_side(report: dict) -> None:
    text = text_report(report)
    assert "rules-v1+" in text and "rules-strict+" in text
    rows = {line.strip().split("  ")[0]: line for line in text.splitlines()}
    assert "bad rate among approvals" in rows and rows["approve"].endswith(" pp")
    assert rows["velocity (c-burst)"].split()[-1] == "missed"
    assert text.splitlines()[-1].startswith("outcome changes: ")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.attrs += attrs


def test_the_html_page_is_self_contained_and_escaped(report: dict) -> None:
    page = html_report(report)
    parsed_page = _Collector()
    parsed_page.feed(page)
    assert parsed_page.tags.count("svg") == 7
    assert "script" not in parsed_page.tags and "link" not in parsed_page.tags and "img" not in parsed_page.tags
    assert not [name for name, _ in parsed_page.attrs if name in ("src", "href")], "nothing is fetched to render it"
    assert "url(" not in page and "@import" not in page
    assert "stream &lt;1&gt;.jsonl" in page and "stream <1>" not in page


def test_no_personal_data_reaches_the_report(report: dict) -> None:
    everything = orjson.dumps(report) + html_report(report).encode() + text_report(report).encode()
    for value in PERSONAL.values():
        assert value.encode() not in everything


def test_summarise_counts_the_stream(report: dict) -> None:
    assert report["data"]["by_topic"] == {"credit.applications": 40, "credit.repayments": 40, "credit.transactions": 27}
    assert report["current"]["stream"]["labels_learned"] == 40
    assert summarise(run(DEFAULT, DEFAULTS, []), [])["decision_time_ms"] == {
        "n": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }


def test_the_backtest_reports_each_models_strategy_curve() -> None:
    """Approval rate against bad rate among approvals, per model, on the labelled applications."""
    from riskmon.alerting.config import DEFAULTS
    from riskmon.backtest.engine import run
    from riskmon.backtest.report import strategy_lines
    from riskmon.backtest.summary import strategy

    docs = [application(i, at=10 * i, annual_income=30_000 + 2_000 * i) for i in range(40)]
    docs += [repayment(i, bad=i % 3 == 0, at=10 * i + 500) for i in range(40)]
    result = run(config(), DEFAULTS, parsed(*docs))
    curves = strategy(result)
    assert "scorecard" in curves, "every model that scored is drawn"
    curve = curves["scorecard"]
    assert curve[-1]["approval_rate"] == 1.0 and curve[-1]["bad_rate_approved"] == pytest.approx(14 / 40)
    assert [p["approval_rate"] for p in curve] == sorted(p["approval_rate"] for p in curve)
    assert strategy_lines(curves)[1].strip().startswith("scorecard")
