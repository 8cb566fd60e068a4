"""What ``riskmon model status`` shows of the fraud models: roles, labels learned, prequential AUC.

Read from what the fraud learner publishes (``<ns>:fraud:model``,
:mod:`riskmon.fraud.store`): the champion and challenger (kind, learning
rate, labels learned) and the learner's evaluation (labels and frauds judged
since the last promotion, each role's prequential ROC AUC on the scores it
gave before learning each label, the champion's on the scores it gave when
the transactions arrived, ``at_arrival``, promotions so far). Pure: bytes in, JSON-ready
data out.

>>> fraud_status(None)
{'published': False}
"""

from __future__ import annotations

from typing import Any

from riskmon.fraud.learner import published_models
from riskmon.fraud.model import FraudModel

__all__ = ["fraud_status"]


def _role(model: FraudModel) -> dict[str, Any]:
    return {"kind": model.kind, "learning_rate": model.learning_rate, "labels": model.n_learned}


def fraud_status(data: bytes | None) -> dict[str, Any]:
    """The fraud models' status from the published bytes (``{"published": False}`` when there are none)."""
    champion, challenger, status = published_models(data)
    if champion is None or challenger is None:
        return {"published": False}
    auc = status.get("auc", {}) if isinstance(status.get("auc"), dict) else {}
    return {
        "published": True,
        "roles": {"champion": _role(champion), "challenger": _role(challenger)},
        "evaluation": {
            "labels": status.get("labels", 0),
            "frauds": status.get("frauds", 0),
            "auc": {role: auc.get(role) for role in ("champion", "challenger", "at_arrival")},
        },
        "promotions": status.get("promotions", 0),
    }
