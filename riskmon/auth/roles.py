"""Roles and the permissions they grant: the one table of who may do what.

Every guarded page and command names one permission; a caller holds it when
one of its roles grants it. Roles are coarse on purpose: a bank's access
reviews read this table, so it stays short enough to read.

=========== ==========================================================================
role        may
=========== ==========================================================================
viewer      see the console, the alerts and the silences; read decisions
operator    what a viewer may, and acknowledge alerts, create and expire silences
submitter   submit applications (``POST /v1/applications``, scanned forms ``POST /v1/intake``) and read the decisions
auditor     read the audit trail: an application's audited history, the checkpoints, an export
pager       acknowledge incidents through the pager webhook
metrics     scrape ``/metrics``
admin       everything above
=========== ==========================================================================

>>> allows(("operator",), "alerts.act"), allows(("viewer",), "alerts.act"), allows(("viewer",), "decisions.read")
(True, False, True)
>>> allows(("submitter",), "applications.submit"), allows(("auditor",), "audit.read"), allows(("viewer",), "audit.read")
(True, True, False)
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
        "applications.submit": "POST /v1/applications, POST /v1/intake",
        "decisions.read": "GET /v1/decisions/<application_id>",
        "audit.read": "GET /v1/audit/applications/<application_id>, /v1/audit/checkpoints, /v1/audit/export",
        "pager.acknowledge": "POST /v1/pager/acknowledge",
        "metrics.scrape": "GET /metrics",
    }
)

#: Role -> the permissions it grants.
ROLES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "viewer": frozenset({"console.view", "decisions.read"}),
        "operator": frozenset({"console.view", "decisions.read", "alerts.act"}),
        "submitter": frozenset({"applications.submit", "decisions.read"}),
        "auditor": frozenset({"audit.read"}),
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
