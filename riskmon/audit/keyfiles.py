"""Reading and writing the audit signing keys as files (the I/O beside :mod:`riskmon.audit.signing`).

The private key lives in one file readable by the worker only
(``RISKMON_AUDIT_SIGNING_KEY_FILE``, mode 0600); the public key file is
what auditors are handed. ``riskmon audit keygen --out DIR`` writes both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from riskmon.audit.signing import CheckpointSigner, Ed25519PublicKey, SigningKeyError, public_keys_from_pem

__all__ = ["load_public_keys", "load_signer", "write_key_pair"]


def load_signer(path: str | Path | None) -> CheckpointSigner:
    """The signer from a PEM private key file, or the development signer when ``path`` is None.

    Raises
    ------
    SigningKeyError
        If the file cannot be read or is not an Ed25519 private key (the message names the file).
    """
    if path is None:
        return CheckpointSigner.development()
    try:
        return CheckpointSigner.from_pem(Path(path).read_bytes())
    except OSError as exc:
        raise SigningKeyError(f"cannot read the audit signing key {path}: {exc.strerror or exc}") from None
    except SigningKeyError as exc:
        raise SigningKeyError(f"{path}: {exc}") from None


def load_public_keys(paths: Iterable[str | Path]) -> dict[str, Ed25519PublicKey]:
    """Every public key in the PEM files ``paths``, by key id (:class:`SigningKeyError` names a bad file)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        try:
            keys.update(public_keys_from_pem(Path(path).read_bytes()))
        except OSError as exc:
            raise SigningKeyError(f"cannot read the public key {path}: {exc.strerror or exc}") from None
        except SigningKeyError as exc:
            raise SigningKeyError(f"{path}: {exc}") from None
    return keys


def write_key_pair(directory: Path, *, name: str = "audit-signing") -> tuple[Path, Path, str]:
    """A new key pair as ``<name>.key`` (private, mode 0600) and ``<name>.pub`` in ``directory``; and its key id.

    Refuses to overwrite an existing private key: a lost signing key only
    stops new checkpoints, an overwritten one also loses which key signed
    the old ones.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    if private.exists():
        raise FileExistsError(f"{private} exists; not overwriting a signing key")
    signer = CheckpointSigner.generate()
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(signer.private_pem())
    public.write_bytes(signer.public_pem())
    return private, public, signer.key_id
