"""What an auditor reads (``riskmon audit show|export|verify`` and ``GET /v1/audit/...``), without a broker:
an application's history with proofs, an export that verifies on its own, the checkpoints' report."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from riskmon.audit import AuditChain, verify
from riskmon.audit.signing import CheckpointSigner
from riskmon.audit.trail import (
    EXPORT_FORMAT,
    ExportError,
    application_history,
    checkpoint_report,
    export_bytes,
    read_export,
    trusted_public_keys,
)
from riskmon.settings import Settings

AT = "2026-11-29T14:38:26.000Z"
SIGNER = CheckpointSigner.generate()
KEYS = {SIGNER.key_id: SIGNER.public_key}


def trail(n: int = 10) -> tuple[list[dict], list[dict]]:
    chain = AuditChain()
    log, cps = [], []
    for i in range(n):
        log.append(chain.append({"kind": "decision", "application_id": f"app-{i % 4}", "n": i}, at=AT))
        if i in (3, 7):
            cps.append(chain.checkpoint(at=AT, signer=SIGNER))
    return log, cps


def test_an_applications_history_is_proved_against_the_latest_good_checkpoint() -> None:
    log, cps = trail()
    shown = application_history(log, cps, "app-1", key=None, public_keys=KEYS)
    assert [e["entry"]["seq"] for e in shown["entries"]] == [1, 5, 9]
    assert shown["checkpoint"]["size"] == 8 and all(e["proof_valid"] for e in shown["entries"])
    forged = [cps[0], {**cps[1], "root": "0" * 64}]  # the latest one does not verify: the earlier one is used
    assert application_history(log, forged, "app-1", key=None, public_keys=KEYS)["checkpoint"]["size"] == 4
    assert application_history(log, cps, "app-9", key=None, public_keys=KEYS)["entries"] == []


def test_an_export_of_a_range_verifies_on_its_own_and_names_a_tampered_seq(tmp_path: Path) -> None:
    log, cps = trail()
    body, count = export_bytes(log, cps, topic="risk.audit", start=2, end=7, exported_at=AT)
    header = orjson.loads(body.splitlines()[0])
    assert count == 6 and header["format"] == EXPORT_FORMAT and (header["from"], header["to"]) == (2, 7)
    assert header["anchor"]["seq"] == 1 and [cp["size"] for cp in header["checkpoints"]] == [4, 8]
    path = tmp_path / "range.jsonl"
    path.write_bytes(body)
    entries, checkpoints, anchor, _ = read_export(path)
    assert verify(entries, checkpoints=checkpoints, public_keys=KEYS, start_seq=2, anchor=anchor).ok

    lines = body.splitlines()
    edited = orjson.loads(lines[3])  # the entry of seq 4
    edited["record"]["n"] = 99
    path.write_bytes(b"\n".join([*lines[:3], orjson.dumps(edited), *lines[4:]]) + b"\n")
    entries, checkpoints, anchor, _ = read_export(path)
    result = verify(entries, checkpoints=checkpoints, public_keys=KEYS, start_seq=2, anchor=anchor)
    assert not result.ok and result.first_bad_seq == 4 and (result.problem or "").startswith("entry 4")

    path.write_bytes(b"not json\n")
    with pytest.raises(ExportError, match="range.jsonl:1: not JSON"):
        read_export(path)
    with pytest.raises(ExportError, match="cannot read"):
        read_export(tmp_path / "missing.jsonl")


def test_the_checkpoint_report_says_which_checkpoint_does_not_verify() -> None:
    _, cps = trail()
    other = CheckpointSigner.generate()
    report = checkpoint_report([*cps, {"size": 1}], key=None, public_keys={other.key_id: other.public_key})
    assert [r["problem"] for r in report[:2]] == [
        f"signed by key {SIGNER.key_id}, which is not a trusted key (trusted: {other.key_id})"
    ] * 2
    assert report[2]["problem"].startswith("missing")
    assert [r["problem"] for r in checkpoint_report(cps, key=None, public_keys=KEYS)] == [None, None]


def test_trusted_keys_come_from_the_flag_the_setting_or_the_development_key(tmp_path: Path) -> None:
    keys, warning = trusted_public_keys(Settings())
    assert list(keys) == [CheckpointSigner.development().key_id] and "development key" in (warning or "")
    (tmp_path / "k.pub").write_bytes(SIGNER.public_pem())
    keys, warning = trusted_public_keys(Settings(audit_public_key_file=str(tmp_path / "k.pub")))
    assert list(keys) == [SIGNER.key_id] and warning is None
