"""``riskmon backtest`` on the command line: outputs, and one-line errors with exit 2 (no broker)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from riskmon.cli.commands import main
from tests.config_edit import edited_default_config
from tests.unit.backtest_streams import application, burst, repayment


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "stream.jsonl"
    docs = (
        [application(i) for i in range(10)]
        + [repayment(i, bad=False, at=200) for i in range(3)]
        + burst("c-b", start=50)
    )
    data.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    new = tmp_path / "new.yaml"
    new.write_text(
        edited_default_config({"policy.cutoffs.approve_below": 0.02, "alerting": {"group_by": ["dedup_key"]}})
    )
    return {"data": data, "new": new, "dir": tmp_path}


def test_a_backtest_prints_the_table_and_writes_json_and_html(files: dict, capsys: pytest.CaptureFixture) -> None:
    out_json, out_html = files["dir"] / "r.json", files["dir"] / "r.html"
    code = main(
        [
            "backtest",
            "--config",
            str(files["new"]),
            "--data",
            str(files["data"]),
            "--json",
            str(out_json),
            "--html",
            str(out_html),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "rules-v1+" in printed and "outcome changes:" in printed and f"wrote {out_html}" in printed
    report = orjson.loads(out_json.read_bytes())
    assert report["current"]["config"]["source"] == "<package default>"
    assert report["new"]["config"]["source"] == str(files["new"])
    assert report["new"]["decisions"]["counts"]["approve"] < report["current"]["decisions"]["counts"]["approve"]
    assert {n["group_key"] for n in report["records"]["new"]["notifications"]} == {"txn_velocity:customer:c-b"}
    assert out_html.read_text().startswith("<!DOCTYPE html>")


def test_baseline_replaces_the_packaged_configuration(files: dict, capsys: pytest.CaptureFixture) -> None:
    assert (
        main(["backtest", "--baseline", str(files["new"]), "--config", str(files["new"]), "--data", str(files["data"])])
        == 0
    )
    assert "outcome changes: 0 applications" in capsys.readouterr().out


BAD_POLICY = edited_default_config({"policy.cutoffs.approve_below": 2})

ERRORS = [
    # (arguments with {data} {new} {dir} filled in, a file to write first, what the one line must say)
    (["--config", "{new}", "--data", "{dir}/missing.jsonl"], None, "data file {dir}/missing.jsonl does not exist"),
    (
        ["--config", "{dir}/missing.yaml", "--data", "{data}"],
        None,
        "configuration file {dir}/missing.yaml does not exist",
    ),
    (
        ["--config", "{dir}/bad.yaml", "--data", "{data}"],
        ("bad.yaml", BAD_POLICY),
        "invalid configuration {dir}/bad.yaml: policy.cutoffs.approve_below: must be a probability",
    ),
    (
        ["--config", "{dir}/bad.yaml", "--data", "{data}"],
        ("bad.yaml", edited_default_config({"alerting": {"group_by": []}})),
        "alerting.group_by: must name at least one field",
    ),
    (
        ["--config", "{dir}/bad.yaml", "--data", "{data}"],
        ("bad.yaml", "policy: [unclosed\n"),
        "{dir}/bad.yaml is not valid YAML",
    ),
    (
        ["--config", "{new}", "--data", "{dir}/bad.jsonl"],
        ("bad.jsonl", '{"application_id": "a"}\n{nope\n'),
        "{dir}/bad.jsonl:2: not JSON",
    ),
    (["--data", "{data}"], None, "needs --config NEW and --data FILE"),
    (
        ["--config", "{new}", "--data", "{data}", "--json", "{dir}/no/such/dir/r.json"],
        None,
        "cannot write {dir}/no/such/dir/r.json",
    ),
]


@pytest.mark.parametrize("args, write, message", ERRORS)
def test_user_mistakes_are_one_line_and_exit_2(
    files: dict, capsys: pytest.CaptureFixture, args, write, message
) -> None:
    fill = {k: str(v) for k, v in files.items()}
    if write is not None:
        (files["dir"] / write[0]).write_text(write[1])
    code = main(["backtest", *[a.format(**fill) for a in args]])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("riskmon backtest: error: ")
    assert message.format(**fill) in err


def test_record_without_a_reachable_broker_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["backtest", "record", "--out", str(tmp_path / "r.jsonl"), "--bootstrap", "127.0.0.1:9", "--timeout", "1"]
    )
    err = capsys.readouterr().err.strip()
    assert (
        code == 2
        and err.startswith("riskmon backtest: error: cannot reach Kafka at 127.0.0.1:9")
        and len(err.splitlines()) == 1
    )


def test_the_sample_action_writes_a_stream_the_backtest_reads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sample = tmp_path / "sample.jsonl"
    assert main(["backtest", "sample", "--out", str(sample), "--limit", "40"]) == 0
    lines = [orjson.loads(line) for line in sample.read_bytes().splitlines()]
    assert {d["topic"] for d in lines} == {
        "credit.applications",
        "credit.repayments",
        "credit.transactions",
        "credit.transaction_outcomes",  # the labelled card stream's confirmed outcomes
    }
    labels = {
        d["value"]["features"]["incident"]
        for d in lines
        if d["value"].get("features", {}).get("incident") and d["topic"] == "credit.transactions"
    }
    assert labels == {"velocity", "cash_out", "anomaly", "card_fraud"}
    card_frauds = {
        d["value"]["customer_id"]
        for d in lines
        if d["topic"] == "credit.transactions" and d["value"].get("features", {}).get("incident") == "card_fraud"
    }
    assert (
        main(
            [
                "backtest",
                "--config",
                str(Path(__file__).parents[2] / "riskmon" / "default_config.yaml"),
                "--data",
                str(sample),
            ]
        )
        == 0
    )
    assert f"{3 + len(card_frauds)} labelled incidents" in capsys.readouterr().out
