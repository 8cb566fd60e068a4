"""Deterministic decision ids: reprocessing the same application reproduces the same id."""

from __future__ import annotations

import hashlib

__all__ = ["decision_id_for"]


def decision_id_for(application_id: str, stage: str = "automated") -> str:
    """A decision id that reprocessing the same application reproduces.

    ``stage`` keeps an application's automated decision, manual decision and
    hold apart.

    >>> decision_id_for("app-1") == decision_id_for("app-1")
    True
    >>> decision_id_for("app-1")
    'dec-172c63c63c758b2b6e7489ffbcf08da6'
    """
    digest = hashlib.sha256(f"{stage}:{application_id}".encode()).hexdigest()
    return f"dec-{digest[:32]}"
