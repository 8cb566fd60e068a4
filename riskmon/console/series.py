"""Fixed-step time buckets: the charts' memory, bounded whatever the traffic.

Why buckets and not a list of points: a busy worker sees thousands of
decisions a second, and a chart needs one point per pixel column at most.
Three kinds of series, because each chart means something different:

* ``set``: a gauge (a rate, PSI, AUC); the last value in a bucket wins, and
  a bucket without a value carries the previous one forward when read.
* ``add``: a count per bucket (alerts raised); absent means zero.
* ``sample``: a distribution (decision latency); read as quantiles, absent
  means no point.

Times are given by the caller (Kafka record timestamps), never read from the
clock, so replayed history lands where it happened and tests control time.

>>> b = Buckets(step=10.0, capacity=3)
>>> b.set("rate", 100.0, 0.5); b.add("raised", 101.0, 2)
>>> b.sample("latency", 105.0, 4.0); b.sample("latency", 106.0, 8.0)
>>> b.set("rate", 125.0, 0.25)
>>> out = b.to_dict(now=125.0, quantiles={"latency": (0.5,)})
>>> out["t"], out["series"]["rate"], out["series"]["raised"], out["series"]["latency_p50"]
([100.0, 110.0, 120.0], [0.5, 0.5, 0.25], [2, 0, 0], [4.0, None, None])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Buckets", "quantile"]

_MAX_SAMPLES = 10_000  # per series and bucket: enough for p95 of 1,000 decisions a second in 10 s buckets


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of ``values`` (sorted in place), or None when empty.

    >>> quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95), quantile([], 0.5)
    (5.0, None)
    """
    if not values:
        return None
    values.sort()
    return values[max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))]


class Buckets:
    """Series of values in ``step``-second buckets, the last ``capacity`` buckets kept."""

    def __init__(self, step: float = 10.0, capacity: int = 360) -> None:
        if step <= 0 or capacity < 1:
            raise ValueError("step must be above zero and capacity at least 1")
        self.step = step
        self.capacity = capacity
        self._gauges: dict[str, dict[int, float]] = {}
        self._counts: dict[str, dict[int, float]] = {}
        self._samples: dict[str, dict[int, list[float]]] = {}
        self._carry: dict[str, float] = {}  # a gauge's last value before the kept buckets
        self._newest: int | None = None

    def _index(self, t: float) -> int | None:
        i = int(t // self.step)
        if self._newest is None or i > self._newest:
            self._newest = i
            self._prune()
        return i if i > self._newest - self.capacity else None

    def _prune(self) -> None:
        assert self._newest is not None
        oldest = self._newest - self.capacity + 1
        for name, series in self._gauges.items():
            for i in sorted(k for k in series if k < oldest):
                self._carry[name] = series.pop(i)
        tables: tuple[dict[str, dict[int, Any]], ...] = (self._counts, self._samples)
        for table in tables:
            for series in table.values():
                for i in [k for k in series if k < oldest]:
                    del series[i]

    def set(self, name: str, t: float, value: float | None) -> None:
        i = self._index(t)
        if i is not None and value is not None and math.isfinite(value):
            self._gauges.setdefault(name, {})[i] = float(value)

    def add(self, name: str, t: float, n: float = 1) -> None:
        i = self._index(t)
        if i is not None:
            series = self._counts.setdefault(name, {})
            series[i] = series.get(i, 0) + n

    def sample(self, name: str, t: float, value: float) -> None:
        i = self._index(t)
        if i is not None and math.isfinite(value):
            bucket = self._samples.setdefault(name, {}).setdefault(i, [])
            if len(bucket) < _MAX_SAMPLES:
                bucket.append(float(value))

    def to_dict(self, now: float, quantiles: Mapping[str, tuple[float, ...]] | None = None) -> dict[str, Any]:
        """``{step, t, series}``: one entry per bucket from the oldest with data up to ``now``.

        A ``sample`` series ``x`` is read as ``x_p50``, ``x_p95``... for each
        quantile asked for in ``quantiles[x]`` (default: the median).
        """
        last = max(int(now // self.step), self._newest if self._newest is not None else int(now // self.step))
        used = [i for table in (self._gauges, self._counts, self._samples) for s in table.values() for i in s]
        first = max(min(used, default=last), last - self.capacity + 1)
        index = range(first, last + 1)
        series: dict[str, list[Any]] = {}
        for name, values in self._gauges.items():
            carried, column = self._carry.get(name), []
            for i in index:
                carried = values.get(i, carried)
                column.append(carried)
            series[name] = column
        for name, values in self._counts.items():
            series[name] = [values.get(i, 0) for i in index]
        for name, samples in self._samples.items():
            for q in (quantiles or {}).get(name, (0.5,)):
                series[f"{name}_p{round(q * 100)}"] = [
                    quantile(list(samples[i]), q) if i in samples else None for i in index
                ]
        return {"step": self.step, "t": [i * self.step for i in index], "series": series}
