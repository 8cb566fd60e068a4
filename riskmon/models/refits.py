"""Refits: work a model asks for now and then, done off the learner's event loop.

Two kinds of model learn partly by solving something on a window of labels:
the LightGBM model (:mod:`riskmon.models.gbm`) grows new trees, a binned
online model with ``window`` set (:mod:`riskmon.models.binned`) solves its
logistic regression exactly. Either takes a few tenths of a second, which
on the learner's event loop would hold up every other job of that process
(in a ``--role all`` worker, decisions too). So both follow one protocol:

* ``refit_due``: the model wants a refit (set while it learns);
* ``refit_job()``: returns a function of copies only (the window, a frozen
  encoder) that does the heavy work in any thread, and clears ``refit_due``;
* ``install(result)``: takes the job's result, on the learner's loop,
  between two batches; the model may have learned more labels meanwhile,
  and carries them over;
* ``refit()``: job and install in line (the backtest, the benchmark, tests).

The live learner (:mod:`riskmon.learning.learner`) runs one job at a time in
a background thread; :func:`refits_due` lists what is due, a blend's members
included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

__all__ = ["Refitting", "refits_due"]


@runtime_checkable
class Refitting(Protocol):
    """A model that learns partly by refits on a window of labels (see the module doc)."""

    name: str

    @property
    def refit_due(self) -> bool: ...

    def refit_job(self) -> Callable[[], Any]: ...

    def install(self, result: Any) -> None: ...

    def refit(self) -> None: ...


def refits_due(models: Iterable[object]) -> list[Refitting]:
    """The models among ``models`` (a blend's members included) whose refit is due, in order."""
    parts = [part for model in models for part in getattr(model, "members", None) or [model]]
    return [part for part in parts if isinstance(part, Refitting) and part.refit_due]
