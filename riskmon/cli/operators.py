"""The command line's side of "who may do what": ``riskmon token create|list|revoke``, and the
operator identity that ``riskmon ack`` and ``riskmon silence`` act as.

Tokens are made and revoked by whoever holds the deployment's Redis
credentials (the Redis ACL is the boundary for handing out access); each
creation and revocation is an audit record naming the local account that ran
it (``os:<user>``). The token is printed once, on stdout, and kept nowhere.

``riskmon ack``/``silence`` act as the identity of ``--token`` (or
``RISKMON_TOKEN``), looked up by its hash in the same Redis, and need the
``alerts.act`` permission (the ``operator`` or ``admin`` role). ``--by`` /
``--author`` may repeat that identity or be left out; naming someone else is
refused. Only with ``RISKMON_AUTH=off`` does the command line take a typed
name instead, recorded as such (``via: "none"``).

Every action is sent as an audit record to ``risk.audit.pending`` first, then
as the command, each waiting for the broker's acknowledgement.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from riskmon.auth.principal import AuthFailure, Principal, authorize, principal_from_record, resolve_name
from riskmon.auth.roles import ROLES
from riskmon.auth.tokens import looks_like_token

__all__ = [
    "OperatorError",
    "acting_name",
    "add_token_commands",
    "cli_principal",
    "cmd_token",
    "local_account",
    "send_with_record",
    "token_from",
]


class OperatorError(Exception):
    """A problem the user can fix; printed on one line."""


def add_token_commands(sub: Any) -> None:
    """``riskmon token create|list|revoke``."""
    token = sub.add_parser("token", help="access tokens for people and services: create, list, revoke")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="make a token with --role R --name N; it is printed once and kept nowhere"
    )
    create.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="R",
        help=f"{', '.join(ROLES)} (repeatable, or comma-separated)",
    )
    create.add_argument(
        "--name",
        required=True,
        metavar="N",
        help="the identity the token acts as, recorded on what it does (e.g. ops-anna, approvals-svc)",
    )
    create.add_argument("--expires", default="90d", help="lifetime, e.g. 12h, 30d; 'never' for none (default 90d)")
    create.add_argument("--comment", default="", help="why it exists (recorded)")
    lst = actions.add_parser("list", help="list tokens (ids, identities, roles; never the tokens)")
    lst.add_argument("--json", action="store_true", help="JSON output")
    revoke = actions.add_parser("revoke", help="revoke a token by its id (from `riskmon token list`)")
    revoke.add_argument("token_id")
    for p in (create, lst, revoke):
        p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (overrides RISKMON_KAFKA_BOOTSTRAP)")
        p.add_argument("--redis-url", default=None, help="Redis URL (overrides RISKMON_REDIS_URL)")
        p.add_argument("--topic-prefix", default=None, help="environment prefix (overrides RISKMON_TOPIC_PREFIX)")


def local_account() -> str:
    """``os:<user>``: who ran a token command on this machine (an identity the trail accepts)."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return "os:" + (re.sub(r"[^A-Za-z0-9._@-]", "_", user)[:100] or "unknown")


def _expiry(text: str, now: float) -> float | None:
    if text.strip().lower() == "never":
        return None
    from riskmon.alerting.config import AlertingConfigError, parse_duration

    try:
        seconds = parse_duration(text, "--expires")
    except (AlertingConfigError, ValueError) as exc:
        raise OperatorError(str(exc)) from None
    if seconds <= 0:
        raise OperatorError("--expires must be above zero")
    return now + seconds


def _redis(settings: Any) -> Any:
    from riskmon.redis_clients import sync_client

    return sync_client(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)


def _when(t: float | None) -> str:
    return "never" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def send_with_record(
    settings: Any,
    *,
    record: dict[str, Any] | None,
    command: tuple[str, str, dict[str, Any]] | None = None,
) -> None:
    """Produce the audit ``record`` (to ``risk.audit.pending``) and then ``command`` (topic, key, doc).

    Each waits for the broker's acknowledgement; if the record is not
    delivered, the command is not sent. ``RISKMON_AUDIT=0`` sends no record.
    """
    import orjson
    from confluent_kafka import KafkaException, Producer

    from riskmon.runtime.topics import ensure_topics, topic_names
    from riskmon.settings import PRODUCER_DEFAULTS

    ensure_topics(settings, timeout=15)
    producer = Producer({**settings.confluent_config(), **PRODUCER_DEFAULTS})
    errors: list[str] = []

    def deliver(topic: str, key: bytes | None, value: bytes) -> None:
        producer.produce(
            topic, key=key, value=value, on_delivery=lambda err, msg: errors.append(str(err)) if err else None
        )
        if producer.flush(15) or errors:
            raise KafkaException(errors[0] if errors else "not delivered within 15 s")

    if record is not None and settings.audit_enabled:
        deliver(topic_names(settings).audit_pending, None, orjson.dumps({"records": [record]}))
    if command is not None:
        topic, key, doc = command
        deliver(topic, key.encode(), orjson.dumps(doc))


def cli_principal(settings: Any, token: str | None) -> Principal:
    """Who runs ``riskmon ack``/``silence``: the token's identity (needs ``alerts.act``), or, with
    ``RISKMON_AUTH=off``, the anonymous caller whose typed name is recorded."""
    if settings.auth == "off" and not token:
        return Principal.anonymous()
    if not token:
        raise OperatorError(
            "this command needs an operator token: --token or RISKMON_TOKEN "
            "(`riskmon token create --role operator --name NAME` makes one)"
        )
    if not looks_like_token(token.strip()):
        raise OperatorError("the token is not a riskmon token (rmk_...)")
    from riskmon.auth.store import TokenStore
    from riskmon.pipeline.store import key_namespace

    client = _redis(settings)
    try:
        record = TokenStore(client, key_namespace(settings.topic_prefix, settings.redis_url)).resolve(token.strip())
    finally:
        client.close()
    try:
        return authorize(principal_from_record(record, now=time.time()), "alerts.act")
    except AuthFailure as exc:
        raise OperatorError(exc.message) from None


def acting_name(principal: Principal, given: str | None, flag: str) -> str:
    """The name recorded for an action from the command line (see :func:`resolve_name`)."""
    try:
        return resolve_name(principal, given, flag)
    except AuthFailure as exc:
        raise OperatorError(exc.message) from None


def cmd_token(args: argparse.Namespace, settings: Any) -> int:
    """``riskmon token create|list|revoke``."""
    from riskmon.audit.operator import operator_record
    from riskmon.auth.roles import RoleError
    from riskmon.auth.store import TokenStore
    from riskmon.auth.tokens import TokenError
    from riskmon.pipeline.store import key_namespace

    client = _redis(settings)
    store = TokenStore(client, key_namespace(settings.topic_prefix, settings.redis_url))
    me = local_account()
    creator: dict[str, Any] = {"identity": me, "via": "none", "token_id": None, "roles": []}
    try:
        if args.token_command == "list":
            records = store.records()
            if args.json:
                print(json.dumps([r.to_dict() for r in records], indent=2))
                return 0
            for r in records:
                state = "expired" if not r.usable(now=time.time()) else "active"
                print(
                    f"{r.token_id}  {r.identity:<24} {','.join(r.roles):<20} {state:<7} "
                    f"created {_when(r.created_at)} by {r.created_by or '-'}  expires {_when(r.expires_at)}"
                )
            if not records:
                print("no tokens", file=sys.stderr)
            return 0
        now = time.time()
        if args.token_command == "create":
            try:
                token, record = store.create(
                    args.name,
                    tuple(r for given in args.role for r in given.split(",")),
                    now=now,
                    expires_at=_expiry(args.expires, now),
                    created_by=me,
                    comment=args.comment,
                )
            except (RoleError, TokenError) as exc:
                raise OperatorError(str(exc)) from None
            audit = operator_record(
                action="token_create",
                principal=creator,
                by=me,
                target={
                    "token_id": record.token_id,
                    "identity": record.identity,
                    "roles": list(record.roles),
                    "expires_at": record.expires_at,
                },
                channel="cli",
                at=datetime.now(UTC),
                comment=args.comment,
            )
            try:
                send_with_record(settings, record=audit)
            except Exception:
                store.revoke(record.token_id)  # no token without its audit record
                raise
            print(
                f"token {record.token_id} for {record.identity} ({', '.join(record.roles)}), "
                f"expires {_when(record.expires_at)}; shown once, keep it secret:",
                file=sys.stderr,
            )
            print(token)
            return 0
        revoked = store.revoke(args.token_id)
        if revoked is None:
            raise OperatorError(f"no token with id {args.token_id} (see `riskmon token list`)")
        send_with_record(
            settings,
            record=operator_record(
                action="token_revoke",
                principal=creator,
                by=me,
                target={"token_id": revoked.token_id, "identity": revoked.identity, "roles": list(revoked.roles)},
                channel="cli",
                at=datetime.now(UTC),
            ),
        )
        print(f"revoked {revoked.token_id} ({revoked.identity}); workers stop accepting it within 5 s")
        return 0
    finally:
        client.close()


def token_from(args: argparse.Namespace) -> str | None:
    return getattr(args, "token", None) or os.environ.get("RISKMON_TOKEN") or None
