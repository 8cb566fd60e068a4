"""``riskmon audit verify|show|export|keygen``: what a compliance officer runs.

They read the trail from ``risk.audit`` and the checkpoints from where they
are kept apart (Redis), or both from an export file, so that a record edited,
deleted, inserted or reordered, or a tail cut off, is found and named by the
first bad sequence number, and a checkpoint not signed by a trusted key is
refused. The reading itself is :mod:`riskmon.audit.trail`'s, shared with the
web port's ``/v1/audit/...`` pages (the ``auditor`` role).

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

from riskmon.audit import verify
from riskmon.audit.keyfiles import write_key_pair
from riskmon.audit.signing import key_ids
from riskmon.audit.trail import (
    EXPORT_FORMAT,
    ExportError,
    application_history,
    export_bytes,
    read_export,
    read_live,
    trusted_public_keys,
)
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


def load_trail(settings: Settings, file: Path | None = None) -> tuple[list[dict], list[dict]]:
    """The entries and checkpoints: from an export ``file`` (offline), else from the topic and Redis."""
    if file is not None:
        entries, checkpoints, _, _ = read_export(file)
        return entries, checkpoints
    return read_live(settings)


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
        entries, checkpoints = read_live(settings)
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
    entries, checkpoints = read_live(settings)
    keys, _ = trusted_public_keys(settings)
    return application_history(
        entries, checkpoints, application_id, key=settings.audit_checkpoint_key.encode(), public_keys=keys
    )


def export_trail(settings: Settings, out: Path, *, start: int | None = None, end: int | None = None) -> int:
    """Write a self-contained export (header with anchor and checkpoints, then one entry a line)."""
    entries, checkpoints = read_live(settings)
    body, count = export_bytes(
        entries,
        checkpoints,
        topic=settings.topic("risk.audit"),
        start=start,
        end=end,
        exported_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    return count


def generate_keys(directory: Path) -> dict[str, str]:
    """A new signing key pair in ``directory``: what to configure and what to hand to auditors."""
    private, public, kid = write_key_pair(directory)
    return {"private_key": str(private), "public_key": str(public), "key_id": kid}
