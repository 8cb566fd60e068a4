"""A customer's outstanding exposure: approved principal minus repayments, until the loan closes.

Re-delivered repayments and closed loans are remembered in bounded
:class:`~riskmon.detectors.recent.RecentIds` sets, so a redelivery after a
rebalance never counts twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from riskmon.detectors.base import finite_value, fmt, integer, positive
from riskmon.detectors.recent import RecentIds
from riskmon.schemas.inputs import Repayment
from riskmon.schemas.outputs import Decision

__all__ = ["ExposureChange", "ExposureTracker"]


@dataclass(frozen=True, slots=True)
class ExposureChange:
    """What one decision or repayment did to a customer's exposure."""

    changed: bool
    loan_id: str
    delta: float
    outstanding: float
    utilisation: float | None
    reason: str


class ExposureTracker:
    """One customer's approved amounts outstanding, and utilisation of a known limit.

    An approval adds the approved amount of a loan (keyed by application id);
    a repayment reduces it by ``amount_paid`` (never below zero); ``paid_off``
    and ``charged_off`` close the loan (repaid, or written off as a loss: it is
    no longer exposure but a realised loss); a ``default`` keeps its
    outstanding amount (the exposure at default) until the loan is charged off.
    Re-delivered events change nothing: a loan is approved once, and
    the ``event_id`` of each repayment is remembered (the last ``dedup_capacity``, or
    the shared ``seen`` and ``closed`` memories when given).

    Parameters
    ----------
    limit
        The customer's credit limit, if known: ``utilisation = outstanding / limit``.
    dedup_capacity
        How many recent repayment event ids and closed loans to remember (when not shared).
    seen, closed
        Shared memories of repayment event ids and closed loans (one for the whole book).

    >>> x = ExposureTracker(limit=10_000)
    >>> x.approve("app-1", 4000.0).utilisation
    0.4
    >>> x.repay("app-1", 1500.0, event_id="ev-1").reason
    'repaid 1500 of app-1: outstanding 2500'
    >>> x.repay("app-1", 1500.0, event_id="ev-1").reason
    'duplicate repayment event ev-1: unchanged'
    >>> x.repay("app-1", None, paid_off=True).outstanding
    0.0
    >>> x.approve("app-2", 900.0).outstanding
    900.0
    >>> x.repay("app-2", None, charged_off=True).reason
    'app-2 charged off (900 written off): outstanding 0'
    """

    def __init__(
        self,
        limit: float | None = None,
        dedup_capacity: int = 256,
        *,
        seen: RecentIds | None = None,
        closed: RecentIds | None = None,
    ) -> None:
        self._limit = None if limit is None else positive(limit, "limit")
        self.dedup_capacity = integer(dedup_capacity, "dedup_capacity", minimum=1)
        self._shared = (seen, closed)
        self._reset()

    def _reset(self) -> None:
        """Forget every loan, and the memories this tracker owns (shared ones are the book's)."""
        seen, closed = self._shared
        self._loans: dict[str, float] = {}
        self._seen = seen if seen is not None else RecentIds(self.dedup_capacity)
        self._closed = closed if closed is not None else RecentIds(self.dedup_capacity)

    def _change(self, changed: bool, loan_id: str, delta: float, reason: str) -> ExposureChange:
        return ExposureChange(changed, loan_id, delta, self.outstanding, self.utilisation, reason)

    def approve(self, loan_id: str, amount: float) -> ExposureChange:
        """Add an approved loan of ``amount``; a loan already known or closed is left alone."""
        amount = finite_value(amount, "amount")
        if amount < 0:
            raise ValueError(f"amount must be >= 0, got {amount!r}")
        if loan_id in self._loans or loan_id in self._closed:
            return self._change(False, loan_id, 0.0, f"{loan_id} already approved: unchanged")
        self._loans[loan_id] = amount
        return self._change(True, loan_id, amount, f"approved {fmt(amount)} for {loan_id}")

    def repay(
        self,
        loan_id: str,
        amount_paid: float | None,
        *,
        paid_off: bool = False,
        charged_off: bool = False,
        event_id: str | None = None,
    ) -> ExposureChange:
        """Reduce a loan by ``amount_paid``, or close it when ``paid_off`` or ``charged_off``."""
        if event_id is not None:
            if event_id in self._seen:
                return self._change(False, loan_id, 0.0, f"duplicate repayment event {event_id}: unchanged")
            self._seen.add(event_id)
        if loan_id not in self._loans:
            why = "closed" if loan_id in self._closed else "unknown (not approved here)"
            return self._change(False, loan_id, 0.0, f"{loan_id} is {why}: unchanged")
        before = self._loans[loan_id]
        if paid_off or charged_off:
            del self._loans[loan_id]
            self._closed.add(loan_id)
            how = "paid off" if paid_off else f"charged off ({fmt(before)} written off)"
            return self._change(before != 0, loan_id, -before, f"{loan_id} {how}: outstanding {fmt(self.outstanding)}")
        paid = 0.0 if amount_paid is None else finite_value(amount_paid, "amount_paid")
        after = max(before - paid, 0.0)
        self._loans[loan_id] = after
        return self._change(
            after != before,
            loan_id,
            after - before,
            f"repaid {fmt(before - after)} of {loan_id}: outstanding {fmt(self.outstanding)}",
        )

    def on_decision(self, decision: Decision) -> ExposureChange | None:
        """Apply a decision: an ``approve`` with an approved amount adds it; others give ``None``."""
        if decision.outcome != "approve" or decision.approved_amount is None:
            return None
        return self.approve(decision.application_id, decision.approved_amount)

    def on_repayment(self, repayment: Repayment) -> ExposureChange:
        """Apply a repayment event (``amount_paid``; ``paid_off`` and ``charged_off`` close the loan)."""
        return self.repay(
            repayment.application_id,
            repayment.amount_paid,
            paid_off=repayment.status == "paid_off",
            charged_off=repayment.status == "charged_off",
            event_id=repayment.event_id,
        )

    def set_limit(self, limit: float | None) -> None:
        """Record the customer's limit (``None``: unknown)."""
        self._limit = None if limit is None else positive(limit, "limit")

    @property
    def limit(self) -> float | None:
        return self._limit

    @property
    def outstanding(self) -> float:
        """Approved amounts not yet repaid, over open loans."""
        return math.fsum(self._loans.values())

    @property
    def utilisation(self) -> float | None:
        """``outstanding / limit``, ``None`` while the limit is unknown."""
        return None if self._limit is None else self.outstanding / self._limit

    @property
    def open_loans(self) -> int:
        return len(self._loans)

    def __repr__(self) -> str:
        return f"ExposureTracker(outstanding={self.outstanding:g}, limit={self._limit}, open_loans={len(self._loans)})"
