"""Customer risk profiles in memory: what the live writers keep in Redis, for the backtest and shadow mode.

Live, each path updates its part of a customer's profile with a Lua script in
its batch's round trip (atomic in Redis). Offline there is no Redis, so this
book applies the same updates to the same fields in memory, field for field
as the scripts write them, and reads profiles with the same
:func:`~riskmon.profile.profile_from_redis`. A configuration's customer rules
and holds can then be compared in the backtest before they go live;
``tests/integration/test_profile_book_equals_redis.py`` runs the scripts and
this book on the same events and compares the hashes.

>>> from datetime import datetime, timezone
>>> from riskmon.schemas import Repayment
>>> book = ProfileBook(hold_window_seconds=86_400)
>>> at = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> book.on_repayment(Repayment("e-1", "loan-1", "c-1", at, "late", 45))
>>> book.on_transactions("c-1", count=3, cash=250.0)
>>> p = book.profile("c-1", exposure=1_000.0)
>>> p.current_dpd, p.tx_count_24h, p.exposure
(45, 3, 1000.0)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from riskmon.profile.fields import (
    ALERTS,
    APPROVALS,
    CASH_24H,
    DEFAULT_PREFIX,
    DPD_PREFIX,
    TX_COUNT_24H,
    WORST_DPD,
)
from riskmon.profile.profile import CustomerProfile, profile_from_redis
from riskmon.schemas import Alert, Repayment, parse_timestamp
from riskmon.schemas.vocab import CLOSING_STATUSES, DEFAULT_STATUSES

__all__ = ["MAX_APPROVALS", "ProfileBook", "approval_entry", "latest_decision"]

#: Recent approvals kept per customer (the live script keeps as many).
MAX_APPROVALS = 20


def latest_decision(d: Mapping[str, Any]) -> dict[str, Any]:
    """A customer's latest-decision summary, as the application path keeps it (no personal data)."""
    return {
        "decision_id": d["decision_id"],
        "application_id": d["application_id"],
        "outcome": d["outcome"],
        "score": d["score"],
        "grade": d["grade"],
        "decided_at": d["decided_at"],
        "policy_version": d["policy_version"],
    }


def approval_entry(d: Mapping[str, Any], applicant_ref: str | None) -> dict[str, Any] | None:
    """An approval's entry in the customer's recent approvals (None for any other outcome).

    The applicant's pseudonym (never the applicant) lets a hold's audit record name the same person.
    """
    if d["outcome"] != "approve":
        return None
    return {
        "decision_id": d["decision_id"],
        "application_id": d["application_id"],
        "at": parse_timestamp(d["decided_at"], "decided_at").timestamp(),
        "approved_amount": d.get("approved_amount"),
        "currency": d.get("currency"),
        "score": d["score"],
        "grade": d["grade"],
        "model_version": d["model_version"],
        "applicant_ref": applicant_ref,
    }


class ProfileBook:
    """Profiles of up to ``max_customers`` customers (least recently touched forgotten first; None: all)."""

    def __init__(self, *, hold_window_seconds: float, max_customers: int | None = None) -> None:
        self.hold_window = hold_window_seconds
        self.max_customers = max_customers
        self._fields: OrderedDict[str, dict[str, bytes]] = OrderedDict()
        self._last: dict[str, bytes] = {}  # customer -> latest-decision summary (``<ns>:profile:<customer>`` live)

    def _of(self, customer: str) -> dict[str, bytes]:
        fields = self._fields.get(customer)
        if fields is None:
            fields = self._fields[customer] = {}
            if self.max_customers is not None and len(self._fields) > self.max_customers:
                forgotten, _ = self._fields.popitem(last=False)
                self._last.pop(forgotten, None)
        else:
            self._fields.move_to_end(customer)
        return fields

    def on_transactions(self, customer: str, *, count: int, cash: float) -> None:
        """The customer's last 24 h after a batch of its transactions (the transaction path's part)."""
        fields = self._of(customer)
        fields[TX_COUNT_24H] = str(count).encode()
        fields[CASH_24H] = repr(round(cash, 2)).encode()

    def on_repayment(self, repayment: Repayment) -> None:
        """One repayment's effect on its customer's loans (the repayment path's part)."""
        fields = self._of(repayment.customer_id)
        loan, dpd = repayment.application_id, repayment.days_past_due
        if repayment.status in CLOSING_STATUSES:
            fields.pop(DPD_PREFIX + loan, None)
        else:
            fields[DPD_PREFIX + loan] = str(dpd).encode()
        if dpd > int(fields.get(WORST_DPD, b"0")):
            fields[WORST_DPD] = str(dpd).encode()
        if repayment.status in DEFAULT_STATUSES:
            fields.setdefault(DEFAULT_PREFIX + loan, b"1")

    def on_alerts(self, published: Sequence[Alert]) -> None:
        """Published alerts' effect on their customers' open alerts (the alert manager's part)."""
        for alert in published:
            if alert.subject.kind != "customer":
                continue
            fields = self._of(alert.subject.id)
            open_alerts = orjson.loads(fields.get(ALERTS, b"{}"))
            if alert.status == "firing":
                open_alerts[alert.detector] = alert.level
            else:
                open_alerts.pop(alert.detector, None)
            if open_alerts:
                fields[ALERTS] = orjson.dumps(open_alerts)
            else:
                fields.pop(ALERTS, None)

    def on_decision(self, decision: Mapping[str, Any], applicant_ref: str | None = None) -> None:
        """A decision's effect on its customer: the last decision, and for an approval the recent approvals."""
        fields = self._of(decision["customer_id"])
        self._last[decision["customer_id"]] = orjson.dumps(latest_decision(decision))
        entry = approval_entry(decision, applicant_ref)
        if entry is None or self.hold_window <= 0:
            return
        kept = [
            a for a in orjson.loads(fields.get(APPROVALS, b"[]")) if float(a["at"]) >= entry["at"] - self.hold_window
        ]
        fields[APPROVALS] = orjson.dumps([*kept, entry][-MAX_APPROVALS:])

    def approvals(self, customer: str) -> list[dict[str, Any]]:
        """The customer's recent approvals, for holds."""
        fields = self._fields.get(customer, {})
        return list(orjson.loads(fields.get(APPROVALS, b"[]")))

    def fields(self, customer: str) -> dict[str, bytes]:
        """The customer's profile hash as the live scripts would have written it."""
        return dict(self._fields.get(customer, {}))

    def profile(self, customer: str, *, exposure: float | None) -> CustomerProfile:
        """The customer's profile as the application path would read it (no profile writer runs behind offline)."""
        exposure_raw = None if exposure is None else repr(exposure).encode()
        return profile_from_redis(
            self._fields.get(customer), exposure=exposure_raw, last_decision=self._last.get(customer)
        )
