"""The fraud learner: one worker learns confirmed outcomes and publishes the models (off the decision path).

It consumes ``risk.fraud.training`` (one partition, so exactly one worker
holds the role; a rebalance moves it): each example is a transaction's
snapshot (its features and the score the published champion gave it when it
arrived) and its label. Per batch, :class:`~riskmon.fraud.FraudChampionChallenger`
judges both models on their scores of the snapshot, taken here before they
learn the label (prequential ROC AUC; the champion's score at arrival is
judged too, as the live feed's AUC), both models learn,
the challenger is promoted when it is better by the rule's margin, and both
are published to ``<ns>:fraud:model`` as JSON, which every
transaction path reads at most every 30 s. On a new owner the models are
restored from what was published (evaluators restart).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson

from riskmon.fraud.evaluation import FraudChampionChallenger
from riskmon.fraud.model import FraudModel
from riskmon.fraud.store import model_key
from riskmon.pipeline.messages import Incoming
from riskmon.pipeline.store import DecisionStore
from riskmon.redis_clients import REDIS_ERRORS

__all__ = ["FraudLearner", "published_models"]

log = logging.getLogger(__name__)


def published_models(data: bytes | None) -> tuple[FraudModel | None, FraudModel | None, dict[str, Any]]:
    """Champion, challenger and status from the published bytes (``None``s when there are none or they are bad)."""
    if data is None:
        return None, None, {}
    try:
        doc = orjson.loads(data)
        return FraudModel.from_dict(doc["champion"]), FraudModel.from_dict(doc["challenger"]), doc.get("status", {})
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning("published fraud model unreadable (%s); not scoring until the learner publishes again", exc)
        return None, None, {}


class FraudLearner:
    """Learns each batch of joined examples and publishes the models; never raises."""

    def __init__(self, *, store: DecisionStore) -> None:
        self._store = store
        self.models = FraudChampionChallenger()
        self._restored = False
        self.bad_examples = 0

    async def handle(self, batch: Sequence[Incoming]) -> None:
        try:
            await self._restore()
            for message in batch:
                try:
                    example = orjson.loads(message.value or b"")
                    x = {str(k): float(v) for k, v in example["x"].items()}
                    fraud = bool(example["fraud"])
                    scores = example.get("s")
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                    self.bad_examples += 1  # written by our own join; counted, never fatal
                    continue
                self.models.learn_label(x, fraud, given=scores)  # both models are scored here
                why = self.models.promote_if_better()
                if why:
                    log.info("fraud model promoted: %s", why)
            if batch:
                await self.publish()
        except Exception:
            log.exception("fraud learner: batch of %d failed", len(batch))

    async def _restore(self) -> None:
        if self._restored:
            return
        try:
            champion, challenger, _ = published_models(await self._store.client.get(model_key(self._store.namespace)))
        except REDIS_ERRORS as exc:
            log.warning("fraud models not restored (%s); starting afresh", exc)
            champion = challenger = None
        if champion is not None and challenger is not None:
            self.models.champion, self.models.challenger = champion, challenger
        self._restored = True

    def status(self) -> dict[str, Any]:
        ev = self.models.evaluators
        return {
            "labels": ev["champion"].n,
            "frauds": ev["champion"].n_bad,
            "auc": {role: e.roc_auc for role, e in ev.items()} | {"at_arrival": self.models.at_arrival.roc_auc},
            "promotions": self.models.promotions,
        }

    async def publish(self) -> None:
        doc = {
            "champion": self.models.champion.to_dict(),
            "challenger": self.models.challenger.to_dict(),
            "status": self.status(),
        }
        try:
            await self._store.client.set(model_key(self._store.namespace), orjson.dumps(doc))
        except REDIS_ERRORS as exc:
            log.warning("fraud models not published (%s); kept in memory", exc)
