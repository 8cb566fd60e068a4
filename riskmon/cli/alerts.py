"""``riskmon ack``, ``riskmon silence`` and ``riskmon alerts``: the alert lifecycle from a terminal.

Commands are produced to the alert manager's input topic (so they are
ordered with alerts and survive a restart) and wait for the broker's
acknowledgement; listings read the state the manager saves in Redis.

Acting needs an operator token (``--token`` or ``RISKMON_TOKEN``): the
action is recorded as the token's identity, and on the audit trail before it
is sent (:mod:`riskmon.cli.operators`). ``--by``/``--author`` may repeat that
identity or be left out; with ``RISKMON_AUTH=off`` they name the operator instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["add_alerting_commands", "ALERTING_COMMANDS"]


def _connection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (overrides RISKMON_KAFKA_BOOTSTRAP)")
    p.add_argument("--redis-url", default=None, help="Redis URL (overrides RISKMON_REDIS_URL)")
    p.add_argument("--topic-prefix", default=None, help="environment prefix (overrides RISKMON_TOPIC_PREFIX)")


def _token(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--token",
        default=None,
        help="your operator token (default: $RISKMON_TOKEN); prefer the variable: arguments show in `ps`",
    )


def add_alerting_commands(sub: Any) -> None:
    """Register the subcommands on the main parser's ``sub`` (argparse subparsers)."""
    ack = sub.add_parser("ack", help="acknowledge an alert (dedup key) or an incident (group key)")
    ack.add_argument("key", help="the alert's dedup_key (e.g. cash_24h:customer:c-1) or a group key (grp-...)")
    ack.add_argument("--by", default=None, help="your identity (optional: the token's is recorded)")
    ack.add_argument("--comment", default="", help="what you are doing about it")
    _connection(ack)
    _token(ack)

    silence = sub.add_parser("silence", help="mute matching alerts for a while (add, list, expire)")
    silence_sub = silence.add_subparsers(dest="silence_command", required=True, metavar="ACTION")
    add = silence_sub.add_parser("add", help="create a silence")
    add.add_argument(
        "matcher",
        help="field=value[,field=a|b]; fields: level, detector, subject_kind, subject_id, dedup_key, labels.NAME",
    )
    add.add_argument("--duration", required=True, help="how long, e.g. 30m, 2h, 1d")
    add.add_argument("--author", default=None, help="your identity (optional: the token's is recorded)")
    add.add_argument("--comment", required=True, help="why (recorded)")
    _connection(add)
    _token(add)
    lst = silence_sub.add_parser("list", help="list silences (active and expired)")
    _connection(lst)
    lst.add_argument("--json", action="store_true", help="JSON output")
    expire = silence_sub.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id")
    expire.add_argument("--by", default=None, help="your identity (optional: the token's is recorded)")
    _connection(expire)
    _token(expire)

    alerts = sub.add_parser("alerts", help="alerts known to the alert manager")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    alist = alerts_sub.add_parser("list", help="open alerts (or --all), most severe first")
    alist.add_argument("--all", action="store_true", help="include resolved alerts")
    alist.add_argument("--json", action="store_true", help="JSON output")
    _connection(alist)

    from riskmon.cli.operators import add_token_commands

    add_token_commands(sub)


def _settings(args: argparse.Namespace) -> Any:
    from riskmon.settings import settings_from_env

    return settings_from_env().with_overrides(
        kafka_bootstrap=args.bootstrap, redis_url=args.redis_url, topic_prefix=args.topic_prefix
    )


def _act(settings: Any, principal: Any, action: str, key: str, command: dict[str, Any], target: dict[str, Any]) -> None:
    """Record the action on the audit trail, then send the command to the alert manager."""
    from riskmon.audit.operator import new_action_id, operator_record
    from riskmon.cli.operators import send_with_record
    from riskmon.runtime.topics import topic_names

    command["action_id"] = new_action_id()
    record = operator_record(
        action=action,
        principal=principal.audit_fields(),
        by=str(command.get("by") or command.get("silence", {}).get("author") or ""),
        target=target,
        channel="cli",
        at=datetime.now(UTC),
        comment=str(command.get("comment") or command.get("silence", {}).get("comment") or ""),
        action_id=command["action_id"],
    )
    send_with_record(settings, record=record, command=(topic_names(settings).alert_candidates, key, command))


def _redis_hash(settings: Any, name: str) -> dict[bytes, bytes]:
    from riskmon.pipeline.store import key_namespace
    from riskmon.redis_clients import sync_client

    client = sync_client(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
    namespace = key_namespace(settings.topic_prefix, settings.redis_url)
    return client.hgetall(f"{namespace}:{name}")


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _cmd_ack(args: argparse.Namespace) -> int:
    from riskmon.alerting.commands import ack_command
    from riskmon.cli.operators import acting_name, cli_principal, token_from

    settings = _settings(args)
    who = cli_principal(settings, token_from(args))
    by = acting_name(who, args.by, "--by")
    doc = ack_command(args.key, by=by, comment=args.comment, at=time.time())
    _act(settings, who, "ack", args.key, doc, {"dedup_key": args.key})
    print(f"acknowledgement of {args.key} by {by} sent to the alert manager")
    return 0


def _cmd_silence(args: argparse.Namespace) -> int:
    import orjson

    from riskmon.alerting.commands import expire_command, silence_command
    from riskmon.alerting.silences import Silence

    settings = _settings(args)
    if args.silence_command == "add":
        from riskmon.cli.operators import acting_name, cli_principal, token_from

        who = cli_principal(settings, token_from(args))
        author = acting_name(who, args.author, "--author")
        doc = silence_command(
            args.matcher, duration=args.duration, author=author, comment=args.comment, now=time.time()
        )
        s = doc["silence"]
        target = {"silence_id": s["id"], "matcher": s["matcher"], "ends_at": s["ends_at"]}
        _act(settings, who, "silence", s["id"], doc, target)
        print(f"{s['id']}  until {_when(s['ends_at'])}  {args.matcher}")
        return 0
    if args.silence_command == "expire":
        from riskmon.cli.operators import acting_name, cli_principal, token_from

        who = cli_principal(settings, token_from(args))
        doc = expire_command(args.silence_id, by=acting_name(who, args.by, "--by"), at=time.time())
        _act(settings, who, "expire_silence", args.silence_id, doc, {"silence_id": args.silence_id})
        print(f"expiry of {args.silence_id} sent to the alert manager")
        return 0
    silences = sorted(
        (Silence.from_dict(orjson.loads(v)) for v in _redis_hash(settings, "alerts:silences").values()),
        key=lambda s: s.created_at,
    )
    now = time.time()
    if args.json:
        print(json.dumps([{**s.to_dict(), "active": s.active(now)} for s in silences], indent=2))
        return 0
    for s in silences:
        matcher = ",".join(f"{k}={'|'.join(v)}" for k, v in s.matcher.items())
        state = "active" if s.active(now) else ("pending" if now < s.starts_at else "expired")
        print(f"{s.id}  {state:<7}  until {_when(s.ends_at)}  {matcher}  by {s.author}: {s.comment}")
    if not silences:
        print("no silences", file=sys.stderr)
    return 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    import orjson

    from riskmon.alerting.model import AlertState
    from riskmon.schemas.vocab import LEVELS

    states = [AlertState.from_dict(orjson.loads(v)) for v in _redis_hash(_settings(args), "alerts:state").values()]
    shown = [s for s in states if args.all or s.firing]
    shown.sort(key=lambda s: (-LEVELS.index(s.alert.level), s.alert.started_at))
    if args.json:
        print(json.dumps([{**s.alert.to_dict(), "notified": s.notified} for s in shown], indent=2))
        return 0
    for s in shown:
        a = s.alert
        extra = f" ack:{a.acknowledged_by}" if a.acknowledged_by else ""
        extra += f" {a.suppressed_by}" if a.suppressed_by else ""
        print(
            f"{a.level:<8} {a.status:<8} {a.dedup_key}  x{a.count}  "
            f"since {a.started_at:%Y-%m-%d %H:%M}{extra}  {a.summary}"
        )
    if not shown:
        print("no open alerts" if not args.all else "no alerts", file=sys.stderr)
    return 0


def _guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the errors a user can fix into the CLI's one-line errors."""

    def run(args: argparse.Namespace) -> int:
        from confluent_kafka import KafkaException
        from redis.exceptions import RedisClusterException, RedisError

        from riskmon.alerting.commands import CommandError
        from riskmon.cli.operators import OperatorError
        from riskmon.settings import SettingsError

        try:
            return fn(args)
        except (CommandError, SettingsError, OperatorError) as exc:
            raise UserError(str(exc)) from exc
        except (RedisError, RedisClusterException) as exc:
            raise UserError(
                f"cannot reach Redis at {_address(args, 'redis_url')} ({type(exc).__name__}: {exc})"
            ) from exc
        except KafkaException as exc:
            raise UserError(f"cannot reach Kafka at {_address(args, 'kafka_bootstrap')} ({exc})") from exc
        except OSError as exc:  # the broker or Redis is unreachable in some other way
            raise UserError(f"{type(exc).__name__}: {exc}") from exc

    return run


def _address(args: argparse.Namespace, name: str) -> str:
    """Where the command looked for Redis or Kafka (the URL without its password), for the one-line error."""
    from urllib.parse import urlsplit

    try:
        value = str(getattr(_settings(args), name))
    except Exception:
        return "?"
    parts = urlsplit(value)
    if parts.password:
        value = parts._replace(netloc=f"{parts.username or ''}:***@{parts.hostname}:{parts.port}").geturl()
    return value


class UserError(Exception):
    """Raised for problems the user can fix; the CLI prints it on one line (exit 2)."""


def _cmd_token(args: argparse.Namespace) -> int:
    from riskmon.cli.operators import cmd_token

    return cmd_token(args, _settings(args))


ALERTING_COMMANDS = {
    "ack": _guarded(_cmd_ack),
    "silence": _guarded(_cmd_silence),
    "alerts": _guarded(_cmd_alerts),
    "token": _guarded(_cmd_token),
}
