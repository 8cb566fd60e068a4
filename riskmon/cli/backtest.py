"""``riskmon backtest``: the command's arguments and what it runs.

Kept apart from :mod:`riskmon.cli.commands` (which only adds this parser and calls
:func:`run_command`) so the backtest can change without touching the shared
command line. Importing this module is cheap; the work imports what it needs.
Mistakes the user can fix raise :class:`BacktestError`, which the command line
prints as one line and exits 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["BacktestError", "add_backtest_parser", "load_configs", "run_command"]


class BacktestError(ValueError):
    """A problem the user can fix (a missing file, a bad configuration); one line."""


def add_backtest_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``backtest`` (and its ``record`` and ``sample`` actions) to the command line's subparsers."""
    p = sub.add_parser(
        "backtest",
        help="replay a recorded stream offline through the current and a new configuration, side by side",
        description="Replay a recorded stream (JSON lines of contract events) through the current configuration "
        "and NEW, offline (no Kafka, no Redis), and compare decisions, alerts and labelled incidents.",
    )
    p.add_argument("--config", metavar="NEW", help="the configuration to evaluate")
    p.add_argument("--data", metavar="FILE", type=Path, help="the recorded stream (see docs/backtest.md)")
    p.add_argument(
        "--baseline",
        metavar="CONFIG",
        default=None,
        help="the current configuration to compare with (default: the packaged one)",
    )
    p.add_argument("--html", metavar="OUT.html", type=Path, default=None, help="also write an HTML report with charts")
    p.add_argument(
        "--json", metavar="OUT.json", type=Path, default=None, help="also write every figure and record as JSON"
    )
    actions = p.add_subparsers(dest="backtest_command", metavar="ACTION")
    rec = actions.add_parser("record", help="record the input topics from Kafka into a FILE the backtest reads")
    rec.add_argument("--out", type=Path, required=True, help="file to write (JSON lines)")
    rec.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (overrides RISKMON_KAFKA_BOOTSTRAP)")
    rec.add_argument("--topic-prefix", default=None, help="prefix of the topic names (overrides RISKMON_TOPIC_PREFIX)")
    rec.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the broker (default 60)")
    sample = actions.add_parser("sample", help="write a labelled sample stream from the demo's public data")
    sample.add_argument("--out", type=Path, required=True, help="file to write (JSON lines)")
    sample.add_argument("--source", default="lending_club", choices=["lending_club", "credit_data"])
    sample.add_argument("--limit", type=int, default=3000, help="applications (default 3000)")
    return p


def load_configs(path: str | None) -> tuple[Any, Any]:
    """The configuration at ``path`` (the packaged one for None) and its ``alerting`` section.

    Read exactly as the worker reads it (``load_config``), so the version, and
    each decision's ``policy_version``, are the ones the worker would give.
    """
    from riskmon.alerting.config import DEFAULTS
    from riskmon.config import ConfigError, load_config

    if path is not None and not Path(path).is_file():
        raise BacktestError(
            f"configuration file {path} " + ("is not a file" if Path(path).exists() else "does not exist")
        )
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise BacktestError(
            f"invalid configuration {path or 'the packaged configuration'}: {exc}".replace("\n", " ")
        ) from None
    return config, config.alerting or DEFAULTS


def run_command(args: argparse.Namespace) -> int:
    """Run ``riskmon backtest`` (or its ``record`` / ``sample`` action); returns the exit status."""
    if args.backtest_command == "record":
        return _record(args)
    if args.backtest_command == "sample":
        from riskmon.demo.sample import write_sample

        try:
            n = write_sample(args.out, source=args.source, limit=args.limit)
        except OSError as exc:
            raise BacktestError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"wrote {n} events to {args.out}")
        return 0
    if not args.config or not args.data:
        raise BacktestError("needs --config NEW and --data FILE (or an action: record, sample)")
    return _backtest(args)


def _backtest(args: argparse.Namespace) -> int:
    import orjson

    from riskmon.backtest.engine import run
    from riskmon.backtest.html import html_report
    from riskmon.backtest.recorded import StreamFileError, load_stream
    from riskmon.backtest.report import build_report, text_report

    current, current_alerting = load_configs(args.baseline)
    new, new_alerting = load_configs(args.config)
    try:
        events = load_stream(args.data)
    except StreamFileError as exc:
        raise BacktestError(str(exc)) from None
    except OSError as exc:
        raise BacktestError(f"cannot read {args.data}: {exc.strerror}") from None
    report = build_report(args.data, events, run(current, current_alerting, events), run(new, new_alerting, events))
    print(text_report(report))
    for path, content in (
        (args.json, lambda: orjson.dumps(report, option=orjson.OPT_INDENT_2)),
        (args.html, lambda: html_report(report).encode("utf-8")),
    ):
        if path is None:
            continue
        try:
            Path(path).write_bytes(content())
        except OSError as exc:
            raise BacktestError(f"cannot write {path}: {exc.strerror}") from None
        print(f"wrote {path}")
    return 0


def _record(args: argparse.Namespace) -> int:
    from riskmon.backtest.record import RecordError, record
    from riskmon.settings import SettingsError, settings_from_env

    try:
        settings = settings_from_env().with_overrides(kafka_bootstrap=args.bootstrap, topic_prefix=args.topic_prefix)
        counts = record(settings, args.out, timeout=args.timeout)
    except (SettingsError, RecordError) as exc:
        raise BacktestError(str(exc)) from None
    except OSError as exc:
        raise BacktestError(f"cannot write {args.out}: {exc.strerror}") from None
    print(
        f"wrote {sum(counts.values())} events to {args.out} (" + ", ".join(f"{t} {n}" for t, n in counts.items()) + ")"
    )
    return 0
