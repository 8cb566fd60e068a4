"""``riskmon audit verify|show|export``: what a compliance officer runs.

They read the trail from ``risk.audit`` (or from an exported file) and the
checkpoints from where they are kept apart (Redis), so that a record edited,
deleted, inserted or reordered in the topic, or a tail cut off, is found and
named by the first bad sequence number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import redis

from riskmon.audit import prove, verify, verify_proof
from riskmon.audit.log import read_audit_log, read_checkpoints
from riskmon.pipeline.store import key_namespace
from riskmon.runtime.topics import topic_names
from riskmon.settings import Settings

__all__ = ["load_trail", "verify_trail", "show_application", "export_trail"]


def load_trail(settings: Settings, file: Path | None = None) -> tuple[list[dict], list[dict]]:
    """The entries (from the topic, or a JSONL export) and the checkpoints (Redis)."""
    if file is not None:
        entries = [orjson.loads(line) for line in file.read_bytes().splitlines() if line.strip()]
    else:
        entries = read_audit_log(settings.confluent_config(), topic_names(settings).audit)
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        checkpoints = read_checkpoints(client, key_namespace(settings.topic_prefix))
    finally:
        client.close()
    return entries, checkpoints


def verify_trail(
    settings: Settings, *, file: Path | None = None, start: int | None = None, end: int | None = None
) -> dict[str, Any]:
    entries, checkpoints = load_trail(settings, file)
    anchor = None
    if start:
        anchor = next((e for e in entries if e.get("seq") == start - 1), None)
        entries = [e for e in entries if isinstance(e.get("seq"), int) and e["seq"] >= start]
    result = verify(
        entries,
        checkpoints=checkpoints,
        key=settings.audit_checkpoint_key.encode(),
        start_seq=start,
        end_seq=end,
        anchor=anchor,
    )
    return {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "head": result.head,
        "root": result.root,
        "checkpoints_checked": result.checkpoints_checked,
    }


def show_application(settings: Settings, application_id: str) -> dict[str, Any]:
    """Every audit entry of one application, each with its Merkle inclusion proof."""
    entries, checkpoints = load_trail(settings)
    covering = max((cp for cp in checkpoints if cp["size"] <= len(entries)), key=lambda cp: cp["size"], default=None)
    history = []
    for entry in entries:
        if entry.get("record", {}).get("application_id") != application_id:
            continue
        size = covering["size"] if covering and entry["seq"] < covering["size"] else len(entries)
        proof = prove(entries, entry["seq"], tree_size=size)
        trusted = covering if covering and size == covering["size"] else None
        history.append(
            {
                "entry": entry,
                "proof": proof,
                "proof_valid": verify_proof(proof, checkpoint=trusted) if trusted else verify_proof(proof),
            }
        )
    return {"application_id": application_id, "entries": history, "checkpoint": covering}


def export_trail(settings: Settings, out: Path, *, start: int | None = None, end: int | None = None) -> int:
    """Write a range of entries as JSON lines (and the checkpoints beside them)."""
    entries, checkpoints = load_trail(settings)
    chosen = [e for e in entries if (start is None or e["seq"] >= start) and (end is None or e["seq"] <= end)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in chosen))
    out.with_suffix(out.suffix + ".checkpoints.json").write_bytes(orjson.dumps(checkpoints, option=orjson.OPT_INDENT_2))
    return len(chosen)
