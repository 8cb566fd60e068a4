"""Who may do what: operators' roles, bearer tokens, and the limits on what one caller may ask.

* :mod:`~riskmon.auth.roles`: the roles and the permissions each grants (pure).
* :mod:`~riskmon.auth.tokens`: making a token, hashing it, the record kept of it (pure).
* :mod:`~riskmon.auth.principal`: who a request is, from its headers and a token lookup (pure).
* :mod:`~riskmon.auth.ratelimit`: token buckets with an injected clock (pure).
* :mod:`~riskmon.auth.store`: the token records in Redis, by the token's SHA-256 only.

A token is 32 random bytes, shown once by ``riskmon token create`` and never
stored: Redis keeps its SHA-256 and a record of whom it names and what roles
it carries. The web pages (:mod:`riskmon.runtime.web.guard`) and the command
line resolve a token to a :class:`~riskmon.auth.principal.Principal`, whose
identity is what the alert manager and the audit trail record.
"""

from riskmon.auth.principal import AuthFailure, Principal
from riskmon.auth.roles import PERMISSIONS, ROLES, RoleError, allows, parse_roles
from riskmon.auth.tokens import TokenError, TokenRecord, check_identity, hash_token, new_token

__all__ = [
    "AuthFailure",
    "PERMISSIONS",
    "Principal",
    "ROLES",
    "RoleError",
    "TokenError",
    "TokenRecord",
    "allows",
    "check_identity",
    "hash_token",
    "new_token",
    "parse_roles",
]
