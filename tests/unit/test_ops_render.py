"""`riskmon tail`'s pure parts: one line per event, colour only where asked, filters."""

from __future__ import annotations

import pytest

from riskmon.cli.ops.errors import OpsError
from riskmon.cli.ops.render import render_alert, render_deadletter, render_decision
from riskmon.cli.ops.tail import TailOptions, accepts, render
from riskmon.schemas.examples import example


def test_an_alert_is_one_line_whatever_its_summary_carries() -> None:
    alert = example("alert")
    alert["summary"] = "line one\nline two\r\x1b]0;pwned\x07\x1b[2J done"
    line = render_alert(alert)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x07" not in line
    assert "line one line two" in line and "done" in line


@pytest.mark.parametrize(
    "render_fn, name, word, code",
    [
        (render_alert, "alert", "WARNING", "\x1b[33m"),
        (render_decision, "decision", "review", "\x1b[33m"),
    ],
)
def test_colour_marks_the_level_or_outcome_only_when_asked(render_fn, name, word, code) -> None:
    event = example(name)
    plain, coloured = render_fn(event), render_fn(event, color=True)
    assert "\x1b" not in plain
    assert f"{code}{word}" in coloured
    assert coloured.replace(code, "").replace("\x1b[0m", "") == plain  # the same text, painted


def test_levels_and_outcomes_have_distinct_colours() -> None:
    colours = set()
    for level in ("info", "warning", "critical"):
        line = render_alert({**example("alert"), "level": level}, color=True)
        colours.add(line.split(level.upper())[0].rsplit(" ", 1)[-1])
    assert len(colours) == 3
    reject = render_decision({**example("decision"), "outcome": "reject"}, color=True)
    approve = render_decision({**example("decision"), "outcome": "approve"}, color=True)
    assert "\x1b[1;31mreject" in reject and "\x1b[32mapprove" in approve
    resolved = render_alert({**example("alert"), "status": "resolved"}, color=True)
    assert "\x1b[32mresolved" in resolved


def test_a_malformed_event_renders_with_question_marks_instead_of_failing() -> None:
    assert render_alert({"subject": "not an object", "count": "3"}).startswith("? ?")
    line = render_decision({"score": "high", "reasons": [None, {"code": "X"}], "latency_ms": True})
    assert "pd=high" in line and line.endswith(" X") and "ms" not in line


def test_an_approved_decision_shows_the_amount_and_currency() -> None:
    decision = {**example("decision"), "outcome": "approve", "approved_amount": 12000.0}
    assert "approved=12000 EUR" in render_decision(decision)


def test_a_dead_letter_line_names_the_rule_but_never_shows_the_original_bytes() -> None:
    record = example("deadletter")
    record["raw"] = '{"applicant": {"name": "Jane Example"}}'
    line = render_deadletter(record)
    assert "Jane" not in line and "raw" not in line
    assert "credit.applications[2]@1841" in line and "minimum amount: must be a finite number > 0 (got -5)" in line
    assert render(TailOptions("deadletters"), record, b"{}") == line


def test_json_mode_prints_the_original_bytes() -> None:
    raw = b'{"level": "info",  "odd":   "spacing"}'
    assert render(TailOptions("alerts", json=True), {"level": "info"}, raw) == raw.decode()


@pytest.mark.parametrize(
    "options, event, shown",
    [
        # no filter: everything, even an event without the fields
        (TailOptions("alerts"), {}, True),
        # --level is a minimum
        (TailOptions("alerts", min_level="info"), {"level": "info"}, True),
        (TailOptions("alerts", min_level="critical"), {"level": "warning"}, False),
        # an unknown or missing level does not pass a level filter
        (TailOptions("alerts", min_level="info"), {"level": "urgent"}, False),
        (TailOptions("alerts", min_level="info"), {}, False),
        # --detector is repeatable: any of them
        (TailOptions("alerts", detectors=("a", "b")), {"detector": "b"}, True),
        (TailOptions("alerts", detectors=("a", "b")), {"detector": "c"}, False),
        # both filters must hold
        (TailOptions("alerts", min_level="warning", detectors=("a",)), {"detector": "a", "level": "info"}, False),
        (TailOptions("decisions", outcomes=("review", "reject")), {"outcome": "reject"}, True),
        (TailOptions("decisions", outcomes=("review",)), {"outcome": "approve"}, False),
    ],
)
def test_filters(options: TailOptions, event: dict, shown: bool) -> None:
    assert accepts(options, event) is shown


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(stream="decisions", min_level="warning"), "--level and --detector filter alerts only, not decisions"),
        (dict(stream="deadletters", outcomes=("reject",)), "--outcome filters decisions only, not deadletters"),
        (dict(stream="decisions", detectors=("x",)), "--level and --detector filter alerts"),
        (dict(stream="alerts", outcomes=("approve",)), "--outcome filters decisions"),
        (dict(stream="alerts", limit=0), "--limit must be at least 1"),
        (dict(stream="alerts", min_level="loud"), "unknown level 'loud'"),
    ],
)
def test_options_that_make_no_sense_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(OpsError, match=message):
        TailOptions(**kwargs)
