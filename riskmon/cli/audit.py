"""``riskmon audit verify|show|export|keygen``: what a compliance officer runs.

They read the trail from ``risk.audit`` and the checkpoints from where they
are kept apart (Redis), or both from an export file, so that a record edited,
deleted, inserted or reordered, or a tail cut off, is found and named by the
first bad sequence number, and a checkpoint not signed by a trusted key is
refused.

An export (``riskmon audit export --out FILE``) is self-contained: its first
line is a header ``{"format": "riskmon-audit-export", "version": 1,
"exported_at", "topic", "from", "to", "anchor", "checkpoints": [...]}`` and
every further line is one entry. ``anchor`` is the entry before ``from`` (null
from 0), so a range verifies on its own; ``checkpoints`` are those covering
the exported entries. ``riskmon audit verify --file FILE --public-key KEY``
then needs no Kafka, no Redis and no secret: the checkpoints' Ed25519
signatures are checked with the public key alone. Files exported before the
header existed (entries only, checkpoints in ``FILE.checkpoints.json``) still verify.

Which public keys are trusted: ``--public-key`` (repeatable), else
``RISKMON_AUDIT_PUBLIC_KEY_FILE``, else the public half of
``RISKMON_AUDIT_SIGNING_KEY_FILE``, else the development key (and the result
says so). A checkpoint signed by any other key fails verification.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from riskmon.audit import prove, verify, verify_proof
from riskmon.audit.keyfiles import load_public_keys, load_signer, write_key_pair
from riskmon.audit.signing import CheckpointSigner, Ed25519PublicKey, key_ids
from riskmon.settings import Settings

__all__ = [
    "EXPORT_FORMAT",
    "ExportError",
    "export_trail",
    "generate_keys",
    "load_trail",
    "read_export",
    "show_application",
    "trusted_public_keys",
    "verify_trail",
]

EXPORT_FORMAT = "riskmon-audit-export"
EXPORT_VERSION = 1


class ExportError(ValueError):
    """An export file that cannot be read (the message names the line)."""


def _live(settings: Settings) -> tuple[list[dict], list[dict]]:
    """Entries from the topic and checkpoints from Redis; the checkpoints read first.

    Why first: a checkpoint is stored only after the entries it covers are
    committed, so every checkpoint read before the log covers entries the log
    read after holds. The other way round, a checkpoint stored in between
    would read as a cut tail.
    """
    import redis

    from riskmon.audit.log import read_audit_log, read_checkpoints
    from riskmon.pipeline.store import key_namespace
    from riskmon.runtime.topics import topic_names

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        checkpoints = read_checkpoints(client, key_namespace(settings.topic_prefix))
    finally:
        client.close()
    entries = read_audit_log(settings.confluent_config(), topic_names(settings).audit, timeout=30)
    return entries, checkpoints


def read_export(path: Path) -> tuple[list[dict], list[dict], dict | None, dict | None]:
    """An export's entries, checkpoints, anchor entry and header (None for a file of entries only)."""
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    docs = []
    for number, line in enumerate(lines, 1):
        try:
            docs.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise ExportError(f"{path}:{number}: not JSON") from None
    header = docs[0] if docs and isinstance(docs[0], dict) and docs[0].get("format") == EXPORT_FORMAT else None
    if header is not None:
        if header.get("version") != EXPORT_VERSION:
            raise ExportError(f"{path}: export version {header.get('version')} is not one this riskmon reads")
        checkpoints = header.get("checkpoints") or []
        return docs[1:], checkpoints, header.get("anchor"), header
    sidecar = path.with_suffix(path.suffix + ".checkpoints.json")
    checkpoints = orjson.loads(sidecar.read_bytes()) if sidecar.is_file() else []
    return docs, checkpoints, None, None


def load_trail(settings: Settings, file: Path | None = None) -> tuple[list[dict], list[dict]]:
    """The entries and checkpoints: from an export ``file`` (offline), else from the topic and Redis."""
    if file is not None:
        entries, checkpoints, _, _ = read_export(file)
        return entries, checkpoints
    return _live(settings)


def trusted_public_keys(
    settings: Settings, paths: Sequence[Path] = ()
) -> tuple[dict[str, Ed25519PublicKey], str | None]:
    """The public keys checkpoints are checked with, and a warning when it is the development key."""
    if paths:
        return load_public_keys(paths), None
    if settings.audit_public_key_file:
        return load_public_keys([settings.audit_public_key_file]), None
    if settings.audit_signing_key_file:
        signer = load_signer(settings.audit_signing_key_file)
        return {signer.key_id: signer.public_key}, None
    dev = CheckpointSigner.development()
    return {dev.key_id: dev.public_key}, (
        "checked with the development key, which proves nothing: pass --public-key with the deployment's key"
    )


def verify_trail(
    settings: Settings,
    *,
    file: Path | None = None,
    start: int | None = None,
    end: int | None = None,
    public_keys: Sequence[Path] = (),
) -> dict[str, Any]:
    """Verify the live trail, or an export ``file`` with no Kafka and no Redis; a JSON-able verdict."""
    keys, warning = trusted_public_keys(settings, public_keys)
    anchor: dict | None = None
    if file is not None:
        entries, checkpoints, anchor, header = read_export(file)
        first = header.get("from") if header else None
        if isinstance(first, int) and first > 0 and start is None:
            start = first
    else:
        entries, checkpoints = _live(settings)
    if start:
        anchor = next((e for e in entries if e.get("seq") == start - 1), anchor)
        entries = [e for e in entries if isinstance(e.get("seq"), int) and e["seq"] >= start]
        if anchor is None:
            raise ExportError(f"verifying from {start} needs the entry before it (the export's anchor)")
    result = verify(
        entries,
        checkpoints=checkpoints,
        key=settings.audit_checkpoint_key.encode(),
        public_keys=keys,
        start_seq=start,
        end_seq=end,
        anchor=anchor,
    )
    verdict: dict[str, Any] = {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "head": result.head,
        "root": result.root,
        "checkpoints_checked": result.checkpoints_checked,
        "signed_by": key_ids(checkpoints),
        "trusted_keys": sorted(keys),
        "source": str(file) if file is not None else "live",
    }
    if warning:
        verdict["warning"] = warning
    if result.ok and not checkpoints:
        verdict["warning"] = "no checkpoints: a cut-off tail could not be detected"
    return verdict


def show_application(settings: Settings, application_id: str) -> dict[str, Any]:
    """Every audit entry of one application, each with its Merkle inclusion proof."""
    entries, checkpoints = _live(settings)
    keys, _ = trusted_public_keys(settings)
    from riskmon.audit.chain import checkpoint_problem, checkpoint_shape

    good = [
        cp
        for cp in checkpoints
        if checkpoint_shape(cp) is None
        and checkpoint_problem(cp, key=settings.audit_checkpoint_key.encode(), public_keys=keys) is None
    ]
    covering = max((cp for cp in good if cp["size"] <= len(entries)), key=lambda cp: cp["size"], default=None)
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
    """Write a self-contained export (header with anchor and checkpoints, then one entry a line)."""
    entries, checkpoints = _live(settings)
    chosen = [e for e in entries if (start is None or e["seq"] >= start) and (end is None or e["seq"] <= end)]
    first = chosen[0]["seq"] if chosen else (start or 0)
    last_size = chosen[-1]["seq"] + 1 if chosen else first
    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "topic": settings.topic("risk.audit"),
        "from": first,
        "to": last_size - 1,
        "anchor": next((e for e in entries if e.get("seq") == first - 1), None) if first > 0 else None,
        # the checkpoints the exported entries can be checked against (one beyond them reads as a cut tail)
        "checkpoints": [cp for cp in checkpoints if isinstance(cp.get("size"), int) and cp["size"] <= last_size],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(header) + b"\n" + b"".join(orjson.dumps(e) + b"\n" for e in chosen))
    return len(chosen)


def generate_keys(directory: Path) -> dict[str, str]:
    """A new signing key pair in ``directory``: what to configure and what to hand to auditors."""
    private, public, kid = write_key_pair(directory)
    return {"private_key": str(private), "public_key": str(public), "key_id": kid}
