"""Snapshot bytes: canonical pickles of models and comparisons.

Why canonical: the audit trail records a model's ``snapshot_hash``, and a
worker that restores a model must get the same hash back. Plain
``pickle.dumps`` does not promise that: pickle writes a string once and refers
back to it only where both places hold the *same* object, and unpickling
re-interns attribute names, which can split a string that was shared before
(a dict key equal to an attribute name, such as ``"champion"``). Pickling the
unpickled copy once more settles that: from then on, saving a restored object
gives back the bytes it was restored from. Equal learning histories, run by
the same code, give equal bytes (checked across ``PYTHONHASHSEED`` values).

Only load snapshots from a store you trust: unpickling runs code. Snapshots
are tied to the class's module path and to the River version that wrote them;
keep the model's parameters beside them so that a model can be rebuilt and
retrained when an upgrade cannot read an old snapshot.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Self, TypeVar

__all__ = ["PROTOCOL", "Snapshotted", "dump", "load", "digest"]

#: Pickle protocol of snapshots, fixed so that equal state gives equal bytes.
PROTOCOL = 5

T = TypeVar("T")


def dump(obj: object) -> bytes:
    """Canonical snapshot bytes of ``obj``: ``dump(load(dump(obj), cls)) == dump(obj)``.

    >>> from types import SimpleNamespace as Box
    >>> box = Box(champion=1, record={"champion": "a"})  # a key equal to an attribute name
    >>> raw = pickle.dumps(box, protocol=PROTOCOL)
    >>> pickle.dumps(pickle.loads(raw), protocol=PROTOCOL) == raw  # plain pickle: not stable
    False
    >>> data = dump(box)
    >>> dump(load(data, Box)) == data
    True
    """
    return pickle.dumps(pickle.loads(pickle.dumps(obj, protocol=PROTOCOL)), protocol=PROTOCOL)


def load(data: bytes, cls: type[T]) -> T:
    """The ``cls`` instance that :func:`dump` saved; TypeError if the bytes hold anything else."""
    obj = pickle.loads(data)
    if not isinstance(obj, cls):
        raise TypeError(f"snapshot holds a {type(obj).__name__}, not a {cls.__name__}")
    return obj


def digest(data: bytes) -> str:
    """SHA-256 (hex) of snapshot bytes, as the audit trail records it."""
    return hashlib.sha256(data).hexdigest()


class Snapshotted:
    """What every model family derives from its :meth:`snapshot`: the hash the audit trail
    records, and the model back from the bytes."""

    def snapshot(self) -> bytes:
        """The state as canonical bytes (:func:`dump`); each family says what it keeps."""
        raise NotImplementedError

    @property
    def snapshot_hash(self) -> str:
        """SHA-256 (hex) of :meth:`snapshot`."""
        return digest(self.snapshot())

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """The model :meth:`snapshot` saved; its snapshot gives back the same bytes (trusted
        bytes only: unpickling runs code)."""
        return load(data, cls)
