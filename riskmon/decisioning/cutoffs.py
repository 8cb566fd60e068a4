"""Cut-off strategy: how many to approve for what bad rate, and which cut-offs meet a target.

A risk team sets PD cut-offs from a strategy curve: approving everyone below
a cut-off gives an approval rate and a bad rate among those approvals; the
lower the cut-off, the fewer approvals and the fewer bads. :func:`strategy_curve`
draws that curve from PDs and known outcomes; :func:`suggest_cutoffs` picks the
approve and reject cut-offs that meet both a maximum bad rate among
approvals and a maximum manual-review rate, approving as many as it can
and then rejecting as few as it can.

Hard rules still force their outcomes: ``forced`` gives, per application,
0 (no rule), 1 (a rule forces review) or 2 (a rule forces reject), and the
rates count them as the policy would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CurvePoint", "Suggestion", "strategy_curve", "suggest_cutoffs"]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Approving every PD below ``cutoff``: the share approved and the bad rate among them."""

    cutoff: float
    approval_rate: float
    bad_rate_approved: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Proposed cut-offs and the rates they give on the data; ``feasible`` False says why not in ``note``."""

    feasible: bool
    approve_below: float
    reject_at_or_above: float
    approval_rate: float
    review_rate: float
    reject_rate: float
    bad_rate_approved: float
    bad_rate_reviewed: float
    bad_rate_rejected: float
    n: int
    note: str = ""


def _candidates(pds: np.ndarray, points: int) -> np.ndarray:
    """Cut-offs to try: PD quantiles, and one above the highest PD (approve all)."""
    qs = np.unique(np.quantile(pds, np.linspace(0.0, 1.0, points + 1)))
    return np.append(qs, np.nextafter(pds.max(), np.inf))


def strategy_curve(pds: Sequence[float], bad: Sequence[bool], *, points: int = 50) -> list[CurvePoint]:
    """The approval rate against the bad rate among approvals, one point per PD quantile.

    >>> curve = strategy_curve([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], points=4)
    >>> [(p.approval_rate, round(p.bad_rate_approved, 2)) for p in curve]
    [(0.25, 0.0), (0.5, 0.0), (0.75, 0.33), (1.0, 0.5)]
    """
    p, y = np.asarray(pds, dtype=float), np.asarray(bad, dtype=float)
    if not len(p):
        return []
    out: list[CurvePoint] = []
    for cut in _candidates(p, points):
        approved = p < cut
        n = int(approved.sum())
        if n and (not out or n / len(p) > out[-1].approval_rate):
            out.append(CurvePoint(float(cut), n / len(p), float(y[approved].sum() / n)))
    return out


def _rate(mask: np.ndarray, y: np.ndarray) -> float:
    n = int(mask.sum())
    return float(y[mask].sum() / n) if n else 0.0


def _suggestion(
    p: np.ndarray, y: np.ndarray, forced: np.ndarray, a: float, r: float, feasible: bool, note: str = ""
) -> Suggestion:
    approved = (p < a) & (forced == 0)
    rejected = ((p >= r) | (forced == 2)) & ~approved
    review = ~approved & ~rejected
    n = len(p)
    return Suggestion(
        feasible=feasible,
        approve_below=round(float(a), 6),
        reject_at_or_above=round(float(r), 6),
        approval_rate=float(approved.sum() / n),
        review_rate=float(review.sum() / n),
        reject_rate=float(rejected.sum() / n),
        bad_rate_approved=_rate(approved, y),
        bad_rate_reviewed=_rate(review, y),
        bad_rate_rejected=_rate(rejected, y),
        n=n,
        note=note,
    )


def suggest_cutoffs(
    pds: Sequence[float],
    bad: Sequence[bool],
    *,
    max_bad_rate: float,
    max_review_rate: float,
    forced: Sequence[int] | None = None,
    points: int = 400,
) -> Suggestion:
    """Approve and reject cut-offs meeting both targets, with the rates they give on this data.

    The approve cut-off is the highest one whose bad rate among approvals is
    at most ``max_bad_rate``; the reject cut-off is then the highest one
    that keeps the review rate at most ``max_review_rate``. When no cut-off
    meets a target, the closest one is returned with ``feasible`` False.
    """
    p, y = np.asarray(pds, dtype=float), np.asarray(bad, dtype=float)
    if not len(p):
        raise ValueError("no scored application with an outcome")
    f = np.zeros(len(p), dtype=int) if forced is None else np.asarray(forced, dtype=int)
    cuts = _candidates(p, points)
    approve: float | None = None
    for cut in cuts:  # ascending: keep the highest cut-off that meets the bad rate
        approved = (p < cut) & (f == 0)
        if approved.any() and _rate(approved, y) <= max_bad_rate:
            approve = float(cut)
    if approve is None:
        lowest = float(cuts[0])
        return _suggestion(
            p, y, f, lowest, lowest, False, f"no cut-off keeps the bad rate among approvals at or under {max_bad_rate}"
        )
    reject: float | None = None
    for cut in cuts[cuts >= approve]:
        s = _suggestion(p, y, f, approve, float(cut), True)
        if s.review_rate <= max_review_rate:
            reject = float(cut)
    if reject is None:
        s = _suggestion(p, y, f, approve, approve, False)
        return _suggestion(
            p,
            y,
            f,
            approve,
            approve,
            False,
            f"even rejecting all it does not approve, {s.review_rate:.1%} go to review (hard rules): "
            f"above {max_review_rate:.1%}",
        )
    return _suggestion(p, y, f, approve, reject, True)
