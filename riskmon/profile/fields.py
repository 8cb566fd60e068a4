"""Where the customer risk profile lives in Redis: keys and field names shared by its writers and readers.

One hash per customer, ``<ns>:risk:<customer_id>``:

==================  =====================================================  ==================
field               value                                                  written by
==================  =====================================================  ==================
``tx_count_24h``    transactions in the last 24 h of event time            transactions
``cash_24h``        cash withdrawn in the last 24 h                        transactions
``dpd:<loan>``      an open loan's current days past due                   repayments
``worst_dpd``       the worst days past due seen on any loan               repayments
``default:<loan>``  ``1`` for each loan that defaulted                     repayments
``alerts``          JSON ``{detector: level}`` of open customer alerts     alert manager
``approvals``       JSON list of recent approvals (for holds)              applications
==================  =====================================================  ==================

The customer's last decision is the application path's latest-decision
summary, ``<ns>:profile:<customer_id>``, which approval services read too:
it is read beside the hash, never copied into it.

And one hash for the whole deployment, ``<ns>:risk-clock``: per part, JSON
``[delay_seconds, written_at]``, the delay from the oldest event of the
part's last batch reaching the broker to its effect on the profile. A rule
can refuse to approve on a profile whose writers run behind.
"""

from __future__ import annotations

from riskmon.keyspace import entity_key

__all__ = [
    "ALERTS",
    "APPROVALS",
    "CASH_24H",
    "DEFAULT_PREFIX",
    "DPD_PREFIX",
    "PARTS",
    "TX_COUNT_24H",
    "WORST_DPD",
    "clock_key",
    "last_decision_key",
    "risk_key",
]

TX_COUNT_24H = "tx_count_24h"
CASH_24H = "cash_24h"
DPD_PREFIX = "dpd:"
WORST_DPD = "worst_dpd"
DEFAULT_PREFIX = "default:"
ALERTS = "alerts"
APPROVALS = "approvals"

#: The profile's writers, as named in ``<ns>:risk-clock`` and the delay metric.
PARTS = ("transactions", "repayments", "alerts", "decisions")


def risk_key(namespace: str, customer_id: str) -> str:
    """``<ns>:risk:<customer_id>``.

    >>> risk_key("riskmon", "c-1")
    'riskmon:risk:c-1'

    On a Redis Cluster the customer id is the key's hash tag (:mod:`riskmon.keyspace`).
    """
    return entity_key(namespace, "risk", customer_id)


def last_decision_key(namespace: str, customer_id: str) -> str:
    """``<ns>:profile:<customer_id>``: the latest decision's summary, kept for approval services.

    >>> last_decision_key("riskmon", "c-1")
    'riskmon:profile:c-1'
    """
    return entity_key(namespace, "profile", customer_id)


def clock_key(namespace: str) -> str:
    """``<ns>:risk-clock``: each part's latest delay (outside ``<ns>:risk:``, where any customer id may follow)."""
    return f"{namespace}:risk-clock"
