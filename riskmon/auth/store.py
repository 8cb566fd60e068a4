"""Token records in Redis: one hash, ``<ns>:auth:tokens``, field = the token's SHA-256, value = the record.

Only hashes are stored (:mod:`riskmon.auth.tokens` says why). The namespace
is the deployment's (:func:`riskmon.pipeline.store.key_namespace`), so
environments sharing a Redis never accept each other's tokens. Redis keys
and fields hold no identity: the hash is the field, the identity is inside
the value.

:class:`TokenStore` is what ``riskmon token`` runs (a plain client);
:func:`lookup` is what the web pages await (an asyncio client), behind a
:class:`TokenCache` so that a burst of requests costs one Redis round trip
and a revocation takes effect within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from riskmon.auth.roles import parse_roles
from riskmon.auth.tokens import TokenError, TokenRecord, check_identity, hash_token, new_token, token_id

__all__ = ["CACHE_SECONDS", "TokenCache", "TokenStore", "lookup", "tokens_key"]

#: How long a looked-up token (or its absence) is trusted before Redis is asked again.
CACHE_SECONDS = 5.0


def tokens_key(namespace: str) -> str:
    """The Redis hash of a deployment's token records."""
    return f"{namespace}:auth:tokens"


class TokenStore:
    """Create, list, revoke and resolve tokens with a synchronous Redis client (the command line)."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._client = client
        self._key = tokens_key(namespace)

    def create(
        self,
        identity: str,
        roles: str | tuple[str, ...],
        *,
        now: float,
        expires_at: float | None = None,
        created_by: str = "",
        comment: str = "",
    ) -> tuple[str, TokenRecord]:
        """A new token for ``identity``: the token (shown once, never stored) and its record."""
        token, digest = new_token()
        record = TokenRecord(
            token_id=token_id(digest),
            identity=check_identity(identity),
            roles=parse_roles(roles),
            created_at=now,
            expires_at=expires_at,
            created_by=created_by,
            comment=comment[:500],
        )
        self._client.hset(self._key, digest, record.to_json())
        return token, record

    def records(self) -> list[TokenRecord]:
        """Every token record, oldest first (a damaged one is skipped: it grants nothing)."""
        out = []
        for raw in self._client.hgetall(self._key).values():
            try:
                out.append(TokenRecord.from_json(raw))
            except TokenError:
                continue
        return sorted(out, key=lambda r: (r.created_at, r.token_id))

    def revoke(self, tid: str) -> TokenRecord | None:
        """Delete the token whose id is ``tid``; its record, or None if there is none."""
        for digest, raw in self._client.hgetall(self._key).items():
            field = digest.decode() if isinstance(digest, bytes) else digest
            if token_id(field) == tid:
                self._client.hdel(self._key, field)
                try:
                    return TokenRecord.from_json(raw)
                except TokenError:
                    return TokenRecord(tid, "unreadable", ("viewer",), 0.0)
        return None

    def resolve(self, token: str) -> TokenRecord | None:
        """The record of ``token``, or None (unknown, revoked or damaged)."""
        return _record(self._client.hget(self._key, hash_token(token)))


def _record(raw: bytes | None) -> TokenRecord | None:
    """A stored token record, or None when there is none or it cannot be read (a damaged one grants nothing)."""
    if raw is None:
        return None
    try:
        return TokenRecord.from_json(raw)
    except TokenError:
        return None


async def lookup(client: Any, namespace: str, digest: str) -> TokenRecord | None:
    """The record under ``digest`` with an asyncio Redis client; None when there is none (or it is damaged)."""
    return _record(await client.hget(tokens_key(namespace), digest))


class TokenCache:
    """Recent lookups by hash, absences included, each for ``ttl`` seconds (pure; the clock is passed in)."""

    def __init__(self, *, ttl: float = CACHE_SECONDS, clock: Callable[[], float], max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, tuple[float, TokenRecord | None]] = {}

    def get(self, digest: str) -> tuple[bool, TokenRecord | None]:
        """``(found, record)``: found is False when Redis must be asked."""
        hit = self._entries.get(digest)
        if hit is None or self._clock() - hit[0] >= self._ttl:
            return False, None
        return True, hit[1]

    def put(self, digest: str, record: TokenRecord | None) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()  # a flood of made-up tokens: start over rather than grow
        self._entries[digest] = (self._clock(), record)
