"""A customer's risk profile as the application path reads it: pure, from the Redis hash's fields.

Why a value object: the policy's customer rules, the models' ``behaviour.*``
inputs and the audit record must all see the same numbers, read once per
decision. A field that cannot be read (another format, a bad JSON value) is
left at its empty value rather than failing a decision: the profile is an
accelerator of judgement, and an unreadable part is the same as an unseen one.

>>> p = profile_from_redis({b"tx_count_24h": b"7", b"cash_24h": b"900.0", b"dpd:l-1": b"45",
...                         b"worst_dpd": b"60", b"default:l-0": b"1", b"alerts": b'{"cash_24h": "critical"}'},
...                        exposure=b"12000.0")
>>> p.current_dpd, p.worst_dpd, p.defaults, p.worst_alert, p.exposure
(45, 60, 1, 'critical', 12000.0)
>>> p.behaviour_inputs()["behaviour.cash_24h"]
900.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from riskmon.schemas.vocab import LEVELS

__all__ = ["EMPTY", "CustomerProfile", "clock_delays", "profile_from_redis"]


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What the monitor knows of one customer right now, across every stream.

    ``delays`` is deployment-wide: per writer part, the delay (seconds) from
    its last batch's oldest event reaching the broker to its effect on the
    profile.
    """

    open_alerts: Mapping[str, str] = field(default_factory=dict)  # detector -> level, alerts firing now
    exposure: float = 0.0  # outstanding principal of approved loans not yet closed
    current_dpd: int = 0  # the worst days past due across the customer's open loans
    worst_dpd: int = 0  # the worst days past due ever seen on any of the customer's loans
    defaults: int = 0  # loans that defaulted
    tx_count_24h: int = 0  # transactions in the last 24 h of event time
    cash_24h: float = 0.0  # cash withdrawn in the last 24 h
    last_decision: Mapping[str, Any] | None = None
    approvals: tuple[Mapping[str, Any], ...] = ()  # recent approvals: decision_id, application_id, decided_at
    delays: Mapping[str, float] = field(default_factory=dict)

    @property
    def worst_alert(self) -> str | None:
        """The most severe level among the open alerts, or None."""
        levels = [LEVELS.index(level) for level in self.open_alerts.values() if level in LEVELS]
        return LEVELS[max(levels)] if levels else None

    def behaviour_inputs(self) -> dict[str, float]:
        """The profile as model inputs, under ``behaviour.``: the models learn what each is worth."""
        worst = self.worst_alert
        return {
            "behaviour.open_alerts": float(len(self.open_alerts)),
            "behaviour.alert_level": float(LEVELS.index(worst) + 1) if worst else 0.0,
            "behaviour.exposure": self.exposure,
            "behaviour.current_dpd": float(self.current_dpd),
            "behaviour.worst_dpd": float(self.worst_dpd),
            "behaviour.defaults": float(self.defaults),
            "behaviour.tx_count_24h": float(self.tx_count_24h),
            "behaviour.cash_24h": self.cash_24h,
        }

    def to_record(self) -> dict[str, Any]:
        """The profile as the audit trail keeps it: the numbers the decision used, no personal data."""
        return {
            "open_alerts": dict(sorted(self.open_alerts.items())),
            "exposure": self.exposure,
            "current_dpd": self.current_dpd,
            "worst_dpd": self.worst_dpd,
            "defaults": self.defaults,
            "tx_count_24h": self.tx_count_24h,
            "cash_24h": self.cash_24h,
            "last_decision_id": self.last_decision.get("decision_id") if self.last_decision else None,
            "delays": dict(sorted(self.delays.items())),
        }


#: The profile of a customer the monitor has seen nothing of.
EMPTY = CustomerProfile()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _number(value: Any) -> float | None:
    try:
        number = float(_text(value))
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    return number if math.isfinite(number) else None


def _json(value: Any) -> Any:
    try:
        return orjson.loads(value)
    except (TypeError, orjson.JSONDecodeError):
        return None


def clock_delays(clock: Mapping[Any, Any] | None) -> dict[str, float]:
    """``HGETALL <ns>:risk-clock`` as part -> delay (seconds); unreadable entries are left out.

    >>> clock_delays({b"transactions": b"[0.25,1800000000.0]", b"alerts": b"?"})
    {'transactions': 0.25}
    """
    delays: dict[str, float] = {}
    for raw_part, raw_value in (clock or {}).items():
        found = _json(raw_value)
        if isinstance(found, list) and found and (delay := _number(str(found[0]))) is not None:
            delays[_text(raw_part)] = delay
    return delays


def profile_from_redis(
    fields: Mapping[Any, Any] | None,
    *,
    exposure: Any = None,
    clock: Mapping[Any, Any] | None = None,
    delays: Mapping[str, float] | None = None,
    last_decision: Any = None,
) -> CustomerProfile:
    """Read ``HGETALL <ns>:risk:<customer>``, the customer's exposure, ``HGETALL <ns>:risk-clock``
    (or its ``delays``, read once for a batch with :func:`clock_delays`) and ``GET
    <ns>:profile:<customer>``, the latest decision's summary."""
    if delays is None:
        delays = clock_delays(clock)
    if not fields and exposure is None and not delays and last_decision is None:
        return EMPTY  # most customers of a stream are new: no object to build
    fields = fields or {}
    current_dpd = worst_dpd = defaults = tx_count = 0
    cash = 0.0
    alerts: dict[str, str] = {}
    approvals: tuple[Mapping[str, Any], ...] = ()
    for raw_name, raw_value in fields.items():
        name = _text(raw_name)
        if name.startswith(DPD_PREFIX):
            current_dpd = max(current_dpd, int(_number(raw_value) or 0))
        elif name.startswith(DEFAULT_PREFIX):
            defaults += 1
        elif name == WORST_DPD:
            worst_dpd = int(_number(raw_value) or 0)
        elif name == TX_COUNT_24H:
            tx_count = int(_number(raw_value) or 0)
        elif name == CASH_24H:
            cash = _number(raw_value) or 0.0
        elif name == ALERTS:
            found = _json(raw_value)
            if isinstance(found, dict):
                alerts = {str(k): str(v) for k, v in found.items() if v in LEVELS}
        elif name == APPROVALS:
            found = _json(raw_value)
            if isinstance(found, list):
                approvals = tuple(a for a in found if isinstance(a, dict))
    summary = _json(last_decision) if last_decision is not None else None
    return CustomerProfile(
        open_alerts=alerts,
        exposure=max(0.0, _number(exposure) or 0.0) if exposure is not None else 0.0,
        current_dpd=current_dpd,
        worst_dpd=max(worst_dpd, current_dpd),
        defaults=defaults,
        tx_count_24h=tx_count,
        cash_24h=cash,
        last_decision=summary if isinstance(summary, dict) else None,
        approvals=approvals,
        delays=dict(delays),
    )
