"""What a credit model must offer to be scored, compared and promoted.

Why a protocol: the champion/challenger machinery and the worker should not
care which learner sits behind a model, only that it scores batches, learns
final labels, names its version and can be snapshotted for the registry.
:class:`~riskmon.models.online.OnlineCreditModel` is the implementation today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["CreditModel"]


@runtime_checkable
class CreditModel(Protocol):
    """A probability-of-default model that learns online."""

    name: str
    n_learned: int

    @property
    def version(self) -> str:
        """Deterministic name of the model's current state."""
        ...

    @property
    def params(self) -> dict[str, Any]:
        """The constructor's arguments."""
        ...

    @property
    def snapshot_hash(self) -> str:
        """SHA-256 (hex) of the snapshot bytes."""
        ...

    def predict_proba_many(self, xs: Sequence[Mapping[str, float | str]]) -> list[float]:
        """Probability of default of each input."""
        ...

    def learn_many(self, xs: Sequence[Mapping[str, float | str]], ys: list[bool]) -> None:
        """Learn final labels, in order."""
        ...

    def snapshot(self) -> bytes:
        """The state as bytes."""
        ...
