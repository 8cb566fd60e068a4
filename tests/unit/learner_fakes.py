"""What the credit-model tests share: a labelled stream with a U-shaped risk, and the learner's stand-ins
for the model registry and the decision store (the learner's own logic, without Redis)."""

from __future__ import annotations

import math
import random
from typing import Any

from riskmon.learning.registry import ModelPointer


def u_shaped_stream(n: int, seed: int = 7) -> tuple[list[dict[str, Any]], list[bool]]:
    """Risk in a U of utilisation plus many inquiries; a categorical that carries nothing."""
    rng = random.Random(seed)
    xs, ys = [], []
    for _ in range(n):
        util = rng.uniform(0, 100)
        inquiries = float(rng.randint(0, 6))
        logit = -2.5 + (1.8 if abs(util - 50) > 38 else 0.0) + 0.5 * inquiries
        xs.append({"features.revol_util": util, "inquiries_6m": inquiries, "channel": rng.choice(["web", "branch"])})
        ys.append(rng.random() < 1 / (1 + math.exp(-logit)))
    return xs, ys


class FakeRegistry:
    """Records each publication: per role, the snapshot bytes and the pointer."""

    def __init__(self) -> None:
        self.published: list[dict[str, tuple[bytes, ModelPointer]]] = []

    async def learner_state(self) -> bytes | None:
        return None

    async def take_promotion_request(self) -> None:
        return None

    async def publish(self, snapshots: dict, evaluation: dict, *, learner_state: bytes | None = None) -> None:
        self.published.append(dict(snapshots))

    async def record_promotion(self, record: dict) -> None:
        pass


class FakeStore:
    """Every label claimed for the first time."""

    async def claim_labels(self, ids: list[str]) -> list[bool]:
        return [True] * len(ids)
