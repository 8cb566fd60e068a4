"""Ed25519 signatures on audit checkpoints: the writer signs, an auditor checks with the public key alone.

Why signatures and not the HMAC checkpoints of before: an HMAC is checked with
the same key that makes it, so an auditor who can verify can also forge, and
the key had to leave the bank's hands to be checked at all. An Ed25519
signature is made with a private key only the audit writer holds
(``RISKMON_AUDIT_SIGNING_KEY_FILE``) and checked with a public key that can be
handed to anyone: an auditor verifies an export offline, with no Kafka, no
Redis and no secret (``riskmon audit verify --file EXPORT --public-key KEY``).

A signed checkpoint is ``{size, root, head, at, alg: "ed25519", key_id, sig}``:
``sig`` is the signature (hex) over the canonical bytes of every other field,
``key_id`` the first 16 hex digits of the SHA-256 of the raw public key, so a
verifier holding several keys (after a rotation) knows which one to use.
Checkpoints written before signing existed carry an HMAC ``mac`` instead and
still verify with the HMAC key (:func:`riskmon.audit.chain.checkpoint_valid`).

Pure: keys come in and go out as PEM bytes; reading and writing files is the
caller's (the command line, the worker's start).

>>> signer = CheckpointSigner.development()
>>> cp = signer.sign({"size": 1, "root": "0" * 64, "head": "1" * 64, "at": "2026-11-29T14:38:26.000Z"})
>>> cp["alg"], cp["key_id"] == signer.key_id, signature_problem(cp, {signer.key_id: signer.public_key})
('ed25519', True, None)
>>> signature_problem({**cp, "size": 2}, {signer.key_id: signer.public_key})
'signature invalid (forged or altered)'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from riskmon.audit.records import canonical_bytes

__all__ = [
    "ALG",
    "Ed25519PublicKey",
    "SIGNED_FIELDS",
    "CheckpointSigner",
    "SigningKeyError",
    "key_id",
    "key_ids",
    "public_key_pem",
    "public_keys_from_pem",
    "signature_problem",
    "trusted_keys",
]

ALG = "ed25519"
#: The fields a signature covers (``sig`` itself aside).
SIGNED_FIELDS = ("size", "root", "head", "at", "alg", "key_id")
_PEM_BLOCK = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----.+?-----END [A-Z0-9 ]+-----", re.S)
#: Seed of the development key: public, so it proves nothing; used only when no key is configured.
_DEV_SEED = hashlib.sha256(b"riskmon development audit signing key - not for production").digest()


class SigningKeyError(ValueError):
    """A key file that is not an Ed25519 key of the expected kind (the message says which)."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), what auditors are given."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_keys_from_pem(data: bytes) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in ``data`` (one or more PEM blocks), by key id.

    A private key's PEM is accepted too (its public half is taken), so the
    writer's own key file also serves to verify.

    Raises
    ------
    SigningKeyError
        If no block is an Ed25519 key.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    for pem in _PEM_BLOCK.findall(data):
        key: Any
        try:
            key = (
                serialization.load_pem_private_key(pem, password=None)
                if b"PRIVATE KEY" in pem
                else serialization.load_pem_public_key(pem)
            )
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a readable PEM key ({exc})") from None
        if isinstance(key, Ed25519PrivateKey):
            key = key.public_key()
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"not an Ed25519 key ({type(key).__name__})")
        keys[key_id(key)] = key
    if not keys:
        raise SigningKeyError("no PEM key found (expected -----BEGIN PUBLIC KEY-----)")
    return keys


def trusted_keys(*groups: Mapping[str, Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    """Several sets of keys as one."""
    out: dict[str, Ed25519PublicKey] = {}
    for group in groups:
        out.update(group)
    return out


class CheckpointSigner:
    """The audit writer's private key: signs checkpoints."""

    def __init__(self, private_key: Ed25519PrivateKey, *, development: bool = False) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self.is_development = development

    @classmethod
    def generate(cls) -> CheckpointSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def development(cls) -> CheckpointSigner:
        """The well-known development key: fine on a laptop, proves nothing anywhere else."""
        return cls(Ed25519PrivateKey.from_private_bytes(_DEV_SEED), development=True)

    @classmethod
    def from_pem(cls, data: bytes) -> CheckpointSigner:
        """Raises :class:`SigningKeyError` unless ``data`` is an unencrypted Ed25519 private key in PEM."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"not an Ed25519 private key ({type(key).__name__})")
        return cls(key)

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        return public_key_pem(self.public_key)

    def sign(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` (size, root, head, at) as a signed checkpoint."""
        signed = {**{f: body[f] for f in ("size", "root", "head", "at")}, "alg": ALG, "key_id": self.key_id}
        return {**signed, "sig": self._key.sign(canonical_bytes(signed)).hex()}


def signature_problem(checkpoint: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """What is wrong with a signed checkpoint's signature under ``public_keys``; None if it is good."""
    if checkpoint.get("alg") != ALG:
        return f"unknown signature algorithm {checkpoint.get('alg')!r}"
    kid = checkpoint.get("key_id")
    key = public_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        known = ", ".join(sorted(public_keys)) or "none"
        return f"signed by key {kid}, which is not a trusted key (trusted: {known})"
    try:
        sig = bytes.fromhex(str(checkpoint.get("sig", "")))
        key.verify(sig, canonical_bytes({f: checkpoint[f] for f in SIGNED_FIELDS}))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return "signature invalid (forged or altered)"
    return None


def key_ids(checkpoints: Iterable[Mapping[str, Any]]) -> list[str]:
    """The key ids that signed ``checkpoints``, in order of first use."""
    seen: list[str] = []
    for cp in checkpoints:
        kid = cp.get("key_id") if isinstance(cp, Mapping) else None
        if isinstance(kid, str) and kid not in seen:
            seen.append(kid)
    return seen
