"""`riskmon replay`'s pure parts: reading recorded files, telling event kinds, pacing."""

from __future__ import annotations

import io

import orjson
import pytest

from riskmon.cli.ops.pacing import Pacer, Progress, progress_bar
from riskmon.schemas import INPUT_EVENTS
from riskmon.schemas.event_files import KINDS, BadLine, Event, infer_kind, read_events
from riskmon.schemas.examples import EXAMPLE_NAMES, example


def _read(data: bytes, fmt: str) -> list:
    return list(read_events(io.BytesIO(data), fmt))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_contract_event_is_recognised_and_routed_to_its_topic(name: str) -> None:
    kind = infer_kind(example(name))
    assert kind is not None and kind.name == name
    doc = example(name)
    assert kind.key in doc and kind.time in doc  # the key and time fields are the contract's


def test_jsonl_keeps_the_original_bytes_and_reports_bad_lines_by_number() -> None:
    good = b'{"application_id": "a-1",   "amount": 1e2}'
    data = b"\n".join([good, b"", b"{oops", b"[1, 2]", b'"text"', b'{"x": NaN}', b"\xff\xfe", good + b"\r"]) + b"\n"
    items = _read(data, "jsonl")
    assert [type(i).__name__ for i in items] == [
        "Event",
        "BadLine",
        "BadLine",
        "BadLine",
        "BadLine",
        "BadLine",
        "Event",
    ]
    assert [i.line for i in items] == [1, 3, 4, 5, 6, 7, 8]  # the blank line 2 holds no event
    assert items[0].value == good and items[-1].value == good  # sent as recorded, line ending removed
    assert "not valid JSON" in items[1].reason and "not a JSON object (a list)" in items[2].reason


def test_csv_rows_become_typed_nested_events() -> None:
    data = (
        b"application_id,customer_id,submitted_at,amount,term_months,annual_income,features.dti,features.own,applicant.name,channel\n"
        b"app-1,00042,2026-11-29T14:38:26Z,5000,36,42000.50,0.31,true,Ada,\n"
    )
    (event,) = _read(data, "csv")
    assert isinstance(event, Event) and event.line == 2
    assert event.doc == {
        "application_id": "app-1",
        "customer_id": "00042",  # an identifier stays text
        "submitted_at": "2026-11-29T14:38:26Z",
        "amount": 5000,
        "term_months": 36,
        "annual_income": 42000.5,
        "features": {"dti": 0.31, "own": True},
        "applicant": {"name": "Ada"},  # the empty channel is left out
    }
    assert orjson.loads(event.value) == event.doc
    INPUT_EVENTS["application"].from_dict(event.doc)  # a valid application, as the worker will see it


def test_csv_rows_of_the_wrong_width_are_bad_lines_and_the_rest_go_on() -> None:
    data = b'event_id,application_id,customer_id\nr1,a1,c1\nr2,a2\nr3,a3,c3,extra\n"r4","a4","c4"\n'
    items = _read(data, "csv")
    assert [(type(i).__name__, i.line) for i in items] == [("Event", 2), ("BadLine", 3), ("BadLine", 4), ("Event", 5)]
    assert items[1].reason == "2 cells, the header has 3"


def test_a_csv_value_that_breaks_its_kind_stays_text_for_the_worker_to_dead_letter() -> None:
    (event,) = _read(b"application_id,amount,term_months\na-1,lots,12.0\n", "csv")
    assert event.doc == {"application_id": "a-1", "amount": "lots", "term_months": "12.0"}


def test_a_csv_header_with_repeated_columns_is_refused() -> None:
    assert _read(b"a,a\n1,2\n", "csv") == [BadLine(1, "CSV header has empty or repeated column names")]


def test_an_empty_file_has_no_events() -> None:
    assert _read(b"", "csv") == [] and _read(b"\n\n", "jsonl") == []


def test_unknown_events_have_no_kind() -> None:
    assert infer_kind({"id": 1, "type": "purchase"}) is None
    assert set(KINDS) == set(EXAMPLE_NAMES)


def test_speed_follows_recorded_time_and_never_goes_back() -> None:
    pacer = Pacer(speed=2.0)
    recorded = [100.0, 104.0, 103.0, None, 110.0]
    assert [pacer.due(i, t) for i, t in enumerate(recorded)] == [0.0, 2.0, 2.0, 2.0, 5.0]


def test_untimed_events_before_the_first_timed_one_go_at_once() -> None:
    pacer = Pacer(speed=1.0)
    assert [pacer.due(i, t) for i, t in enumerate([None, 50.0, 51.0])] == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("kwargs", [dict(rate=0), dict(speed=-1), dict(rate=1, speed=1)])
def test_nonsense_pacing_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Pacer(**kwargs)


def test_progress_prints_the_bar_often_on_a_terminal_and_lines_rarely_in_logs() -> None:
    bar, log = Progress(tty=True), Progress(tty=False, line_every=5.0)
    times = [i * 0.05 for i in range(1, 201)]  # 10 s in 50 ms steps
    assert sum(bar.should_print(t) for t in times) >= 90
    assert sum(log.should_print(t) for t in times) == 2


def test_the_bar_is_complete_at_the_end() -> None:
    assert progress_bar(10, 10, 10, 0, 2.0, width=4) == "[####] 100% 10/10 lines, 10 sent, 0 bad, 5.0 ev/s"
