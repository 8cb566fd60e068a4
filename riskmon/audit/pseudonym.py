"""A keyed pseudonym of the applicant: one stable reference, no personal data.

The audit trail must show that two decisions concern the same person without
holding who that person is (docs/contract.md, ``applicant``). The pseudonym is
``HMAC-SHA256(key, canonical identity)``, truncated to 128 bits and written
``anon-<32 hex>``:

* **Stable.** The identity is the ``national_id`` when there is one, else
  name, email and phone together, each normalised (Unicode NFKC, case folded,
  whitespace collapsed; separators dropped from the national id and the
  phone) so that ``"X 123-4567"`` and ``"x1234567"`` are one person.
* **Keyed.** A plain hash of a national id can be reversed by hashing every
  possible id (there are few); without the key nobody can compute or test a
  pseudonym. The key is a secret of at least 16 bytes (32 random bytes are
  recommended) from configuration or the environment (for example
  ``RISKMON_AUDIT_PSEUDONYM_KEY``, hex), never from the code or the log; the
  caller reads it and passes it in. Use a different key than the one that
  signs checkpoints.
* **Rotating the key breaks linkability, on purpose.** Pseudonyms made with
  a new key do not match the old ones; keep the old key only as long as old
  and new decisions must be linked, and destroying it makes the old
  pseudonyms anonymous for good (a way to honour erasure without editing
  an append-only log).

Nothing here returns, keeps or echoes any personal value: the only output is
the pseudonym, and errors name types, never values.

>>> key = bytes(range(32))
>>> ref = pseudonymize({"name": "Ada Example", "national_id": "X 123-4567"}, key)
>>> ref
'anon-cd7d109d77a3dd82937e907861c74ba9'
>>> ref == pseudonymize({"national_id": "x1234567", "email": "other@example.org"}, key)
True
>>> pseudonymize(None, key) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping

import orjson

__all__ = ["MIN_KEY_BYTES", "PREFIX", "pseudonymize"]

#: Shortest key accepted, in bytes.
MIN_KEY_BYTES = 16
#: How every pseudonym starts.
PREFIX = "anon-"

_HEX_CHARS = 32  # 128 bits: collisions are out of reach for any population of applicants
_DOMAIN = b"riskmon/audit/applicant/v1\x00"  # the same key used elsewhere never gives the same digests
_SPACE = re.compile(r"\s+")
_ID_SEPARATORS = re.compile(r"[\s\-./]+")
_PHONE_KEEP = re.compile(r"[^0-9+]")


def _text(value: object) -> str:
    """A scalar as text (NFKC, case folded, whitespace collapsed); '' for anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""  # objects, lists, booleans and null identify nobody
    text = value if isinstance(value, str) else repr(value)
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _identity(applicant: Mapping) -> bytes | None:
    """The canonical identity bytes, or None when nothing identifies the applicant."""
    national_id = _ID_SEPARATORS.sub("", _text(applicant.get("national_id")))
    if national_id:
        return b"national_id\x00" + national_id.encode("utf-8")
    name = _text(applicant.get("name"))
    email = _text(applicant.get("email")).replace(" ", "")
    phone = _PHONE_KEEP.sub("", _text(applicant.get("phone")))
    if not (name or email or phone):
        return None
    # A JSON array keeps the three apart: ("a b", "") and ("a", "b") differ.
    return b"contact\x00" + orjson.dumps([name, email, phone])


def pseudonymize(applicant: Mapping | None, key: bytes) -> str | None:
    """The applicant's keyed pseudonym, ``anon-<32 hex>``; None when there is nothing to identify.

    Parameters
    ----------
    applicant
        The application's ``applicant`` object (``name``, ``national_id``,
        ``phone``, ``email``), or None. Other fields are ignored.
    key
        The secret pseudonym key, at least :data:`MIN_KEY_BYTES` bytes.

    Raises
    ------
    TypeError
        If ``applicant`` is neither a mapping nor None, or ``key`` is not bytes.
    ValueError
        If the key is shorter than :data:`MIN_KEY_BYTES`.
    """
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"the pseudonym key must be bytes, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    if applicant is None:
        return None
    if not isinstance(applicant, Mapping):
        raise TypeError(f"applicant must be a mapping or None, got {type(applicant).__name__}")
    identity = _identity(applicant)
    if identity is None:
        return None
    digest = hmac.new(bytes(key), _DOMAIN + identity, hashlib.sha256).hexdigest()
    return PREFIX + digest[:_HEX_CHARS]
