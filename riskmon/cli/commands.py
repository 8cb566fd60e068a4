"""The ``riskmon`` command line.

Subcommands import what they need when they run, so ``riskmon --help`` is
fast and a missing optional piece breaks only the command that uses it.
Errors the user can fix print one line on stderr and exit with status 2;
nothing prints a traceback for a mistake in the environment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``riskmon`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="riskmon", description="Real-time streaming credit-risk monitor (Kafka, Faust, River, Redis)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack = sub.add_parser("stack", help="start or stop a local Kafka (KRaft) and Redis on loopback")
    stack_sub = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    for name, text in (
        ("up", "start Kafka and Redis (idempotent)"),
        ("down", "stop what `up` started"),
        ("status", "show what runs"),
    ):
        p = stack_sub.add_parser(name, help=text)
        p.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="state directory (default: $RISKMON_STACK_DIR or ~/.local/state/riskmon/stack)",
        )
        if name == "up":
            p.add_argument("--kafka-version", default=None, help="Apache Kafka version to run (from Maven Central)")
            p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for both to serve")
            p.add_argument(
                "--redis-cluster",
                action="store_true",
                help="run a three-master Redis Cluster instead of one Redis (URL redis+cluster://...)",
            )

    worker = sub.add_parser("worker", help="run the stream processor (Faust worker)")
    _add_connection_flags(worker)
    worker.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    worker.add_argument(
        "--role",
        default=None,
        choices=["all", "decisions", "transactions", "background"],
        help="which work this process takes, in its own consumer group (overrides RISKMON_ROLE; default all)",
    )

    demo = sub.add_parser(
        "demo", help="start the stack and a worker, stream real public credit data, show decisions live"
    )
    demo.add_argument(
        "--source", default="lending_club", choices=["lending_club", "credit_data"], help="public data set to stream"
    )
    demo.add_argument("--limit", type=int, default=3000, help="applications to stream (default 3000; 0 for all)")
    demo.add_argument("--rate", type=float, default=200.0, help="applications per second to produce (default 200)")
    demo.add_argument("--dir", type=Path, default=None, help="stack state directory")
    demo.add_argument("--keep-stack", action="store_true", help="leave Kafka and Redis running afterwards")
    demo.add_argument(
        "--config", default=None, help="thresholds/policy file (default: $RISKMON_CONFIG or the packaged one)"
    )

    schemas = sub.add_parser("schemas", help="event schemas")
    schemas_sub = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    export = schemas_sub.add_parser("export", help="write a JSON Schema per contract event into DIR")
    export.add_argument("directory", type=Path, metavar="DIR")

    model = sub.add_parser("model", help="online models: status, promotion; fit a scorecard")
    model_sub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    for name, text in (
        ("status", "show the published models and their prequential evaluation"),
        ("promote", "make the challenger the champion (the learner records the evidence)"),
        ("history", "list past promotions with their evidence"),
    ):
        p = model_sub.add_parser(name, help=text)
        p.add_argument("--redis-url", default=None, help="Redis URL (overrides RISKMON_REDIS_URL)")
        p.add_argument("--topic-prefix", default=None, help="environment prefix (overrides RISKMON_TOPIC_PREFIX)")
        if name == "promote":
            p.add_argument("--author", required=True, help="who decides the promotion (recorded)")
            p.add_argument("--reason", required=True, help="why (recorded with the evidence)")
            p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the learner to apply it")
    from riskmon.cli.model_fit import add_fit_scorecard_parser

    add_fit_scorecard_parser(model_sub)

    audit = sub.add_parser("audit", help="the tamper-evident decision trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    for name, text in (
        ("verify", "check the whole trail (or a range) and name the first bad record"),
        ("show", "the full history of one application, with inclusion proofs"),
        ("export", "write a range of the trail for an auditor (JSON lines)"),
        ("keygen", "make an Ed25519 key pair for signing checkpoints"),
    ):
        p = audit_sub.add_parser(name, help=text)
        if name == "keygen":
            p.add_argument("--out", type=Path, required=True, help="directory for audit-signing.key and .pub")
            continue
        _add_connection_flags(p)
        if name == "show":
            p.add_argument("application_id")
        if name in ("verify", "export"):
            p.add_argument("--from", dest="start", type=int, default=None, help="first sequence number")
            p.add_argument("--to", dest="end", type=int, default=None, help="last sequence number (inclusive)")
        if name == "verify":
            p.add_argument(
                "--file", type=Path, default=None, help="verify an export offline (no Kafka, no Redis) instead"
            )
            p.add_argument(
                "--public-key",
                dest="public_keys",
                type=Path,
                action="append",
                default=[],
                help="PEM public key the checkpoints must be signed with (repeatable; default "
                "$RISKMON_AUDIT_PUBLIC_KEY_FILE)",
            )
        if name == "export":
            p.add_argument("--out", type=Path, required=True, help="output file (JSON lines)")

    config = sub.add_parser("config", help="configuration file")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="validate a configuration file and print its version")
    check.add_argument(
        "path", nargs="?", default=None, help="file to check (default: $RISKMON_CONFIG or the packaged one)"
    )
    config_sub.add_parser("show-default", help="print the packaged default configuration")
    _add_ops_commands(sub)

    from riskmon.cli.alerts import add_alerting_commands

    add_alerting_commands(sub)

    # -- backtest (issue #7): its arguments and its work live in riskmon.cli.backtest --
    from riskmon.cli.backtest import add_backtest_parser

    add_backtest_parser(sub)
    from riskmon.cli.policy import add_policy_parser

    add_policy_parser(sub)

    # -- intake (issue #24): scanned forms; riskmon.cli.intake holds the arguments and the work --
    from riskmon.cli.intake import add_intake_parsers

    add_intake_parsers(sub)
    return parser


def _add_ops_commands(sub: argparse._SubParsersAction) -> None:
    """``tail`` and ``replay``: operators' views onto the topics (riskmon/ops)."""
    tail = sub.add_parser("tail", help="follow alerts, decisions or dead letters, one readable line per event")
    tail.add_argument("stream", choices=["alerts", "decisions", "deadletters"], help="which topic to follow")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest event instead of the end")
    tail.add_argument("--limit", type=int, default=None, metavar="N", help="stop after printing N events")
    tail.add_argument(
        "--level", default=None, choices=["info", "warning", "critical"], help="alerts at this level or above"
    )
    tail.add_argument(
        "--detector", action="append", default=[], metavar="NAME", help="alerts of this detector (repeatable)"
    )
    tail.add_argument(
        "--outcome",
        action="append",
        default=[],
        choices=["approve", "review", "reject"],
        help="decisions with this outcome (repeatable)",
    )
    tail.add_argument(
        "--json", action="store_true", help="print each event's original JSON (input for `riskmon replay`)"
    )
    tail.add_argument(
        "--no-color", action="store_true", help="never colour (default: colour when stdout is a terminal)"
    )
    replay = sub.add_parser("replay", help="produce a JSON-lines or CSV file of events to their topics")
    replay.add_argument("file", type=Path, metavar="FILE")
    replay.add_argument(
        "--topic", default=None, help="send every event here (default: each event type's contract topic)"
    )
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    pace.add_argument("--speed", type=float, default=None, help="multiple of the pace of the recorded timestamps")
    replay.add_argument(
        "--format", dest="fmt", default=None, choices=["jsonl", "csv"], help="default: from the file name"
    )
    replay.add_argument(
        "--key",
        dest="key_field",
        default=None,
        metavar="FIELD",
        help="field to key messages by (default: the contract's key of the event type)",
    )
    for p in (tail, replay):
        p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (overrides RISKMON_KAFKA_BOOTSTRAP)")
        p.add_argument(
            "--topic-prefix", default=None, help="prefix of every topic name (overrides RISKMON_TOPIC_PREFIX)"
        )


def _add_connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (overrides RISKMON_KAFKA_BOOTSTRAP)")
    p.add_argument("--redis-url", default=None, help="Redis URL (overrides RISKMON_REDIS_URL)")
    p.add_argument("--config", default=None, help="thresholds/policy file (overrides RISKMON_CONFIG)")
    p.add_argument("--topic-prefix", default=None, help="prefix of every topic name (overrides RISKMON_TOPIC_PREFIX)")
    p.add_argument("--app-id", default=None, help="consumer group / Faust app id (overrides RISKMON_APP_ID)")
    p.add_argument(
        "--web-port",
        type=int,
        default=None,
        help="HTTP port for /metrics and /health; 0 disables (overrides RISKMON_WEB_PORT)",
    )
    p.add_argument("--partitions", type=int, default=None, help="partitions of topics the worker creates")


class _UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _cmd_stack(args: argparse.Namespace) -> int:
    from riskmon import stack

    directory = args.dir or stack.default_stack_dir()
    try:
        if args.stack_command == "up":
            kwargs = {"kafka_version": args.kafka_version} if args.kafka_version else {}
            info = stack.up(
                directory,
                timeout=args.timeout,
                progress=lambda line: print(f"# {line}", file=sys.stderr, flush=True),
                redis_cluster=args.redis_cluster,
                **kwargs,
            )
            if not info.started:
                print("# already running; nothing changed", file=sys.stderr)
            print(f"KAFKA_BOOTSTRAP={info.kafka_bootstrap}")
            print(f"REDIS_URL={info.redis_url}")
            return 0
        if args.stack_command == "down":
            stopped = stack.down(directory)
            for line in stopped:
                print(f"stopped {line}")
            if not stopped:
                print("nothing was running", file=sys.stderr)
            return 0
        running = stack.status(directory)
        if running is None:
            print("not running")
            return 3
        print(f"KAFKA_BOOTSTRAP={running.kafka_bootstrap}")
        print(f"REDIS_URL={running.redis_url}")
        return 0
    except stack.StackError as exc:
        raise _UserError(str(exc)) from exc


def _cmd_worker(args: argparse.Namespace) -> int:
    from riskmon.audit.signing import SigningKeyError
    from riskmon.config import ConfigError
    from riskmon.runtime.worker import WorkerStartError, run_worker
    from riskmon.settings import SettingsError, settings_from_env

    try:
        settings = settings_from_env().with_overrides(
            kafka_bootstrap=args.bootstrap,
            redis_url=args.redis_url,
            config_path=args.config,
            topic_prefix=args.topic_prefix,
            app_id=args.app_id,
            web_port=args.web_port,
            partitions=args.partitions,
            role=args.role,
        )
        return run_worker(settings, loglevel=args.loglevel)
    except (ConfigError, SettingsError, WorkerStartError, SigningKeyError) as exc:
        raise _UserError(str(exc)) from exc


def _cmd_demo(args: argparse.Namespace) -> int:
    from riskmon.demo.run import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            source=args.source,
            limit=args.limit or None,
            rate=args.rate,
            stack_dir=args.dir,
            keep_stack=args.keep_stack,
            config_path=args.config,
        )
    )


def _cmd_schemas(args: argparse.Namespace) -> int:
    from riskmon.schemas import export_schemas

    for path in export_schemas(args.directory):
        print(path)
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    import os

    from riskmon.config import ConfigError, default_config_text, load_config

    if args.config_command == "show-default":
        print(default_config_text(), end="")
        return 0
    path = args.path or os.environ.get("RISKMON_CONFIG") or None
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        raise _UserError(f"invalid configuration: {exc}") from exc
    print(f"ok: {cfg.source}")
    print(f"version={cfg.version}")
    print(f"policy_version={cfg.policy_version}")
    return 0


def _cmd_model(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from riskmon.learning.tools import model_history, model_status, request_promotion
    from riskmon.settings import settings_from_env

    if args.model_command == "fit-scorecard":
        from riskmon.cli.model_fit import FitCommandError, run_fit_scorecard

        try:
            return run_fit_scorecard(args)
        except FitCommandError as exc:
            raise _UserError(str(exc)) from exc
    settings = settings_from_env().with_overrides(redis_url=args.redis_url, topic_prefix=args.topic_prefix)
    try:
        if args.model_command == "status":
            print(json.dumps(asyncio.run(model_status(settings)), indent=2))
            return 0
        if args.model_command == "history":
            print(json.dumps(asyncio.run(model_history(settings)), indent=2))
            return 0
        record = asyncio.run(request_promotion(settings, author=args.author, reason=args.reason, wait=args.wait))
    except OSError as exc:
        raise _UserError(f"cannot reach Redis at {settings.redis_url}: {exc}") from exc
    except TimeoutError as exc:
        raise _UserError(str(exc)) from exc
    print(json.dumps(record, indent=2))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    import json

    from confluent_kafka import KafkaException
    from redis.exceptions import RedisError

    from riskmon.audit.signing import SigningKeyError
    from riskmon.cli import audit as audit_tools
    from riskmon.settings import SettingsError, settings_from_env

    try:
        if args.audit_command == "keygen":
            made = audit_tools.generate_keys(args.out)
            print(json.dumps(made, indent=2))
            print(
                f"set RISKMON_AUDIT_SIGNING_KEY_FILE={made['private_key']} on the workers; "
                f"give {made['public_key']} to auditors",
                file=sys.stderr,
            )
            return 0
        settings = settings_from_env().with_overrides(
            kafka_bootstrap=args.bootstrap, redis_url=args.redis_url, topic_prefix=args.topic_prefix
        )
        if args.audit_command == "verify":
            result = audit_tools.verify_trail(
                settings, file=args.file, start=args.start, end=args.end, public_keys=args.public_keys
            )
            print(json.dumps(result, indent=2))
            return 0 if result["ok"] else 1
        if args.audit_command == "show":
            print(json.dumps(audit_tools.show_application(settings, args.application_id), indent=2))
            return 0
        count = audit_tools.export_trail(settings, args.out, start=args.start, end=args.end)
        print(f"wrote {count} entries to {args.out}")
        return 0
    except RedisError as exc:
        raise _UserError(f"cannot reach Redis for the audit checkpoints ({type(exc).__name__}: {exc})") from exc
    except KafkaException as exc:
        raise _UserError(f"cannot reach Kafka for the audit trail ({exc})") from exc
    except TimeoutError as exc:
        raise _UserError(f"cannot read the trail: {exc or 'timed out'}") from exc
    except (SettingsError, SigningKeyError, audit_tools.ExportError, ValueError, OSError) as exc:
        raise _UserError(str(exc)) from exc


def _cmd_tail(args: argparse.Namespace) -> int:
    import os

    from riskmon.cli.ops.errors import OpsError
    from riskmon.cli.ops.render import use_color
    from riskmon.cli.ops.tail import TailOptions, run_tail
    from riskmon.settings import SettingsError, settings_from_env

    try:
        settings = settings_from_env().with_overrides(kafka_bootstrap=args.bootstrap, topic_prefix=args.topic_prefix)
        options = TailOptions(
            stream=args.stream,
            from_beginning=args.from_beginning,
            limit=args.limit,
            min_level=args.level,
            detectors=tuple(args.detector),
            outcomes=tuple(args.outcome),
            json=args.json,
            color=use_color(args.no_color, sys.stdout.isatty(), os.environ),
        )
        run_tail(settings, options)
        return 0
    except (OpsError, SettingsError) as exc:
        raise _UserError(str(exc)) from exc


def _cmd_replay(args: argparse.Namespace) -> int:
    from riskmon.cli.ops.errors import OpsError
    from riskmon.cli.ops.replay import ReplayOptions, run_replay
    from riskmon.settings import SettingsError, settings_from_env

    try:
        settings = settings_from_env().with_overrides(kafka_bootstrap=args.bootstrap, topic_prefix=args.topic_prefix)
        options = ReplayOptions(
            args.file, topic=args.topic, fmt=args.fmt, rate=args.rate, speed=args.speed, key_field=args.key_field
        )
        result = run_replay(settings, options)
    except (OpsError, SettingsError) as exc:
        raise _UserError(str(exc)) from exc
    where = ", ".join(sorted(result.topics or ())) or "no topic"
    print(
        f"replay: {result.sent} of {result.lines} lines delivered to {where}; "
        f"{result.bad} bad lines, {result.failed} not delivered",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


# -- backtest (issue #7) -------------------------------------------------------


def _cmd_backtest(args: argparse.Namespace) -> int:
    from riskmon.cli.backtest import BacktestError, run_command

    try:
        return run_command(args)
    except BacktestError as exc:
        raise _UserError(str(exc)) from exc


# -- intake (issue #24) --------------------------------------------------------


def _cmd_intake(args: argparse.Namespace) -> int:
    from riskmon.cli.intake import IntakeCommandError, run_intake, run_intake_forms

    try:
        return run_intake_forms(args) if args.command == "intake-forms" else run_intake(args)
    except IntakeCommandError as exc:
        raise _UserError(str(exc)) from exc


# -----------------------------------------------------------------------------

_COMMANDS = {
    "stack": _cmd_stack,
    "worker": _cmd_worker,
    "demo": _cmd_demo,
    "schemas": _cmd_schemas,
    "config": _cmd_config,
    "model": _cmd_model,
    "audit": _cmd_audit,
}


_COMMANDS.update(tail=_cmd_tail, replay=_cmd_replay)
_COMMANDS["backtest"] = _cmd_backtest
_COMMANDS["intake"] = _COMMANDS["intake-forms"] = _cmd_intake


def _cmd_policy(args: argparse.Namespace) -> int:
    from riskmon.cli.policy import PolicyCommandError, run_policy

    try:
        return run_policy(args)
    except PolicyCommandError as exc:
        raise _UserError(str(exc)) from exc


_COMMANDS["policy"] = _cmd_policy


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskmon`` console script."""
    from riskmon.cli.alerts import ALERTING_COMMANDS
    from riskmon.cli.alerts import UserError as AlertingUserError

    args = build_parser().parse_args(argv)
    try:
        return {**_COMMANDS, **ALERTING_COMMANDS}[args.command](args)
    except (_UserError, AlertingUserError) as exc:
        print(f"riskmon {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `riskmon stack up | head -1`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
