"""The harness's data: event time advances with the stream for every kind that carries one.

Why it matters: the long run judges whether memory stays flat. If repayments
repeated their records' historical times, every repeat of the records would add
new loans inside the same 30 days and the portfolio's loan window would grow
without end, a growth of the data, not of the worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from bench.harness import Mix
from riskmon.schemas import parse_timestamp


def test_transactions_and_repayments_carry_the_streams_time_from_the_phases_start() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    mix = Mix(step=8.0, start=start)
    # The records' own times (submission + 3 months) are ordered here too, but years before ``start``: the
    # bounds below are what pin the stream's time. (They repeat only after 9,857 applications, ~99k events.)
    n = 3_000
    times: dict[str, list[datetime]] = {"transactions": [], "repayments": []}
    for kind, _, value in mix.events(n, "mix", start=20_000_000):
        at = orjson.loads(value).get("occurred_at")
        if at is not None:
            times[kind].append(parse_timestamp(at, "occurred_at"))
    assert len(times["repayments"]) == n // 10
    for kind, seen in times.items():
        assert seen == sorted(seen), kind
        assert start <= seen[0] < start + timedelta(seconds=8.0 * 10)
        assert seen[-1] >= start + timedelta(seconds=8.0 * (n - 10)), kind
    assert len(set(times["repayments"])) == len(times["repayments"])


def test_the_closing_mix_ends_every_loan_it_opens_once() -> None:
    """The long run's mix: every application gets one final repayment (good loans
    ``paid_off``, bad ones ``charged_off``) a few events later, so the exposure
    book has a steady size and a flat RSS can be judged."""
    mix = Mix(step=8.0, start=datetime(2026, 1, 1, tzinfo=UTC), closing=True)
    n = 2_000
    applied: list[str] = []
    closed: dict[str, str] = {}
    kinds: dict[str, int] = {}
    for kind, _, value in mix.events(n, "mix", start=20_000_000):
        doc = orjson.loads(value)
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "applications":
            applied.append(doc["application_id"])
        elif kind == "repayments":
            assert doc["application_id"] in applied and doc["application_id"] not in closed  # after it, once
            closed[doc["application_id"]] = doc["status"]
    assert kinds == {"applications": 400, "transactions": 1_200, "repayments": 400}
    assert sorted(closed) == sorted(applied)
    statuses = set(closed.values())
    assert statuses == {"paid_off", "charged_off"}
