"""A blend of two (or more) credit models: the mean of their PDs, as one model the learner runs.

Why: the online binned logistic regression (with its exact window refit) and
the LightGBM model refitted on a sliding window make different mistakes: one
sees trends and steps per field, the other interactions. The mean of their
PDs ranks better than either on the demo's credit_data (0.843 second-half AUC
against 0.838 and 0.837, ``python -m bench.model_quality --data credit_data``),
and as well as the better of the two elsewhere.

The blend is a model family like the others (``params: {family: blend}``),
so it can be the champion or the challenger:

* :meth:`BlendModel.learn_many` hands each label to every member;
* :meth:`BlendModel.predict_proba_many` is the mean of the PDs of the members
  that are *ready* (a LightGBM member before its first refit would only give
  its prior, so it is left out until then);
* a member that learns by refits (the LightGBM model's trees, the binned
  model's exact window fit: :mod:`riskmon.models.refits`) is refitted exactly
  as on its own: :meth:`BlendModel.refits_due` hands it to the learner, which
  runs the refit in its background thread and installs the result between
  two batches (:mod:`riskmon.learning.learner`); never on the event loop,
  never on the decision path. Because it holds a LightGBM member, the blend
  is judged in the learner while it is the challenger, like the LightGBM
  model (:attr:`BlendModel.judged_in_learner`);
* its snapshot holds the members' own snapshots (their windows left out), so
  its size is bounded by theirs;
* its reasons are the members' reasons, each member's shares weighted by that
  member's part of the blended PD (``pd_i / sum(pd)``), summed per reason
  code and ranked: every code named is a factor a member actually scored.

Members are named in ``params.members``: a preset name (``binned-window``,
``binned``, ``logreg``, ``gbm``, see :data:`MEMBER_PRESETS`) or a mapping
``{name, params}`` as a champion is configured. Default: ``binned-window``
and ``gbm``.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

from riskmon.models import snapshots
from riskmon.models.binned import make_online_model
from riskmon.models.gbm import FAMILY as GBM_FAMILY
from riskmon.models.gbm import GbmCreditModel
from riskmon.models.online import OnlineCreditModel
from riskmon.models.refits import Refitting, refits_due

__all__ = ["FAMILY", "MEMBER_PRESETS", "BlendModel", "Member", "make_member"]

#: ``params: {family: blend}`` in a model's configuration selects this model.
FAMILY = "blend"

Inputs = Mapping[str, float | str]

#: A model a blend may hold.
Member = OnlineCreditModel | GbmCreditModel

#: Members a configuration may name by a word: the ``params`` each stands for.
MEMBER_PRESETS: Mapping[str, Mapping[str, Any]] = {
    "binned-window": {"bins": 10, "rebin_every": 500, "optimizer": "sgd", "learning_rate": 0.005, "window": 5000},
    "binned": {"bins": 10, "rebin_every": 500, "optimizer": "sgd", "learning_rate": 0.005},
    "logreg": {"optimizer": "sgd", "learning_rate": 0.005},
    "gbm": {"family": GBM_FAMILY, "window": 5000, "refit_every": 500},
}

#: The members of a blend whose configuration names none.
DEFAULT_MEMBERS: tuple[str, ...] = ("binned-window", "gbm")


def make_member(spec: Any, where: str) -> Member:
    """The member model ``spec`` names: a preset word or ``{name, params}``; ValueError saying where otherwise.

    >>> type(make_member("gbm", "members[1]")).__name__
    'GbmCreditModel'
    >>> try:
    ...     make_member("forest", "members[0]")
    ... except ValueError as exc:
    ...     print(str(exc).split(";")[0])
    members[0]: unknown member 'forest'
    """
    if isinstance(spec, str):
        if spec not in MEMBER_PRESETS:
            choices = ", ".join(sorted(MEMBER_PRESETS))
            raise ValueError(f"{where}: unknown member {spec!r}; name one of {choices}, or give {{name, params}}")
        name, params = spec, dict(MEMBER_PRESETS[spec])
    elif isinstance(spec, Mapping):
        unknown = set(spec) - {"name", "params"}
        if unknown or not isinstance(spec.get("name"), str) or not spec["name"]:
            raise ValueError(f"{where}: a member is a preset name or {{name, params}}, got {dict(spec)!r}")
        name, params = spec["name"], dict(spec.get("params") or {})
    else:
        raise ValueError(f"{where}: a member is a preset name or {{name, params}}, got {spec!r}")
    family = params.pop("family", None)
    try:
        if family == GBM_FAMILY:
            return GbmCreditModel(name=name, **params)
        if family is not None:
            raise ValueError(f"family must be {GBM_FAMILY!r} or left out (an online model), got {family!r}")
        return make_online_model(name, params)
    except TypeError as exc:
        raise ValueError(f"{where}: unknown parameter ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


class BlendModel(snapshots.Snapshotted):
    """PD model: the mean of its members' PDs (see the module docstring).

    >>> model = BlendModel(members=["binned", {"name": "plain", "params": {"learning_rate": 0.05}}])
    >>> xs = [{"util": float(i % 100)} for i in range(400)]
    >>> model.learn_many(xs, [x["util"] > 70 for x in xs])
    >>> x = {"util": 90.0}
    >>> members = [m.predict_proba_one(x) for m in model.members]
    >>> abs(model.predict_proba_one(x) - sum(members) / 2) < 1e-12, model.version
    (True, 'blend-n400-r0')
    """

    def __init__(self, *, name: str = "blend", members: Sequence[Any] = DEFAULT_MEMBERS) -> None:
        if isinstance(members, str | bytes) or not isinstance(members, Sequence) or len(members) < 2:
            raise ValueError(f"members: a list of at least two member models, got {members!r}")
        built = [make_member(spec, f"members[{i}]") for i, spec in enumerate(members)]
        names = [m.name for m in built]
        if len(set(names)) != len(names):
            raise ValueError(f"members: names must differ, got {names}")
        self.name = name
        self.members = built
        self.n_learned = 0

    # -- parameters, identity, snapshots ---------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """The configuration's parameters: ``make_model(name, params)`` builds a fresh clone."""
        members = [{"name": m.name, "params": {k: v for k, v in m.params.items() if k != "name"}} for m in self.members]
        return {"family": FAMILY, "members": members}

    @property
    def judged_in_learner(self) -> bool:
        """True when a member is (a LightGBM one): scorers then skip the blend while it is the challenger."""
        return any(getattr(m, "judged_in_learner", False) for m in self.members)

    @property
    def ready(self) -> bool:
        """True when its PDs are a model's, not a prior: some member has learned (and a LightGBM one is fitted)."""
        return any(_ready(m) for m in self.members)

    @property
    def version(self) -> str:
        """``<name>-n<labels learned>-r<refits of its LightGBM members>``."""
        refits = sum(m.refits for m in self.members if isinstance(m, GbmCreditModel))
        return f"{self.name}-n{self.n_learned}-r{refits}"

    def snapshot(self) -> bytes:
        """What scorers need, as canonical bytes: the members' own snapshots (no windows of labels).

        The members travel as their snapshot bytes (``_packed``), so each is
        pickled once, by its own :meth:`snapshot`; a restored blend keeps
        those bytes and unpacks the members from them.
        """
        frozen = object.__new__(type(self))
        frozen.__dict__.update(self.__dict__)
        frozen.__dict__["_packed"] = tuple(m.snapshot() for m in self.members)
        return snapshots.dump(frozen)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if state.get("_packed") is not None:  # a snapshot (or a restored one): the members are in the bytes
            state["members"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if state.get("_packed") is not None:
            self.members = [pickle.loads(data) for data in state["_packed"]]

    # -- learning and refits -----------------------------------------------------------

    def learn_many(self, xs: Sequence[Inputs], ys: list[bool]) -> None:
        """Every member learns every label."""
        if len(xs) != len(ys):
            raise ValueError(f"learn_many: {len(xs)} inputs but {len(ys)} labels")
        self.__dict__.pop("_packed", None)  # a restored copy that learns is packed afresh by its next snapshot
        for member in self.members:
            member.learn_many(xs, ys)
        self.n_learned += len(xs)

    def refits_due(self) -> list[Refitting]:
        """The members whose refit is due: the learner refits them as it refits such a model on its own."""
        return refits_due(self.members)

    # -- scoring and reasons ---------------------------------------------------------------

    def _scoring(self) -> list[Member]:
        ready = [m for m in self.members if _ready(m)]
        return ready or self.members[:1]

    def _member_pds(self, xs: Sequence[Inputs]) -> tuple[list[Member], list[list[float]]]:
        members = self._scoring()
        return members, [m.predict_proba_many(xs) for m in members]

    def predict_proba_many(self, xs: Sequence[Inputs]) -> list[float]:
        """The mean of the ready members' PDs for each input."""
        if not xs:
            return []
        members, pds = self._member_pds(xs)
        return [sum(column) / len(members) for column in zip(*pds, strict=True)]

    def predict_proba_one(self, x: Inputs) -> float:
        """PD of one input."""
        return self.predict_proba_many([x])[0]

    def explain_many(self, xs: Sequence[Inputs], *, top: int = 4) -> list[list[tuple[str, str, float]]]:
        """The factors that raised each input's PD, as ``(code, description, share)``.

        Each member's shares are weighted by its part of the blended PD and
        summed per code; the description is the one of the member that gave
        the code the most weight. Shares are rounded down to 4 decimals.
        """
        if not xs or top <= 0:
            return [[] for _ in xs]
        members, pds = self._member_pds(xs)
        reasons = [m.explain_many(xs, top=top) for m in members]
        out = []
        for i in range(len(xs)):
            total = sum(p[i] for p in pds)
            totals: dict[str, float] = {}
            lead: dict[str, tuple[float, str]] = {}
            for member_pds, member_reasons in zip(pds, reasons, strict=True):
                weight = member_pds[i] / total if total > 0 else 1.0 / len(members)
                for code, description, share in member_reasons[i]:
                    part = weight * share
                    totals[code] = totals.get(code, 0.0) + part
                    if code not in lead or part > lead[code][0]:
                        lead[code] = (part, description)
            ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top]
            out.append([(code, lead[code][1], math.floor(part * 10_000) / 10_000) for code, part in ranked])
        return out

    def explain_one(self, x: Inputs, *, top: int = 4) -> list[tuple[str, str, float]]:
        """:meth:`explain_many` of one input."""
        return self.explain_many([x], top=top)[0]


def _ready(member: Member) -> bool:
    if isinstance(member, GbmCreditModel):
        return member.fit is not None
    return member.n_learned > 0
