"""One HTTP attempt, what its answer means, and how long to wait before the next.

Delivery is at least once: 2xx is delivered; 429, 5xx, timeouts and
connection errors are retried with exponential backoff (capped, with full
jitter, honouring ``Retry-After``); any other 4xx will never succeed and goes
to the dead-letter topic with the response.
"""

from __future__ import annotations

import random
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Request", "Response", "post", "classify", "backoff"]

Verdict = Literal["delivered", "retry", "reject"]


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int | None
    body: str = ""
    retry_after: float | None = None
    error: str | None = None


def post(request: Request, timeout: float) -> Response:
    """POST ``request``; never raises (a failure is a :class:`Response` with ``error``)."""
    req = urllib.request.Request(
        request.url, data=request.body, method="POST", headers={"Content-Type": "application/json", **request.headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URLs come from the operator's config
            return Response(status=resp.status, body=resp.read(4096).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        body = exc.read(4096).decode("utf-8", "replace") if exc.fp else ""
        return Response(status=exc.code, body=body, retry_after=_retry_after(exc.headers.get("Retry-After")))
    except TimeoutError:
        return Response(status=None, error="timeout")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Response(
            status=None,
            error="timeout" if isinstance(reason, (socket.timeout, TimeoutError)) else f"connection: {reason}",
        )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def classify(response: Response) -> Verdict:
    """What to do after one attempt.

    >>> [classify(Response(s)) for s in (202, 429, 500, 503, 400, 404)]
    ['delivered', 'retry', 'retry', 'retry', 'reject', 'reject']
    >>> classify(Response(None, error="timeout"))
    'retry'
    """
    if response.status is None:
        return "retry"
    if 200 <= response.status < 300:
        return "delivered"
    if response.status == 429 or response.status >= 500 or response.status == 408:
        return "retry"
    return "reject"


def backoff(
    attempt: int, *, initial: float, cap: float, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds before attempt ``attempt + 1``: full jitter over ``min(cap, initial * 2**attempt)``.

    A server's ``Retry-After`` is a floor (capped too, so a receiver cannot stall us for a day).

    >>> backoff(0, initial=0.5, cap=30, rng=random.Random(1)) <= 0.5
    True
    >>> backoff(10, initial=0.5, cap=30, retry_after=12, rng=random.Random(1)) >= 12
    True
    """
    ceiling = min(cap, initial * (2 ** min(attempt, 30)))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
