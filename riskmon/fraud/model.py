"""The online supervised fraud model: River, learning one confirmed outcome at a time.

Inputs are the feature vector a transaction was scored with when it arrived
(:func:`riskmon.detectors.transaction_features` and the customer's
behaviour, :class:`riskmon.detectors.behaviour.CustomerBehaviour`), every value
in ``[0, 1]``, kept as a snapshot until its label arrives. Two kinds:

* ``logreg``: River ``LogisticRegression`` (SGD); transparent: each factor's
  contribution is its weight times its value, the reasons of an alert;
* ``tree``: River ``HoeffdingTreeClassifier``, and ``forest``: River
  ``ARFClassifier`` (adaptive random forest, about 0.6 ms a transaction: too
  slow for the stream's default), which see interactions (a new country
  *and* minutes after the last use); their reasons are the factors that
  stand out (:func:`riskmon.detectors.behaviour.standout_factors`), since
  trees have no per-factor weights.

Only the learner's role learns (off the decision path); the transaction path
only scores.

>>> m = FraudModel("logreg", learning_rate=0.1)
>>> for _ in range(200):
...     m.learn_one({"new_country": 1.0, "amount_vs_typical": 0.9}, True)
...     m.learn_one({"new_country": 0.0, "amount_vs_typical": 0.5}, False)
>>> m.predict_proba_one({"new_country": 1.0, "amount_vs_typical": 0.9}) > 0.8
True
>>> m.factors({"new_country": 1.0, "amount_vs_typical": 0.9})[0]
'new_country'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import orjson

__all__ = ["FraudModel", "KINDS"]

Kind = Literal["logreg", "tree", "forest"]
KINDS: tuple[Kind, ...] = ("logreg", "tree", "forest")


class FraudModel:
    """One online fraud classifier of the given ``kind`` (see the module docstring)."""

    def __init__(self, kind: Kind = "logreg", *, seed: int = 42, learning_rate: float = 0.01) -> None:
        from river import forest, linear_model, optim, tree  # imported on first use: river takes seconds to import

        if kind not in KINDS:
            raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
        self.kind: Kind = kind
        self.learning_rate = learning_rate
        self.n_learned = 0
        self._frozen: tuple[dict[str, float], float] | None = None  # a published model's weights, for scoring
        self._model: Any
        if kind == "logreg":
            self._model = linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate), l2=0.0)
        elif kind == "tree":
            self._model = tree.HoeffdingTreeClassifier(grace_period=200, leaf_prediction="mc")
        else:
            self._model = forest.ARFClassifier(n_models=5, seed=seed, leaf_prediction="mc")

    def predict_proba_one(self, x: Mapping[str, float]) -> float:
        """The probability that the transaction with features ``x`` is fraud.

        A published logreg (read with :meth:`from_dict`, scored on the
        transaction path, never learning) scores with a plain dict of its
        weights: a third of River's cost per call (no copy of ``x``, no
        result dict).
        """
        if self._frozen is not None:
            weights, intercept = self._frozen
            z = intercept
            for k, v in x.items():
                w = weights.get(k)
                if w is not None:
                    z += w * v
            return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        return float(self._model.predict_proba_one(dict(x)).get(True, 0.0))

    def learn_one(self, x: Mapping[str, float], fraud: bool) -> None:
        """Learn one confirmed outcome (``fraud``: fraud or chargeback)."""
        self._model.learn_one(dict(x), bool(fraud))
        self.n_learned += 1
        self._frozen = None

    def factors(self, x: Mapping[str, float], *, top: int = 3) -> list[str]:
        """The features that pushed ``x``'s score up most (logreg), or that stand out (forest)."""
        if self.kind == "logreg":
            weights = self._model.weights
            terms = sorted(((weights.get(k, 0.0) * v, k) for k, v in x.items()), reverse=True)
            return [k for term, k in terms[:top] if term > 0]
        from riskmon.detectors.behaviour import standout_factors

        return standout_factors(dict(x))[:top]

    def to_bytes(self) -> bytes:
        """:meth:`to_dict` as JSON bytes."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> FraudModel:
        """The model :meth:`to_bytes` wrote; ``ValueError`` if the bytes are not one."""
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not a published fraud model: {exc}") from None
        return cls.from_dict(doc)

    def to_dict(self) -> dict[str, Any]:
        """A logreg model as JSON data (its weights and intercept): what the learner publishes in Redis.

        JSON, not pickle: bytes read back from a shared Redis are data, never
        code. Tree models are not published (``ValueError``).
        """
        if self.kind != "logreg":
            raise ValueError(f"only logreg models are published, not {self.kind}")
        return {
            "kind": self.kind,
            "learning_rate": self.learning_rate,
            "n_learned": self.n_learned,
            "intercept": self._model.intercept,
            "weights": self._model.weights,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FraudModel:
        """The model :meth:`to_dict` wrote; ``ValueError`` if ``doc`` is not one."""
        from river import utils

        try:
            model = cls(doc["kind"], learning_rate=float(doc["learning_rate"]))
            if model.kind != "logreg":
                raise ValueError(f"kind {model.kind} is not published")
            model._model._weights = utils.VectorDict({str(k): float(v) for k, v in doc["weights"].items()})
            model._model.intercept = float(doc["intercept"])
            model.n_learned = int(doc["n_learned"])
            model._frozen = (model._model.weights, model._model.intercept)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a published fraud model: {exc}") from None
        return model
