"""The transaction path's step, shared by the live handler and the backtest: no I/O, no clock.

Each transaction goes, in order, through its customer's
:class:`~riskmon.transactions.watch.CustomerWatch` (velocity and cash-out
over event-time windows; its features against the customer's behaviour) and then the worker's
:class:`~riskmon.transactions.watch.TransactionAnomalyWatch`, at its own
``occurred_at``. The watches are the state: the caller loads them (from
Redis live, from memory in the backtest), passes them in, and keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from riskmon.detectors import epoch, transaction_features
from riskmon.schemas import Alert, Transaction
from riskmon.transactions.watch import CustomerWatch, TransactionAnomalyWatch

__all__ = ["watch_transactions"]


def watch_transactions(
    watches: Mapping[str, CustomerWatch],
    anomaly: TransactionAnomalyWatch,
    transactions: Sequence[Transaction],
    *,
    config_version: str,
    scored: dict[str, dict[str, float]] | None = None,
) -> tuple[list[Alert], int]:
    """The alert candidates of ``transactions`` and how many came too late for their customer's window.

    ``watches`` must hold a watch for every transaction's customer; they are
    updated in place (windows and behaviour). A late transaction is still
    scored for anomalies. When ``scored`` is given, each transaction's
    behavioural features (what it was scored with) are put in it under its
    ``transaction_id``: the feature snapshot a late fraud label joins.
    """
    alerts: list[Alert] = []
    late = 0
    for tx in transactions:
        at = epoch(tx.occurred_at)
        watch = watches[tx.customer_id]
        before = watch.late_dropped
        behaviour = watch.behaviour_features(tx, at)
        alerts += watch.observe(tx, at, config_version=config_version)
        late += watch.late_dropped - before
        x = transaction_features(tx)
        x.update(behaviour)
        alerts += anomaly.observe(tx, at, config_version=config_version, behaviour=behaviour, features=x)
        if scored is not None:
            scored[tx.transaction_id] = x
    return alerts, late
