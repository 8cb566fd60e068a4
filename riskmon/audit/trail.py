"""Reading the trail for an auditor: the live trail, an application's history, an export, the trusted keys.

What ``riskmon audit show|export|verify`` print and what the web port's
``/v1/audit/...`` pages answer (the ``auditor`` role) are made here, once:

* :func:`read_live`: the entries from ``risk.audit`` and the checkpoints from
  Redis (blocking: the command line calls it directly, the web port reads
  the checkpoints with its asyncio client and the log in an executor).
* :func:`application_history`: every entry of one application with its
  Merkle inclusion proof, checked against the latest checkpoint whose
  signature verifies (pure).
* :func:`export_bytes`: a self-contained export, a header line (format,
  range, anchor, the checkpoints covering the range) and one entry a line (pure).
* :func:`read_export`: an export read back, for ``riskmon audit verify --file``.
* :func:`trusted_public_keys`: the Ed25519 public keys checkpoints are checked with.

An export's first line is ``{"format": "riskmon-audit-export", "version": 1,
"exported_at", "topic", "from", "to", "anchor", "checkpoints": [...]}``;
``anchor`` is the entry before ``from`` (null from 0), so a range verifies on
its own. Files exported before the header existed (entries only, checkpoints
in ``FILE.checkpoints.json``) still read.

>>> from riskmon.audit import AuditChain
>>> from riskmon.audit.signing import CheckpointSigner
>>> chain, signer = AuditChain(), CheckpointSigner.development()
>>> at = "2026-11-29T14:38:26.000Z"
>>> log = [chain.append({"kind": "decision", "application_id": f"app-{i}"}, at=at) for i in range(4)]
>>> cps = [chain.checkpoint(at=at, signer=signer)]
>>> shown = application_history(log, cps, "app-2", key=None, public_keys={signer.key_id: signer.public_key})
>>> [e["entry"]["seq"] for e in shown["entries"]], shown["entries"][0]["proof_valid"], shown["checkpoint"]["size"]
([2], True, 4)
>>> body, count = export_bytes(log, cps, topic="risk.audit", start=1, end=2, exported_at=at)
>>> count, body.count(b"\\n"), orjson.loads(body.splitlines()[0])["anchor"]["seq"]
(2, 3, 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from riskmon.audit.chain import checkpoint_problem, checkpoint_shape
from riskmon.audit.keyfiles import load_public_keys, load_signer
from riskmon.audit.signing import CheckpointSigner, Ed25519PublicKey
from riskmon.audit.verify import prove, verify_proof
from riskmon.settings import Settings

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "ExportError",
    "application_history",
    "checkpoint_report",
    "export_bytes",
    "read_export",
    "read_live",
    "trusted_public_keys",
]

EXPORT_FORMAT = "riskmon-audit-export"
EXPORT_VERSION = 1


class ExportError(ValueError):
    """An export file that cannot be read (the message names the line)."""


def read_live(settings: Settings, *, timeout: float = 30.0) -> tuple[list[dict], list[dict]]:
    """Entries from the topic and checkpoints from Redis; the checkpoints read first (blocking).

    Why first: a checkpoint is stored only after the entries it covers are
    committed, so every checkpoint read before the log covers entries the log
    read after holds. The other way round, a checkpoint stored in between
    would read as a cut tail.
    """
    from riskmon.audit.log import read_audit_log, read_checkpoints
    from riskmon.pipeline.store import key_namespace
    from riskmon.redis_clients import sync_client

    client = sync_client(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        checkpoints = read_checkpoints(client, key_namespace(settings.topic_prefix, settings.redis_url))
    finally:
        client.close()
    entries = read_audit_log(settings.confluent_config(), settings.topic("risk.audit"), timeout=timeout)
    return entries, checkpoints


def trusted_public_keys(
    settings: Settings, paths: Sequence[Path] = ()
) -> tuple[dict[str, Ed25519PublicKey], str | None]:
    """The public keys checkpoints are checked with, and a warning when it is the development key.

    ``paths`` (``--public-key``), else ``RISKMON_AUDIT_PUBLIC_KEY_FILE`` (after
    a rotation: the new key and the old ones, one PEM block after another),
    else the public half of ``RISKMON_AUDIT_SIGNING_KEY_FILE``, else the
    development key.
    """
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


def _good_checkpoints(
    checkpoints: Sequence[dict], *, key: bytes | None, public_keys: Mapping[str, Ed25519PublicKey]
) -> list[dict]:
    return [
        cp
        for cp in checkpoints
        if checkpoint_shape(cp) is None and checkpoint_problem(cp, key=key, public_keys=public_keys) is None
    ]


def checkpoint_report(
    checkpoints: Sequence[dict], *, key: bytes | None, public_keys: Mapping[str, Ed25519PublicKey]
) -> list[dict[str, Any]]:
    """Each checkpoint with ``problem``: None when its shape and signature (or HMAC) are good under the keys."""
    out = []
    for cp in checkpoints:
        problem = checkpoint_shape(cp)
        if problem is None:
            problem = checkpoint_problem(cp, key=key, public_keys=public_keys)
        out.append({"checkpoint": cp, "problem": problem})
    return out


def application_history(
    entries: Sequence[dict],
    checkpoints: Sequence[dict],
    application_id: str,
    *,
    key: bytes | None,
    public_keys: Mapping[str, Ed25519PublicKey],
) -> dict[str, Any]:
    """Every audit entry of one application, each with its Merkle inclusion proof (pure).

    The proof is against the latest checkpoint whose signature verifies and
    that the log covers; an entry after it is proved against the whole log
    read (``proof_valid`` then says only that the proof is consistent).
    """
    good = _good_checkpoints(checkpoints, key=key, public_keys=public_keys)
    covering = max((cp for cp in good if cp["size"] <= len(entries)), key=lambda cp: cp["size"], default=None)
    history = []
    for entry in entries:
        if entry.get("record", {}).get("application_id") != application_id:
            continue
        size = covering["size"] if covering and entry["seq"] < covering["size"] else len(entries)
        proof = prove(list(entries), entry["seq"], tree_size=size)
        trusted = covering if covering and size == covering["size"] else None
        history.append(
            {
                "entry": entry,
                "proof": proof,
                "proof_valid": verify_proof(proof, checkpoint=trusted) if trusted else verify_proof(proof),
            }
        )
    return {"application_id": application_id, "entries": history, "checkpoint": covering}


def export_bytes(
    entries: Sequence[dict],
    checkpoints: Sequence[dict],
    *,
    topic: str,
    start: int | None,
    end: int | None,
    exported_at: str,
) -> tuple[bytes, int]:
    """A self-contained export of entries ``start`` to ``end`` (inclusive) and how many entries it holds (pure)."""
    chosen = [e for e in entries if (start is None or e["seq"] >= start) and (end is None or e["seq"] <= end)]
    first = chosen[0]["seq"] if chosen else (start or 0)
    last_size = chosen[-1]["seq"] + 1 if chosen else first
    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": exported_at,
        "topic": topic,
        "from": first,
        "to": last_size - 1,
        "anchor": next((e for e in entries if e.get("seq") == first - 1), None) if first > 0 else None,
        # the checkpoints the exported entries can be checked against (one beyond them reads as a cut tail)
        "checkpoints": [cp for cp in checkpoints if isinstance(cp.get("size"), int) and cp["size"] <= last_size],
    }
    return orjson.dumps(header) + b"\n" + b"".join(orjson.dumps(e) + b"\n" for e in chosen), len(chosen)


def read_export(path: Path) -> tuple[list[dict], list[dict], dict | None, dict | None]:
    """An export's entries, checkpoints, anchor entry and header (None for a file of entries only)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = [line for line in raw.splitlines() if line.strip()]
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
