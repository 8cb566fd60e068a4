"""Bearer tokens: 32 random bytes shown once; only their SHA-256 is ever kept.

Why a hash and not the token: whoever reads Redis (a backup, a replica, a
support engineer) must not be able to act as an operator. A SHA-256 of 256
random bits cannot be turned back into the token, and needs no salt or slow
hash: salts and key stretching protect guessable passwords, not random keys.

A token reads ``rmk_<43 base64url characters>``; the prefix makes a leaked
token easy to recognise (secret scanners, logs). Its *id* (the first 12 hex
digits of its hash) names it in listings and revocations without revealing it.

>>> token, digest = new_token(entropy=bytes(32))
>>> token
'rmk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
>>> digest == hash_token(token), token_id(digest)
(True, '765009033fd8')
>>> record = TokenRecord(token_id="8c12d5b1fa44", identity="ops-anna", roles=("operator",), created_at=0.0)
>>> TokenRecord.from_json(record.to_json()) == record, record.usable(now=1.0)
(True, True)
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from riskmon.auth.roles import RoleError, parse_roles

__all__ = [
    "TOKEN_PREFIX",
    "TokenError",
    "TokenRecord",
    "check_identity",
    "hash_token",
    "looks_like_token",
    "new_token",
    "token_id",
]

TOKEN_PREFIX = "rmk_"
_TOKEN = re.compile(r"rmk_[A-Za-z0-9_-]{43}")
#: The identities an alert or a silence may record (as ``riskmon ack --by`` always accepted).
_IDENTITY = re.compile(r"[A-Za-z0-9._:@-]{1,128}")


class TokenError(ValueError):
    """A token or a token record that cannot be used; the message says why (never quoting the token)."""


def new_token(*, entropy: bytes | None = None) -> tuple[str, str]:
    """A new token and its SHA-256 (hex). ``entropy`` (32 bytes) is for tests only."""
    raw = secrets.token_bytes(32) if entropy is None else entropy
    if len(raw) != 32:
        raise ValueError("a token is 32 random bytes")
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return token, hash_token(token)


def looks_like_token(value: str) -> bool:
    """Whether ``value`` has a token's shape (checked before any lookup: junk never reaches Redis)."""
    return _TOKEN.fullmatch(value) is not None


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token's record is kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(digest: str) -> str:
    """The short public name of a token: the first 12 hex digits of its hash."""
    return digest[:12]


def check_identity(value: object) -> str:
    """``value`` if it can name an operator (1 to 128 of ``[A-Za-z0-9._:@-]``).

    Raises
    ------
    TokenError
        Otherwise.
    """
    if not isinstance(value, str) or not _IDENTITY.fullmatch(value):
        raise TokenError("an identity is 1 to 128 characters from [A-Za-z0-9._:@-]")
    return value


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What is kept of a token: whom it names, its roles, who made it and until when it is good."""

    token_id: str
    identity: str
    roles: tuple[str, ...]
    created_at: float
    expires_at: float | None = None
    created_by: str = ""
    comment: str = ""

    def usable(self, *, now: float) -> bool:
        """Not expired at ``now`` (revoked tokens have no record at all)."""
        return self.expires_at is None or now < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "identity": self.identity,
            "roles": list(self.roles),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "created_by": self.created_by,
            "comment": self.comment,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str) -> TokenRecord:
        """A stored record, checked field by field.

        Raises
        ------
        TokenError
            If it is not a record this version wrote (a damaged record grants nothing).
        """
        try:
            doc = orjson.loads(raw)
            expires = doc.get("expires_at")
            return cls(
                token_id=str(doc["token_id"]),
                identity=check_identity(doc["identity"]),
                roles=parse_roles(doc["roles"]),
                created_at=float(doc["created_at"]),
                expires_at=None if expires is None else float(expires),
                created_by=str(doc.get("created_by", "")),
                comment=str(doc.get("comment", "")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, RoleError) as exc:
            raise TokenError(f"unreadable token record ({type(exc).__name__})") from None
