"""A bounded set of recently seen ids: dedup of re-delivered events at a fixed cost."""

from __future__ import annotations

from collections import OrderedDict

from riskmon.detectors.base import integer

__all__ = ["RecentIds"]


class RecentIds:
    """The last ``capacity`` ids added, oldest forgotten first: a bounded dedup memory.

    One instance can serve many trackers (:class:`ExposureTracker`), so the memory of
    re-delivered events is bounded for the whole book, not per customer
    (``customers x capacity`` grows with the customer base).

    >>> ids = RecentIds(2)
    >>> for k in ("a", "b", "c"):
    ...     ids.add(k)
    >>> "a" in ids, "c" in ids, len(ids)
    (False, True, 2)
    """

    __slots__ = ("capacity", "_ids")

    def __init__(self, capacity: int) -> None:
        self.capacity = integer(capacity, "capacity", minimum=1)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._ids[key] = None
        self._ids.move_to_end(key)
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)
