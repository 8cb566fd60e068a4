"""Portfolio early-warning indicators over event-time windows.

:class:`PortfolioIndicators` watches the automated decisions and the loan
performance (repayment) events of one portfolio (or segment) and exposes named
series, each an :class:`Indicator` you can feed into a
:class:`~riskmon.detectors.threshold.ThresholdDetector`:

============================  ==================================================
``approval_rate``             approve / automated decisions in the decision window
``review_rate``               review (manual-review referral) / automated decisions
``reject_rate``               reject / automated decisions
``decision_latency_ms``       mean ``latency_ms`` of those decisions
``overdue_rate``              loans 1+ days past due / loans observed
``dpd_1_29_rate`` ...         loans in each days-past-due bucket (1-29, 30-59,
``dpd_90_plus_rate``          60-89, 90+) / loans observed
``default_rate``              loans whose latest status is ``default`` / loans observed
============================  ==================================================

*Loans observed* are the loans with a repayment event in the loan window; each
counts once, with its latest event (by event time). A rate is only given when
its sample reaches the minimum (``min_decisions``, ``min_loans``): otherwise the
value is ``None`` and the reason says so, so that three decisions cannot raise
an alert. Manual-stage decisions are not counted (the rates describe the
automated policy); duplicate decisions (same ``decision_id``) are counted once.

Both streams have their own watermark and ``allowed_lateness``; an event
older than ``watermark - lateness`` is dropped and reported (``late`` is True).
Memory: decision windows hold ``decision_window / decision_step`` buckets; the
loan window one entry per loan observed in it.

>>> p = PortfolioIndicators(min_decisions=3, decision_window=600, decision_step=60)
>>> for i, outcome in enumerate(["approve", "approve", "review", "reject"]):
...     _ = p.observe(outcome=outcome, at=100.0 + i, latency_ms=10.0 * (i + 1), decision_id=f"d{i}")
>>> p.value("approval_rate").value, p.value("decision_latency_ms").value
(0.5, 25.0)
>>> p.value("default_rate").reason
'insufficient sample: 0 < 100 loans in 30d'
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cache
from typing import Any

from riskmon.detectors.base import (
    DetectorConfigError,
    epoch,
    finite_value,
    fmt,
    format_duration,
    integer,
    non_negative,
    positive,
)
from riskmon.detectors.recent import RecentIds
from riskmon.detectors.windows import SlidingWindow
from riskmon.schemas.inputs import Repayment
from riskmon.schemas.outputs import Decision
from riskmon.schemas.vocab import DEFAULT_STATUSES

__all__ = ["Indicator", "Observation", "PortfolioIndicators", "DPD_BUCKETS", "INDICATORS", "LOAN_INDICATORS"]

#: Days-past-due buckets: (name, lowest, highest or None).
DPD_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("dpd_1_29", 1, 29),
    ("dpd_30_59", 30, 59),
    ("dpd_60_89", 60, 89),
    ("dpd_90_plus", 90, None),
)
_DECISION_INDICATORS = ("approval_rate", "review_rate", "reject_rate", "decision_latency_ms")
_LOAN_INDICATORS = ("overdue_rate", *(f"{name}_rate" for name, _, _ in DPD_BUCKETS), "default_rate")
#: Every indicator name, decisions first.
INDICATORS = _DECISION_INDICATORS + _LOAN_INDICATORS
#: The indicators over the loan window (the rest are over the decision window).
LOAN_INDICATORS = _LOAN_INDICATORS
_OUTCOMES = ("approve", "review", "reject")
_RATE_OF = {"approval_rate": "approve", "review_rate": "review", "reject_rate": "reject"}


@dataclass(frozen=True, slots=True)
class Indicator:
    """One named series' current value; ``value`` is ``None`` below the minimum sample."""

    name: str
    value: float | None
    n: int
    min_samples: int
    window: str
    at: float | None
    unit: str  # what ``n`` counts: "decisions" or "loans"

    def to_dict(self) -> dict[str, Any]:
        """What the console shows of it: ``{value, n, window, reason}``."""
        return {"value": self.value, "n": self.n, "window": self.window, "reason": self.reason}

    @property
    def reason(self) -> str:
        """Why the value is what it is; written only when read (every event computes every indicator)."""
        if self.value is None:
            return f"insufficient sample: {self.n} < {self.min_samples} {self.unit} in {self.window}"
        return f"{self.name} {fmt(self.value)} over {self.n} {self.unit} in {self.window}"


@dataclass(frozen=True, slots=True)
class Observation:
    """Whether an event was counted, and why (``late``: dropped as older than watermark - lateness)."""

    accepted: bool
    late: bool
    reason: str


def _bucket(dpd: int) -> str | None:
    for name, lo, hi in DPD_BUCKETS:
        if dpd >= lo and (hi is None or dpd <= hi):
            return name
    return None


@cache  # a handful of argument values, whatever the input: one shared tuple per loan state
def _categories(overdue: bool, bucket: str | None, default: bool) -> tuple[str, ...]:
    """The loan counts a loan in this state adds to."""
    return (*(("overdue",) if overdue else ()), *((bucket,) if bucket else ()), *(("default",) if default else ()))


class PortfolioIndicators:
    """Approval, review and reject rates, decision latency, overdue and default rates.

    Parameters
    ----------
    decision_window, decision_step
        Sliding window of decisions, seconds (default 1 hour in 1-minute steps).
    decision_lateness
        Allowed lateness of decisions, seconds (at most window - step).
    loan_window
        Loans with a repayment event within this many seconds are observed (default 30 days).
    loan_lateness
        Allowed lateness of repayment events, seconds.
    min_decisions, min_loans
        Minimum sample for decision and loan indicators.
    dedup_capacity
        How many recent decision ids to remember for duplicate suppression.
    """

    def __init__(
        self,
        *,
        decision_window: float = 3600.0,
        decision_step: float = 60.0,
        decision_lateness: float = 0.0,
        loan_window: float = 30 * 86400.0,
        loan_lateness: float = 86400.0,
        min_decisions: int = 50,
        min_loans: int = 100,
        dedup_capacity: int = 10_000,
    ) -> None:
        try:  # validated by the window itself, reported under this class's parameter names
            SlidingWindow(decision_window, decision_step, decision_lateness)
        except DetectorConfigError as err:
            names = {"size": "decision_window", "step": "decision_step", "allowed_lateness": "decision_lateness"}
            raise DetectorConfigError(names.get(err.field, err.field), err.message) from None
        self.decision_window = float(decision_window)
        self.decision_step = float(decision_step)
        self.decision_lateness = float(decision_lateness)
        self.loan_window = positive(loan_window, "loan_window")
        self.loan_lateness = non_negative(loan_lateness, "loan_lateness")
        self.min_decisions = integer(min_decisions, "min_decisions", minimum=1)
        self.min_loans = integer(min_loans, "min_loans", minimum=1)
        self.dedup_capacity = integer(dedup_capacity, "dedup_capacity", minimum=1)
        self._decision_label = format_duration(self.decision_window)
        self._loan_label = format_duration(self.loan_window)
        self._reset()

    def _reset(self) -> None:
        self._decisions = {
            o: SlidingWindow(self.decision_window, self.decision_step, self.decision_lateness) for o in _OUTCOMES
        }
        self._seen = RecentIds(self.dedup_capacity)
        # loan -> (t, categories) of its latest event. The categories tuple is
        # shared by every loan in the same state (see _categories), so a loan
        # costs its key, one small tuple and its time: the window holds a
        # month of loans, twice per worker (the watch and the console).
        self._loans: dict[str, tuple[float, tuple[str, ...]]] = {}
        # One (t, loan) per loan, t at most the loan's latest event: a loan's entry
        # is moved forward when it comes up for eviction, not on every event, so
        # the heap holds one entry per loan however many events each one has.
        self._heap: list[tuple[float, str]] = []
        self._loan_counts: dict[str, int] = dict.fromkeys(("overdue", "default", *(b for b, _, _ in DPD_BUCKETS)), 0)
        self._loan_wm: float | None = None
        self._loans_dropped = 0

    # -- decisions -------------------------------------------------------------

    def observe(self, *, outcome: str, at: float, latency_ms: float, decision_id: str | None = None) -> Observation:
        """Count one automated decision with ``outcome`` at event time ``at``."""
        if outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(_OUTCOMES)}, got {outcome!r}")
        latency = finite_value(latency_ms, "latency_ms")
        if decision_id is not None and decision_id in self._seen:
            return Observation(False, False, f"duplicate decision {decision_id}: counted once")
        window = self._decisions[outcome]
        u = window.update(at, latency)
        if not u.accepted:
            return Observation(False, True, u.reason)
        if decision_id is not None:
            self._seen.add(decision_id)
        watermark = window.watermark
        for other in self._decisions.values():
            if other is not window and watermark is not None:
                other.advance(watermark)
        return Observation(True, u.late, f"{outcome} {u.reason}")

    def on_decision(self, decision: Decision) -> Observation:
        """Count a :class:`Decision` (automated stage only)."""
        if decision.stage != "automated":
            return Observation(False, False, f"ignored: {decision.stage} stage (rates count automated decisions)")
        return self.observe(
            outcome=decision.outcome,
            at=epoch(decision.decided_at),
            latency_ms=decision.latency_ms,
            decision_id=decision.decision_id,
        )

    # -- loans -----------------------------------------------------------------

    def observe_loan(self, *, loan_id: str, at: float, days_past_due: int, status: str) -> Observation:
        """Record a loan's performance event (its days past due and status) at event time ``at``."""
        at = finite_value(at, "at")
        if isinstance(days_past_due, bool) or not isinstance(days_past_due, int) or days_past_due < 0:
            raise ValueError(f"days_past_due must be an integer >= 0, got {days_past_due!r}")
        wm = self._loan_wm
        if wm is not None and at < wm - self.loan_lateness:
            self._loans_dropped += 1
            return Observation(
                False,
                True,
                f"late, dropped: older than watermark - lateness ({fmt(at)} < {fmt(wm)} - {fmt(self.loan_lateness)})",
            )
        late = wm is not None and at < wm
        old = self._loans.get(loan_id)
        if old is not None and at < old[0]:
            return Observation(True, late, f"{loan_id}: older than its latest event ({fmt(old[0])}), state kept")
        if old is not None:
            for cat in old[1]:
                self._loan_counts[cat] -= 1
        cats = _categories(days_past_due >= 1, _bucket(days_past_due), status in DEFAULT_STATUSES)
        self._loans[loan_id] = (at, cats)
        for cat in cats:
            self._loan_counts[cat] += 1
        if old is None:
            heapq.heappush(self._heap, (at, loan_id))
        if wm is None or at > wm:
            self._loan_wm = at
        self._evict_loans()
        return Observation(True, late, f"{loan_id}: {status}, {days_past_due} days past due")

    def on_repayment(self, repayment: Repayment) -> Observation:
        """Record a :class:`Repayment` event."""
        return self.observe_loan(
            loan_id=repayment.application_id,
            at=epoch(repayment.occurred_at),
            days_past_due=repayment.days_past_due,
            status=repayment.status,
        )

    def advance(self, decisions_to: float | None = None, loans_to: float | None = None) -> None:
        """Move the watermarks forward (for example from a partition-wide clock) and evict."""
        if decisions_to is not None:
            for w in self._decisions.values():
                w.advance(decisions_to)
        if loans_to is not None:
            loans_to = finite_value(loans_to, "loans_to")
            if self._loan_wm is None or loans_to > self._loan_wm:
                self._loan_wm = loans_to
            self._evict_loans()

    def _evict_loans(self) -> None:
        assert self._loan_wm is not None
        horizon = self._loan_wm - self.loan_window
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            _, loan = heap[0]
            state = self._loans[loan]
            if state[0] > horizon:  # seen since its entry was pushed: move the entry to its latest event
                heapq.heapreplace(heap, (state[0], loan))
                continue
            heapq.heappop(heap)
            del self._loans[loan]
            for cat in state[1]:
                self._loan_counts[cat] -= 1

    # -- values -----------------------------------------------------------------

    def value(self, name: str) -> Indicator:
        """The indicator ``name`` (one of :data:`INDICATORS`)."""
        if name in _DECISION_INDICATORS:
            return self._decision_indicator(name, self._decision_counts())
        if name in _LOAN_INDICATORS:
            return self._loan_indicator(name)
        raise KeyError(f"unknown indicator {name!r}: expected one of {', '.join(INDICATORS)}")

    def values(self) -> dict[str, Indicator]:
        """Every indicator, by name (the decision windows are read once for all of them)."""
        counts = self._decision_counts()
        out = {name: self._decision_indicator(name, counts) for name in _DECISION_INDICATORS}
        for name in _LOAN_INDICATORS:
            out[name] = self._loan_indicator(name)
        return out

    def _decision_counts(self) -> tuple[dict[str, int], int, float]:
        """Decisions per outcome in the window, their total, and their latencies' sum."""
        currents = [(o, w.current) for o, w in self._decisions.items()]
        counts = {o: (c.count if c is not None else 0) for o, c in currents}
        return counts, sum(counts.values()), sum(c.sum for _, c in currents if c is not None)

    def _decision_indicator(self, name: str, counts: tuple[dict[str, int], int, float]) -> Indicator:
        by_outcome, n, latency_sum = counts
        at = self._decisions["approve"].watermark
        if n < self.min_decisions:
            value = None
        elif name == "decision_latency_ms":
            value = latency_sum / n
        else:
            value = by_outcome[_RATE_OF[name]] / n
        return Indicator(name, value, n, self.min_decisions, self._decision_label, at, "decisions")

    def _loan_indicator(self, name: str) -> Indicator:
        n = len(self._loans)
        value = self._loan_counts[name.removesuffix("_rate")] / n if n >= self.min_loans else None
        return Indicator(name, value, n, self.min_loans, self._loan_label, self._loan_wm, "loans")

    @property
    def loans_observed(self) -> int:
        return len(self._loans)

    @property
    def dropped(self) -> int:
        """Events dropped as too late so far (decisions and loan events)."""
        return sum(w.dropped for w in self._decisions.values()) + self._loans_dropped

    def __repr__(self) -> str:
        return (
            f"PortfolioIndicators(decision_window={format_duration(self.decision_window)}, "
            f"loan_window={format_duration(self.loan_window)}, loans={len(self._loans)})"
        )
