"""`riskmon tail` and `riskmon replay`: mistakes a user can fix are one line on stderr and exit 2,
before anything touches Kafka (the bootstrap here leads nowhere, on purpose)."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmon.cli.commands import build_parser, main

NOWHERE = ["--bootstrap", "127.0.0.1:1"]


def _one_line_error(capsys: pytest.CaptureFixture, command: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"riskmon {command}: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tail", "decisions", "--level", "warning"], "--level and --detector filter alerts"),
        (["tail", "decisions", "--detector", "cash_24h"], "--level and --detector filter alerts"),
        (["tail", "alerts", "--outcome", "reject"], "--outcome filters decisions"),
        (["tail", "alerts", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_tail_refuses_filters_that_cannot_apply(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv + NOWHERE) == 2
    assert message in _one_line_error(capsys, "tail")


def test_replay_names_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["replay", str(tmp_path / "nope.jsonl"), *NOWHERE]) == 2
    assert "nope.jsonl: no such file" in _one_line_error(capsys, "replay")


def test_replay_asks_for_a_format_it_cannot_guess(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "events.txt").write_text("{}\n")
    assert main(["replay", str(tmp_path / "events.txt"), *NOWHERE]) == 2
    assert "pass --format" in _one_line_error(capsys, "replay")


@pytest.mark.parametrize("flag", ["--rate", "--speed"])
def test_replay_refuses_a_pace_that_is_not_positive(flag: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "e.jsonl").write_text("{}\n")
    assert main(["replay", str(tmp_path / "e.jsonl"), flag, "0", *NOWHERE]) == 2
    assert f"{flag} must be > 0" in _one_line_error(capsys, "replay")


def test_rate_and_speed_together_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", "f.jsonl", "--rate", "10", "--speed", "2"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_new_commands_parse() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["tail", "alerts", "--level", "warning", "--detector", "a", "--detector", "b", "--limit", "3"]
    )
    assert (args.command, args.stream, args.level, args.detector, args.limit) == (
        "tail",
        "alerts",
        "warning",
        ["a", "b"],
        3,
    )
    args = parser.parse_args(["replay", "x.csv", "--speed", "60", "--topic", "t", "--key", "customer_id"])
    assert (args.command, args.speed, args.topic, args.key_field, args.rate) == (
        "replay",
        60.0,
        "t",
        "customer_id",
        None,
    )
