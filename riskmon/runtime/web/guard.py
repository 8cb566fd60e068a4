"""The web port's door: who the caller is, whether it may, and the limits on what it sends.

Every page that shows or changes something asks :meth:`Guard.check` for one
permission (:mod:`riskmon.auth.roles`) and answers the :class:`AuthFailure`
it may raise with :meth:`Guard.refuse` (401 with ``WWW-Authenticate: Bearer``,
or 403). The policy is the deployment's (``RISKMON_AUTH``, the proxy
settings); a token is looked up by its hash in Redis behind a five-second
cache. If Redis cannot be asked, the answer is 503: the door fails closed.

With auth off (a loopback web host by default), the guard still refuses two
browser attacks on the state-changing requests, since a page from any site
can make a browser send them to 127.0.0.1: a request whose ``Origin`` is
another site (cross-site request forgery) and a request whose ``Host`` is
not a loopback name (DNS rebinding). With auth on, state-changing requests
carry the token in a header that another site's page cannot set, so they
cannot be forged, and the same checks apply.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from riskmon.auth.principal import (
    AuthFailure,
    AuthPolicy,
    Principal,
    authorize,
    principal_from_record,
    read_credentials,
)
from riskmon.auth.ratelimit import RateLimiter
from riskmon.auth.store import TokenCache, lookup
from riskmon.runtime.web.errors import error_body
from riskmon.settings import Settings, is_loopback

__all__ = ["AuthFailure", "Guard", "Refused", "TooLarge", "read_limited"]

log = logging.getLogger(__name__)

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class TooLarge(Exception):
    """A request body above the limit (answered 413)."""


class Refused(Exception):
    """A request answered before its work: ``response`` says why (401/403, 429 or 413)."""

    def __init__(self, response: Any) -> None:
        super().__init__(response.status)
        self.response = response


async def read_limited(request: Any, limit: int) -> bytes:
    """The request's body, or :class:`TooLarge` as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` above the limit is refused before reading
    anything; a chunked body is read only until it passes the limit.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)


class Guard:
    """Authentication, authorization and abuse limits for the worker's pages."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: Any,
        namespace: str,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.policy = AuthPolicy(
            enabled=settings.auth_enabled,
            proxy_identity_header=settings.proxy_identity_header,
            proxy_secret=settings.proxy_secret,
        )
        self.metrics_auth = settings.metrics_auth_enabled
        self._client = client
        self._namespace = namespace
        self._wall = wall
        self._cache = TokenCache(clock=clock)
        self._limits = (
            RateLimiter(rate=settings.http_rate, burst=settings.http_burst, clock=clock)
            if settings.http_rate > 0
            else None
        )
        self._loopback_only = is_loopback(settings.web_host)

    @property
    def enabled(self) -> bool:
        return self.policy.enabled

    async def identify(self, request: Any) -> Principal:
        """Who sent ``request`` (the anonymous caller when auth is off); :class:`AuthFailure` if nobody."""
        if not self.policy.enabled:
            return Principal.anonymous()
        credentials = read_credentials(request.headers, self.policy)
        if credentials.principal is not None:
            return credentials.principal
        digest = credentials.token_hash
        assert digest is not None
        found, record = self._cache.get(digest)
        if not found:
            try:
                record = await lookup(self._client, self._namespace, digest)
            except Exception as exc:  # Redis down: nobody can be vouched for
                log.warning("cannot look tokens up in Redis (%s): refusing with 503", type(exc).__name__)
                raise AuthFailure(503, "cannot check the token now (the token store is unavailable)") from None
            self._cache.put(digest, record)
        return principal_from_record(record, now=self._wall())

    async def check(self, request: Any, permission: str) -> Principal:
        """The caller, if it may ``permission``; :class:`AuthFailure` otherwise (and for a forged request)."""
        if request.method.upper() in _UNSAFE:
            self._same_site(request)
        principal = await self.identify(request)
        return authorize(principal, permission) if self.policy.enabled else principal

    def _same_site(self, request: Any) -> None:
        """Refuse another site's page (``Origin``) and, on loopback, a rebound host name (``Host``)."""
        host = request.headers.get("Host", "")
        origin = request.headers.get("Origin")
        # behind a reverse proxy that rewrites Host, the browser's host is in X-Forwarded-Host (a header
        # another site's page cannot make a browser send without a preflight this worker never answers)
        hosts = {host.lower(), request.headers.get("X-Forwarded-Host", "").split(",")[0].strip().lower()} - {""}
        if origin is not None and origin != "null" and urlsplit(origin).netloc.lower() not in hosts:
            raise AuthFailure(403, "cross-site request refused (Origin is not this host)")
        if self._loopback_only and not self.policy.enabled:
            name = urlsplit(f"//{host}").hostname or ""
            if not is_loopback(name):
                raise AuthFailure(
                    403, "request refused: the worker listens on loopback, and Host is not a loopback name"
                )

    async def admit(self, request: Any, permission: str, max_bytes: int) -> tuple[Principal, bytes]:
        """The caller and the body of a request that submits work: may it, is it within its
        rate, and is its body at most ``max_bytes``; :class:`Refused` with the answer otherwise."""
        from aiohttp import web as aioweb

        try:
            caller = await self.check(request, permission)
        except AuthFailure as exc:
            raise Refused(self.refuse(exc)) from None
        wait = self.throttle(caller, request)
        if wait > 0:
            raise Refused(
                aioweb.json_response(
                    error_body("rate_limited", f"too many requests; retry in {wait:.1f} s"),
                    status=429,
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
            )
        try:
            return caller, await read_limited(request, max_bytes)
        except TooLarge:
            raise Refused(
                aioweb.json_response(error_body("too_large", f"the body is larger than {max_bytes} bytes"), status=413)
            ) from None

    def throttle(self, principal: Principal, request: Any) -> float:
        """Seconds the caller must wait (0.0: go ahead). One bucket per token, proxy identity or address."""
        if self._limits is None:
            return 0.0
        key = principal.token_id or (principal.identity if principal.authenticated else f"addr:{request.remote}")
        return self._limits.take(key)

    @staticmethod
    def refuse(exc: AuthFailure) -> Any:
        """The answer to a refusal: JSON ``{"error": {"type", "message"}}`` and the status."""
        from aiohttp import web as aioweb

        kind = {401: "unauthenticated", 403: "forbidden", 503: "unavailable"}.get(exc.status, "refused")
        headers = {"WWW-Authenticate": 'Bearer realm="riskmon"'} if exc.status == 401 else {}
        return aioweb.json_response(error_body(kind, exc.message), status=exc.status, headers=headers)
