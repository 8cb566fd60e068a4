"""Roles and the permissions they grant: the one table of who may do what.

Every guarded page and command names one permission; a caller holds it when
one of its roles grants it. Roles are coarse on purpose: a bank's access
reviews read this table, so it stays short enough to read.

========== ===========================================================================
role       may
========== ===========================================================================
viewer     see the console, the alerts and the silences
operator   what a viewer may, and acknowledge alerts, create and expire silences
service    submit applications (``POST /v1/applications``) and read decisions
pager      acknowledge incidents through the pager webhook
metrics    scrape ``/metrics``
admin      everything above
========== ===========================================================================

>>> allows(("operator",), "alerts.act"), allows(("viewer",), "alerts.act")
(True, False)
>>> parse_roles("operator, metrics")
('metrics', 'operator')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = ["PERMISSIONS", "ROLES", "RoleError", "allows", "parse_roles"]

#: Every permission a page or command may ask for, with what it guards.
PERMISSIONS: Mapping[str, str] = MappingProxyType(
    {
        "console.view": "the console and its feeds, GET /v1/alerts, GET /v1/silences",
        "alerts.act": "acknowledge alerts, create and expire silences (HTTP, console, command line)",
        "applications.submit": "POST /v1/applications",
        "decisions.read": "GET /v1/decisions/<application_id>",
        "pager.acknowledge": "POST /v1/pager/acknowledge",
        "metrics.scrape": "GET /metrics",
    }
)

#: Role -> the permissions it grants.
ROLES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "viewer": frozenset({"console.view"}),
        "operator": frozenset({"console.view", "alerts.act"}),
        "service": frozenset({"applications.submit", "decisions.read"}),
        "pager": frozenset({"pager.acknowledge"}),
        "metrics": frozenset({"metrics.scrape"}),
        "admin": frozenset(PERMISSIONS),
    }
)


class RoleError(ValueError):
    """An unknown role, or none at all; the message lists the known ones."""


def parse_roles(value: str | Iterable[str]) -> tuple[str, ...]:
    """Roles from ``"a,b"`` or an iterable, checked, without repeats, sorted.

    Raises
    ------
    RoleError
        If a role is unknown or none is given.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    roles = sorted({str(r).strip() for r in items if str(r).strip()})
    if not roles:
        raise RoleError(f"name at least one role: {', '.join(ROLES)}")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise RoleError(f"unknown role {', '.join(unknown)}: roles are {', '.join(ROLES)}")
    return tuple(roles)


def allows(roles: Iterable[str], permission: str) -> bool:
    """Whether any of ``roles`` grants ``permission`` (unknown roles grant nothing).

    Raises
    ------
    KeyError
        If ``permission`` is not in :data:`PERMISSIONS` (a typo in a page must not silently deny, or allow).
    """
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return any(permission in ROLES.get(role, frozenset()) for role in roles)
