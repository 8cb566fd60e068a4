"""The model registry in Redis: snapshots, role pointers, evaluations, promotions.

Why Redis and content hashes: every worker must score with the same model,
and a restarted or added worker must pick it up before it scores anything.
One learner (see :mod:`riskmon.learning.learner`) publishes each snapshot under
its SHA-256 (``<ns>:model:snapshot:<hash>``, immutable; a champion's kept
for the audit trail's retention, a challenger's a week) and then moves a small role pointer
(``<ns>:model:role:champion`` / ``challenger``: JSON with name, version, hash,
labels seen). Scorers poll the pointers (one GET pair every few seconds) and
load a snapshot only when its hash changes: a hot swap between two batches.

Promotion requests and their recorded evidence also live here, so that the
command line (``riskmon model promote``) and the learner, in different
processes, agree on one history.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

__all__ = ["ModelPointer", "ModelRegistry", "ROLES"]

ROLES = ("champion", "challenger")

#: How long a challenger's snapshot is kept. A champion's is kept for the audit trail's retention (the
#: decision store's TTL): decisions name it. A challenger only scores in shadow, and the learner publishes
#: after every ``publish_every_labels`` labels or ``publish_every_seconds``: at the defaults up to 8,640
#: publications a day, each a new snapshot, which kept 400 days would fill Redis. Promoted, a model is
#: published again as the champion, with the long TTL; demoted, its snapshot keeps the TTL it had. A
#: challenger that learns nothing for a week loses its snapshot (the pointer stays): scorers restarted
#: after that skip its shadow scores until the next label publishes it again.
CHALLENGER_SNAPSHOT_TTL_SECONDS = 7 * 86400


@dataclass(frozen=True, slots=True)
class ModelPointer:
    """Which snapshot plays a role."""

    role: str
    name: str
    version: str
    hash: str
    n_learned: int
    published_at: float
    #: The learner judges this challenger itself (LightGBM, a blend holding it): scorers need not load it.
    scored_by_learner: bool = False

    @classmethod
    def from_json(cls, role: str, raw: bytes) -> ModelPointer:
        d = orjson.loads(raw)
        return cls(
            role,
            d["name"],
            d["version"],
            d["hash"],
            int(d["n_learned"]),
            float(d["published_at"]),
            bool(d.get("scored_by_learner", False)),  # absent from pointers written before it existed
        )

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "name": self.name,
                "version": self.version,
                "hash": self.hash,
                "n_learned": self.n_learned,
                "published_at": self.published_at,
                "scored_by_learner": self.scored_by_learner,
            }
        )


class ModelRegistry:
    """Async access to the registry keys of one namespace."""

    def __init__(self, client: aioredis.Redis, *, namespace: str, snapshot_ttl_seconds: int) -> None:
        self._r = client
        self._ns = namespace
        self._ttl = snapshot_ttl_seconds

    def _key(self, *parts: str) -> str:
        return ":".join((self._ns, "model", *parts))

    async def publish(
        self,
        snapshots: Mapping[str, tuple[bytes, ModelPointer]],
        evaluation: Mapping[str, Any],
        *,
        learner_state: bytes | None = None,
    ) -> None:
        """Store snapshots, move the pointers and save the evaluation, in one transaction."""
        pipe = self._r.pipeline(transaction=True)
        if learner_state is not None:
            pipe.set(self._key("learner_state"), learner_state)
        deciding = {pointer.hash for role, (_, pointer) in snapshots.items() if role != "challenger"}
        short = min(self._ttl, CHALLENGER_SNAPSHOT_TTL_SECONDS)
        for _, (data, pointer) in snapshots.items():
            key = self._key("snapshot", pointer.hash)
            if pointer.hash in deciding:
                pipe.set(key, data, ex=self._ttl)
            else:  # never shorten the TTL of bytes a champion published before (a demoted one's, say)
                pipe.set(key, data, ex=short, nx=True)
                pipe.expire(key, short, gt=True)
        for role, (_, pointer) in snapshots.items():
            pipe.set(self._key("role", role), pointer.to_json())
        pipe.set(self._key("evaluation"), orjson.dumps(dict(evaluation)))
        await pipe.execute()

    async def learner_state(self) -> bytes | None:
        """The learner's pickled state (models and evaluators), if one was saved."""
        return await self._r.get(self._key("learner_state"))

    async def model_alert(self) -> str | None:
        """The critical model alert the portfolio watch raised, if one is active."""
        raw = await self._r.get(self._key("alert"))
        return raw.decode() if raw else None

    async def pointers(self) -> dict[str, ModelPointer]:
        raw = await self._r.mget([self._key("role", role) for role in ROLES])
        pairs = zip(ROLES, raw, strict=True)
        return {role: ModelPointer.from_json(role, value) for role, value in pairs if value is not None}

    async def snapshot(self, digest: str) -> bytes | None:
        return await self._r.get(self._key("snapshot", digest))

    async def evaluation(self) -> dict[str, Any] | None:
        raw = await self._r.get(self._key("evaluation"))
        return orjson.loads(raw) if raw else None

    async def request_promotion(self, *, author: str, reason: str) -> None:
        """Ask the learner to swap champion and challenger (it records the evidence)."""
        await self._r.set(
            self._key("promotion_request"),
            orjson.dumps({"author": author, "reason": reason, "requested_at": time.time()}),
        )

    async def take_promotion_request(self) -> dict[str, Any] | None:
        raw = await self._r.getdel(self._key("promotion_request"))
        return orjson.loads(raw) if raw else None

    async def record_promotion(self, record: Mapping[str, Any]) -> None:
        await self._r.rpush(self._key("promotions"), orjson.dumps(dict(record)))

    async def promotions(self) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in await self._r.lrange(self._key("promotions"), 0, -1)]
