"""A labelled sample stream to try the backtest on, with no broker: ``riskmon backtest sample``.

Built from the demo's parts: real public applications (``riskmon.demo.data``,
Lending Club by default), each loan's real outcome as a repayment event, and
the demo's seeded transactions of the same customers with their three
labelled incidents (``features.incident``: ``velocity``, ``cash_out``,
``anomaly``), and a labelled card stream with fraud episodes (``card_fraud``)
whose confirmed outcomes follow on ``credit.transaction_outcomes``
(:mod:`riskmon.demo.card_fraud`). Written as wrapped records in event-time order, which is the
order a recorder would see them in.

Time is compressed as in the demo: a loan's outcome arrives
:data:`OUTCOME_DELAY` applications after it (a few minutes of event time,
not the months a real loan takes), so that the champion model can learn
enough outcomes within the sample to take over from the scorecard. Every
loan of the data set was granted, so every application has an outcome,
including those a policy would refuse: the bad rate among a policy's
approvals then covers all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

__all__ = ["sample_stream", "write_sample", "OUTCOME_DELAY"]

#: How many applications later a loan's outcome is reported.
OUTCOME_DELAY = 100


def sample_stream(
    *, source: str = "lending_club", limit: int = 3000, transactions: int = 1500, card_customers: int = 300
) -> list[dict[str, Any]]:
    """The sample's wrapped records, in event-time order (deterministic).

    With ``card_customers``, also :func:`riskmon.demo.card_fraud.card_fraud_stream`'s
    labelled card stream over the 20 days before the last application: its
    fraud transactions labelled ``features.incident = "card_fraud"``, their
    outcomes on ``credit.transaction_outcomes`` 3 days later.
    """
    from riskmon.demo.data import load_records, repayment_for
    from riskmon.demo.transactions import generate_transactions
    from riskmon.schemas import parse_timestamp

    records = load_records(source, limit=limit)
    if not records:
        raise ValueError(f"no applications loaded from {source}")
    times = [a.application["submitted_at"] for a in records]
    out: list[tuple[str, int, dict[str, Any]]] = []
    for i, record in enumerate(records):
        app = record.application
        out.append(
            (
                app["submitted_at"],
                len(out),
                {"topic": "credit.applications", "key": app["application_id"], "value": app},
            )
        )
        repayment = repayment_for(record, months_after=1, good_status="paid_off")
        repayment["occurred_at"] = times[min(i + OUTCOME_DELAY, len(times) - 1)]
        out.append(
            (
                repayment["occurred_at"],
                len(out),
                {"topic": "credit.repayments", "key": app["application_id"], "value": repayment},
            )
        )
    end = parse_timestamp(times[-1], "submitted_at")
    customers = sorted({r.application["customer_id"] for r in records})
    for labelled in generate_transactions(customers, n=transactions, end=end):
        tx = dict(labelled.transaction)
        if labelled.incident:
            tx["features"] = {"incident": labelled.incident}
        out.append(
            (tx["occurred_at"], len(out), {"topic": "credit.transactions", "key": tx["customer_id"], "value": tx})
        )
    if card_customers:
        from riskmon.demo.card_fraud import card_fraud_stream

        events, frauds = card_fraud_stream(customers=card_customers, end=end)
        for doc in events:
            value = doc["value"]
            if value.get("transaction_id") in frauds and doc["topic"] == "credit.transactions":
                value["features"] = {"incident": "card_fraud"}
            out.append((value["occurred_at"], len(out), doc))
    out.sort(key=lambda item: (parse_timestamp(item[0], "t"), item[1]))
    return [doc for _, _, doc in out]


def write_sample(path: str | Path, **kwargs: Any) -> int:
    """Write :func:`sample_stream` as JSON lines; returns the number of events."""
    docs = sample_stream(**kwargs)
    with open(path, "wb") as handle:
        for doc in docs:
            handle.write(orjson.dumps(doc) + b"\n")
    return len(docs)
