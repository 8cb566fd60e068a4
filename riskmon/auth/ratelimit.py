"""Token buckets: at most ``rate`` requests a second per caller, with bursts of up to ``burst``.

Why per caller: one approval service in a retry loop must not take the
worker's capacity from the others. A bucket holds up to ``burst`` tokens,
refills at ``rate`` a second, and each request takes one; an empty bucket
answers how long until the next token (the ``Retry-After`` of a 429).

The clock is passed in, so the arithmetic is tested without sleeping.
Buckets untouched for long enough to be full again are forgotten, so the
table stays as small as the set of recent callers.

>>> t = [0.0]
>>> limits = RateLimiter(rate=1.0, burst=2, clock=lambda: t[0])
>>> [limits.take("svc-a") for _ in range(3)]
[0.0, 0.0, 1.0]
>>> t[0] = 1.0
>>> limits.take("svc-a"), limits.take("svc-b")
(0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """One token bucket per key (a token's id, or the client's address when auth is off)."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float], max_keys: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be above 0 and burst at least 1")
        self._rate = float(rate)
        self._burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._swept_at = clock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is there (nothing taken)."""
        now = self._clock()
        self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.at) * self._rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate

    def _sweep(self, now: float) -> None:
        """Forget buckets that are full again (as good as new), at most once per refill time, or when too many."""
        full_after = self._burst / self._rate
        if now - self._swept_at < full_after and len(self._buckets) < self._max_keys:
            return
        self._swept_at = now
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full_after}
        if len(self._buckets) >= self._max_keys:  # a flood of distinct keys: start over rather than grow
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)
