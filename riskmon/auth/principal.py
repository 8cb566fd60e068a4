"""Who a request is: from its headers, a token's record, and the deployment's auth policy (pure).

Two ways to say who you are, checked in this order:

1. ``Authorization: Bearer rmk_...``: a token made by ``riskmon token create``;
   the caller looks its hash up (:mod:`riskmon.auth.store`) and passes the
   record to :func:`principal_from_record`.
2. An authenticating proxy in front of the worker (single sign-on): with
   ``RISKMON_PROXY_IDENTITY_HEADER`` and ``RISKMON_PROXY_SECRET`` set, a
   request carrying that header *and* ``X-Riskmon-Proxy-Secret`` equal to the
   secret is the named identity, with the roles in ``X-Riskmon-Roles``
   (``viewer`` when absent). Without the secret the header is ignored: anyone
   can set a header, only the proxy knows the secret.

With auth off (``RISKMON_AUTH=off``, or ``auto`` on a loopback web host)
every request is the :meth:`Principal.anonymous` caller, who may do
everything and whose actions are recorded with the name they give and
``via: "none"``.

>>> policy = AuthPolicy(enabled=True, proxy_identity_header="X-Forwarded-User", proxy_secret="s" * 32)
>>> read_credentials({"authorization": "Bearer rmk_" + "A" * 43}, policy).kind
'token'
>>> p = read_credentials({"X-Forwarded-User": "ops-anna", "X-Riskmon-Proxy-Secret": "s" * 32,
...                       "X-Riskmon-Roles": "operator"}, policy).principal
>>> p.identity, p.roles, p.via, p.may("alerts.act")
('ops-anna', ('operator',), 'proxy', True)
>>> read_credentials({}, policy)
Traceback (most recent call last):
...
riskmon.auth.principal.AuthFailure: 401: sign in: send Authorization: Bearer <token>
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from riskmon.auth.roles import RoleError, allows, parse_roles
from riskmon.auth.tokens import TokenError, TokenRecord, check_identity, hash_token, looks_like_token

__all__ = [
    "PROXY_ROLES_HEADER",
    "PROXY_SECRET_HEADER",
    "AuthFailure",
    "AuthPolicy",
    "Credentials",
    "Principal",
    "authorize",
    "principal_from_record",
    "read_credentials",
    "resolve_name",
]

#: The header an authenticating proxy proves itself with.
PROXY_SECRET_HEADER = "X-Riskmon-Proxy-Secret"
#: The header an authenticating proxy passes the caller's roles in (comma-separated).
PROXY_ROLES_HEADER = "X-Riskmon-Roles"

Via = Literal["token", "proxy", "none"]


class AuthFailure(Exception):
    """A request refused: ``status`` 401 (who are you?) or 403 (not allowed), and a message safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: an identity (recorded on what it does), its roles, and how it was established."""

    identity: str
    roles: tuple[str, ...]
    via: Via
    token_id: str | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        """The caller when auth is off: allowed everything, named by what it types."""
        return cls(identity="", roles=("admin",), via="none")

    @property
    def authenticated(self) -> bool:
        return self.via != "none"

    def may(self, permission: str) -> bool:
        return allows(self.roles, permission)

    def audit_fields(self) -> dict[str, Any]:
        """What the audit trail keeps of the caller (the token's id, never the token)."""
        return {
            "identity": self.identity or None,
            "via": self.via,
            "token_id": self.token_id,
            "roles": list(self.roles),
        }


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """The deployment's rules: on or off, and the authenticating proxy, if any."""

    enabled: bool
    proxy_identity_header: str | None = None
    proxy_secret: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented: a token's hash to look up, or a principal the proxy vouched for."""

    kind: Literal["token", "proxy"]
    token_hash: str | None = None
    principal: Principal | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (aiohttp's headers already ignore case; plain dicts do not)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def read_credentials(headers: Mapping[str, str], policy: AuthPolicy) -> Credentials:
    """What the request presents; :class:`AuthFailure` (401) when it presents nothing usable."""
    authorization = _header(headers, "Authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not looks_like_token(token):
            raise AuthFailure(401, "the Authorization header must be Bearer and a riskmon token (rmk_...)")
        return Credentials("token", token_hash=hash_token(token))
    if policy.proxy_identity_header and policy.proxy_secret:
        identity = _header(headers, policy.proxy_identity_header)
        if identity is not None:
            secret = _header(headers, PROXY_SECRET_HEADER) or ""
            if not hmac.compare_digest(secret.encode(), policy.proxy_secret.encode()):
                raise AuthFailure(401, f"{policy.proxy_identity_header} without the proxy's secret is not trusted")
            try:
                name = check_identity(identity.strip())
                roles = parse_roles(_header(headers, PROXY_ROLES_HEADER) or "viewer")
            except (TokenError, RoleError) as exc:
                raise AuthFailure(401, f"the proxy's identity is not usable: {exc}") from None
            return Credentials("proxy", principal=Principal(identity=name, roles=roles, via="proxy"))
    raise AuthFailure(401, "sign in: send Authorization: Bearer <token>")


def principal_from_record(record: TokenRecord | None, *, now: float) -> Principal:
    """The caller a looked-up token names; 401 when the token is unknown, revoked or expired."""
    if record is None:
        raise AuthFailure(401, "unknown or revoked token")
    if not record.usable(now=now):
        raise AuthFailure(401, f"token {record.token_id} expired")
    return Principal(identity=record.identity, roles=record.roles, via="token", token_id=record.token_id)


def authorize(principal: Principal, permission: str) -> Principal:
    """``principal`` if it holds ``permission``; else :class:`AuthFailure` (403) naming what is missing."""
    if not principal.may(permission):
        raise AuthFailure(403, f"{principal.identity} may not do this: it needs {permission}")
    return principal


def resolve_name(principal: Principal, given: object, what: str) -> str:
    """The name to record for an action: the principal's identity, or (auth off) the name given.

    An authenticated caller may repeat its own identity in ``by``/``author``,
    never name someone else: 403.
    """
    if not principal.authenticated:
        return given if isinstance(given, str) else ""
    if given not in (None, "", principal.identity):
        raise AuthFailure(403, f"{what} must be your own identity ({principal.identity}) or left out")
    return principal.identity
