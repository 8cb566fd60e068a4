"""What a scanned application's ``intake`` object tells the policy.

Applications read from scanned forms by ``riskmon intake`` carry an
``intake`` object (kept by the contract as an unknown field, in
``Application.extra``) listing the fields read with low confidence or that
could not be read. The derived rule field ``intake_uncertain`` counts them,
so that the default rule ``INTAKE_UNCERTAIN`` sends such an application to a
person; an application that did not come through intake has no value (the
rule does not hold).
"""

from __future__ import annotations

from typing import Any

__all__ = ["intake_uncertain"]


def intake_uncertain(application: Any) -> float | None:
    """The number of uncertain fields of a scanned application; None when it was not scanned.

    >>> from types import SimpleNamespace
    >>> intake_uncertain(SimpleNamespace(extra={"intake": {"uncertain": [{"field": "amount"}]}}))
    1.0
    >>> intake_uncertain(SimpleNamespace(extra={})) is None
    True
    """
    intake = (getattr(application, "extra", None) or {}).get("intake")
    if not isinstance(intake, dict):
        return None
    uncertain = intake.get("uncertain")
    return float(len(uncertain)) if isinstance(uncertain, list) else None
