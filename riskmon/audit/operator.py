"""Operator actions as audit records: who acknowledged, silenced, expired, or handed out access, and how they proved it.

Decisions and reviews are not the only things a compliance officer must
account for: an acknowledged alert stops the paging, a silence mutes a
detector, a token lets someone act. Each such action becomes one record of
its own on the trail (``kind: "operator_action"``), sent by the side that
knows who acted (the web port or the command line) to ``risk.audit.pending``
*before* the action itself is sent on, so no action reaches the alert
manager without its record (a record whose action then failed to send reads
as an attempt: its ``action_id`` never shows up on the alert manager's side).

Record fields: ``kind``, ``action_id`` (``act-`` + 32 hex, random; the
command sent on carries the same id), ``action`` (:data:`ACTIONS`), ``at``,
``by`` (the identity recorded on the action), ``via`` (``token``, ``proxy``,
or ``none`` when auth was off and ``by`` is only what was typed),
``token_id`` (the token's public id, never the token), ``roles``,
``channel`` (``http`` or ``cli``), ``target`` (what was acted on: a dedup or
group key, a silence with its matcher and end, a token's id, identity and
roles), ``comment``, ``schema_version``. No personal data: targets are keys
and ids, comments are operators' words (they must not write personal data).

>>> r = operator_record(action="ack", principal={"identity": "ops-anna", "via": "token", "token_id": "765009033fd8",
...                     "roles": ["operator"]}, by="ops-anna", target={"dedup_key": "cash_24h:customer:c-1"},
...                     comment="calling", channel="http", at="2026-11-29T14:38:26.000Z", action_id="act-" + "0" * 32)
>>> r["kind"], r["by"], r["via"], r["target"]
('operator_action', 'ops-anna', 'token', {'dedup_key': 'cash_24h:customer:c-1'})
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from riskmon.schemas import format_timestamp

__all__ = ["ACTIONS", "KIND", "new_action_id", "operator_record"]

KIND = "operator_action"
#: What an operator record may say was done.
ACTIONS = ("ack", "silence", "expire_silence", "pager_ack", "token_create", "token_revoke")
RECORD_VERSION = 1


def new_action_id() -> str:
    """A fresh, unguessable id tying a record to the command it preceded."""
    return "act-" + secrets.token_hex(16)


def operator_record(
    *,
    action: str,
    principal: Mapping[str, Any],
    by: str,
    target: Mapping[str, Any],
    channel: str,
    at: str | datetime,
    comment: str = "",
    action_id: str | None = None,
) -> dict[str, Any]:
    """The audit record of one operator action (``principal`` is :meth:`riskmon.auth.Principal.audit_fields`).

    Raises
    ------
    ValueError
        For an action or channel this version does not know.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown operator action {action!r}")
    if channel not in ("http", "cli"):
        raise ValueError(f"unknown channel {channel!r}")
    return {
        "kind": KIND,
        "action_id": action_id or new_action_id(),
        "action": action,
        "at": format_timestamp(at) if isinstance(at, datetime) else at,
        "by": by,
        "via": principal.get("via", "none"),
        "token_id": principal.get("token_id"),
        "roles": list(principal.get("roles") or []),
        "channel": channel,
        "target": dict(target),
        "comment": str(comment)[:500],
        "schema_version": RECORD_VERSION,
    }
