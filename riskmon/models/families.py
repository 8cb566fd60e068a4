"""Which model a configuration names, and which one a snapshot holds.

Three families: the online logistic models (:mod:`riskmon.models.online`,
binned with ``bins`` in ``params``: :mod:`riskmon.models.binned`), the
LightGBM model refitted on a sliding window (``family: lightgbm``,
:mod:`riskmon.models.gbm`) and the mean of two such models (``family:
blend``, :mod:`riskmon.models.blend`). The learner, the backtest and the scorers build
and restore models through here, so a new family is added in one place.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

from riskmon.models.binned import make_online_model
from riskmon.models.blend import FAMILY as BLEND_FAMILY
from riskmon.models.blend import BlendModel
from riskmon.models.gbm import FAMILY as GBM_FAMILY
from riskmon.models.gbm import GbmCreditModel
from riskmon.models.online import OnlineCreditModel

__all__ = ["Model", "make_model", "restore_model"]

#: A model the scorers and the learner work with.
Model = OnlineCreditModel | GbmCreditModel | BlendModel


def make_model(name: str, params: Mapping[str, Any]) -> Model:
    """The configured model: ``family: lightgbm`` for the GBM, ``family: blend`` for a blend, else an online one.

    >>> type(make_model("gbm", {"family": "lightgbm", "refit_every": 200})).__name__
    'GbmCreditModel'
    >>> type(make_model("logreg", {"learning_rate": 0.01})).__name__
    'OnlineCreditModel'
    >>> type(make_model("blend", {"family": "blend", "members": ["binned-window", "gbm"]})).__name__
    'BlendModel'
    """
    family = params.get("family")
    rest = {k: v for k, v in params.items() if k != "family"}
    if family == GBM_FAMILY:
        return GbmCreditModel(name=name, **rest)
    if family == BLEND_FAMILY:
        return BlendModel(name=name, **rest)
    if family is not None:
        raise ValueError(
            f"family: must be {GBM_FAMILY!r}, {BLEND_FAMILY!r} or left out (an online model), got {family!r}"
        )
    return make_online_model(name, rest)


def restore_model(data: bytes) -> Model:
    """The model a snapshot holds, of any family (trusted bytes only: unpickling runs code)."""
    model = pickle.loads(data)
    if not isinstance(model, OnlineCreditModel | GbmCreditModel | BlendModel):
        raise TypeError(f"snapshot holds a {type(model).__name__}, not a credit model")
    return model
