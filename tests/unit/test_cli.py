"""The command line's own behaviour: exports, config checks, and errors a user can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskmon.cli.commands import build_parser, main
from tests.config_edit import edit_config


def test_schemas_export_writes_one_json_schema_per_event(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["schemas", "export", str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    for event in ("application", "transaction", "repayment", "review", "decision", "alert", "deadletter"):
        assert f"{event}.schema.json" in written
    schema = json.loads((tmp_path / "out" / "application.schema.json").read_text())
    assert "amount" in schema["required"]
    assert str(tmp_path / "out") in capsys.readouterr().out


def test_config_check_prints_the_version(capsys: pytest.CaptureFixture) -> None:
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "policy_version=rules-v1+" in out and "version=" in out


def test_a_bad_config_names_the_field_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "riskmon.yaml"
    main(["config", "show-default"])
    text = edit_config(capsys.readouterr().out, {"policy.cutoffs.approve_below": 0.5})
    bad.write_text(text)
    assert main(["config", "check", str(bad)]) == 2
    assert "policy.cutoffs.reject_at_or_above" in capsys.readouterr().err
    # the worker refuses it the same way, before it touches Kafka
    assert main(["worker", "--config", str(bad), "--bootstrap", "127.0.0.1:1"]) == 2
    assert "policy.cutoffs.reject_at_or_above" in capsys.readouterr().err


def test_insecure_sasl_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("RISKMON_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("RISKMON_SASL_USERNAME", "u")
    monkeypatch.setenv("RISKMON_SASL_PASSWORD", "p")
    assert main(["worker"]) == 2
    assert "without TLS" in capsys.readouterr().err


def test_every_contract_command_parses() -> None:
    parser = build_parser()
    for argv in (
        ["stack", "up"],
        ["stack", "down", "--dir", "/tmp/x"],
        ["worker"],
        ["demo"],
        ["schemas", "export", "d"],
    ):
        assert parser.parse_args(argv).command == argv[0]


def test_token_commands_take_the_issues_form(capsys: pytest.CaptureFixture) -> None:
    """``riskmon token create --role R --name N``, ``list``, ``revoke`` (issue 23), and nothing looser."""
    parser = build_parser()
    args = parser.parse_args(["token", "create", "--role", "auditor", "--name", "audit-firm-1"])
    assert (args.token_command, args.role, args.name, args.expires) == ("create", ["auditor"], "audit-firm-1", "90d")
    args = parser.parse_args(["token", "create", "--role", "viewer", "--role", "submitter,metrics", "--name", "n"])
    assert args.role == ["viewer", "submitter,metrics"]
    assert parser.parse_args(["token", "list", "--json"]).json
    assert parser.parse_args(["token", "revoke", "765009033fd8"]).token_id == "765009033fd8"
    for argv in (["token", "create", "ops-anna", "--role", "operator"], ["token", "create", "--name", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        parser.parse_args(["token", "create", "--help"])
    shown = capsys.readouterr().out
    assert "--role R" in shown and "--name N" in shown
    assert "viewer, operator, submitter, auditor, pager, metrics, admin" in " ".join(shown.split())
