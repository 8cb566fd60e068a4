"""The hash-chained audit log: entries to publish on ``risk.audit``, and checkpoints.

Each entry wraps one record (:mod:`riskmon.audit.records`)::

    {"seq": n, "at": "<time appended>", "record": {...},
     "prev": "<chain hash of entry n-1, 64 zeros for the first>",
     "leaf": hex SHA-256(0x00 || canonical_bytes({seq, at, record, prev})),
     "chain": hex SHA-256(bytes(prev) || bytes(leaf))}

``leaf`` is the entry's RFC 6962 leaf hash: the Merkle root over all leaves
(:meth:`AuditChain.root`) commits to the whole log and gives short inclusion
proofs (:func:`riskmon.audit.verify.prove`). ``chain`` orders the entries: it
covers ``prev``, so deleting, inserting or reordering an entry breaks the
link of the one after it. Neither can detect a cut tail, so the writer also
emits *checkpoints* (size, root, head, time, and an Ed25519 signature,
:mod:`riskmon.audit.signing`; an HMAC in checkpoints written before), stored apart from the log:
a log shorter than a checkpoint, or one whose root or head at that size
differs, was truncated or rewritten.

Memory: the writer keeps the right edge of the Merkle tree only
(:class:`~riskmon.audit.merkle.MerkleFrontier`, at most 64 digests), not one
leaf hash per entry, because proofs are built from the log itself. A service
that wanted to answer proofs without re-reading the log would keep the leaf
hashes: 32 bytes each, so 10 million decisions = 320 MB; in production it
would keep Merkle subtrees (tiles) on disk instead.

>>> chain = AuditChain()
>>> e0 = chain.append({"kind": "decision", "decision_id": "dec-1"}, at="2026-11-29T14:38:26.140Z")
>>> e0["seq"], e0["prev"] == ZERO_HASH, e0["chain"] == chain.head
(0, True, True)
>>> e1 = chain.append({"kind": "decision", "decision_id": "dec-2"}, at="2026-11-29T14:38:27.000Z")
>>> e1["prev"] == e0["chain"], chain.size
(True, 2)
>>> AuditChain.resume([e0, e1]).head == chain.head
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeGuard

import orjson

from riskmon.audit.merkle import MerkleFrontier, leaf_hash
from riskmon.audit.records import canonical_bytes
from riskmon.audit.signing import CheckpointSigner, Ed25519PublicKey, signature_problem
from riskmon.schemas import format_timestamp

__all__ = [
    "ENTRY_FIELDS",
    "CHECKPOINT_FIELDS",
    "ZERO_HASH",
    "AuditChain",
    "AuditChainError",
    "chain_hash",
    "check_entry",
    "checkpoint_mac",
    "checkpoint_problem",
    "checkpoint_shape",
    "checkpoint_valid",
    "entry_leaf",
    "is_hash",
]

#: ``prev`` of the first entry: 32 zero bytes in hex.
ZERO_HASH = "0" * 64
#: The fields of an entry, in the order they are written.
ENTRY_FIELDS = ("seq", "at", "record", "prev", "leaf", "chain")
#: The fields of an HMAC checkpoint (written before checkpoints were signed; still verified).
CHECKPOINT_FIELDS = ("size", "root", "head", "at", "mac")
#: The fields of a signed checkpoint.
SIGNED_CHECKPOINT_FIELDS = ("size", "root", "head", "at", "alg", "key_id", "sig")
_MIN_KEY_BYTES = 16
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AuditChainError(ValueError):
    """An existing log that a writer must not continue: ``seq`` is the first bad entry (None: no entry)."""

    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def is_hash(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a SHA-256 digest in lower-case hex (64 digits), as the chain writes them."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def entry_leaf(seq: int, at: str, record: Mapping, prev: str) -> bytes:
    """The leaf hash of an entry: ``SHA-256(0x00 || canonical_bytes({seq, at, record, prev}))``."""
    return leaf_hash(canonical_bytes({"seq": seq, "at": at, "record": record, "prev": prev}))


def chain_hash(prev: str, leaf: bytes) -> bytes:
    """``SHA-256(bytes.fromhex(prev) || leaf)``: the chain hash of an entry."""
    return hashlib.sha256(bytes.fromhex(prev) + leaf).digest()


def check_entry(entry: object, *, seq: int, prev: str) -> tuple[str, str] | None:
    """What is wrong with ``entry`` at position ``seq`` after chain hash ``prev``; None if nothing.

    Returns ``(kind, problem)`` with ``kind`` one of ``malformed``, ``seq``,
    ``prev``, ``leaf``, ``chain``, checked in that order;
    :func:`riskmon.audit.verify.verify` words and locates them further.
    """
    if not isinstance(entry, Mapping):
        return "malformed", f"entry {seq}: malformed (not an object)"
    missing = [f for f in ENTRY_FIELDS if f not in entry]
    if missing:
        return "malformed", f"entry {seq}: malformed (missing {', '.join(missing)})"
    s, at, record = entry["seq"], entry["at"], entry["record"]
    if isinstance(s, bool) or not isinstance(s, int):
        return "malformed", f"entry {seq}: malformed (seq is not an integer)"
    if not isinstance(at, str) or not isinstance(record, Mapping):
        return "malformed", f"entry {seq}: malformed (at must be a string and record an object)"
    if not all(is_hash(entry[f]) for f in ("prev", "leaf", "chain")):
        return "malformed", f"entry {seq}: malformed (prev, leaf and chain must be 64 hex digits)"
    if s != seq:
        return "seq", f"entry {seq}: seq {s} where {seq} expected"
    if entry["prev"] != prev:
        if seq == 0:
            return "prev", "entry 0: prev is not the 64 zeros that start the chain"
        return "prev", f"entry {seq}: prev does not match the chain of entry {seq - 1}"
    try:
        leaf = entry_leaf(s, at, record, entry["prev"])
    except TypeError:
        return "malformed", f"entry {seq}: malformed (record is not JSON)"
    if leaf.hex() != entry["leaf"]:
        return "leaf", f"entry {seq}: record edited (leaf hash mismatch)"
    if chain_hash(prev, leaf).hex() != entry["chain"]:
        return "chain", f"entry {seq}: chain hash edited (it does not follow from prev and leaf)"
    return None


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"the checkpoint key must be bytes, got {type(key).__name__}")
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the checkpoint key must be at least {_MIN_KEY_BYTES} bytes, got {len(key)}")
    return bytes(key)


def checkpoint_mac(checkpoint: Mapping, key: bytes) -> str:
    """HMAC-SHA256 (hex) over the canonical bytes of a checkpoint's ``size``, ``root``, ``head``, ``at``."""
    body = {f: checkpoint[f] for f in ("size", "root", "head", "at")}
    return hmac.new(_check_key(key), canonical_bytes(body), hashlib.sha256).hexdigest()


def checkpoint_valid(checkpoint: object, key: bytes) -> bool:
    """Whether ``checkpoint`` is well formed and its ``mac`` is right for ``key``."""
    _check_key(key)
    if not isinstance(checkpoint, Mapping) or any(f not in checkpoint for f in CHECKPOINT_FIELDS):
        return False
    mac = checkpoint["mac"]
    try:
        expected = checkpoint_mac(checkpoint, key)
    except TypeError:
        return False
    return isinstance(mac, str) and hmac.compare_digest(mac, expected)


def checkpoint_shape(checkpoint: object) -> str | None:
    """Why ``checkpoint`` is not a well-formed checkpoint (signed, or HMAC), or None."""
    if not isinstance(checkpoint, Mapping):
        return "not an object"
    fields = SIGNED_CHECKPOINT_FIELDS if "sig" in checkpoint else CHECKPOINT_FIELDS
    missing = [f for f in fields if f not in checkpoint]
    if missing:
        return f"missing {', '.join(missing)}"
    size = checkpoint["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return "size must be an integer >= 0"
    if not (is_hash(checkpoint["root"]) and is_hash(checkpoint["head"])):
        return "root and head must be 64 hex digits"
    proof = ("alg", "key_id", "sig") if "sig" in checkpoint else ("mac",)
    if not all(isinstance(checkpoint[f], str) for f in ("at", *proof)):
        return f"at and {', '.join(proof)} must be strings"
    return None


def checkpoint_problem(
    checkpoint: Mapping,
    *,
    key: bytes | None = None,
    public_keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> str | None:
    """Why a well-formed checkpoint is not authentic, or None.

    A signed checkpoint is checked against ``public_keys`` (not at all when
    None); an HMAC one against ``key`` (not at all when None).
    """
    if "sig" in checkpoint:
        return None if public_keys is None else signature_problem(checkpoint, public_keys)
    if key is not None and not checkpoint_valid(checkpoint, key):
        return "checkpoint MAC invalid (forged or altered)"
    return None


class AuditChain:
    """The writer's state: sequence number, chain head and the Merkle tree's right edge.

    One writer appends records (:meth:`append`) and publishes the entries it
    returns, in order; from time to time, once the entries are acknowledged,
    it publishes a :meth:`checkpoint` to a store apart from the log. After a
    restart, :meth:`resume` rebuilds the state from the log (and checks it
    against the stored checkpoints), so the writer continues the same chain.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._size = 0
        self._head = ZERO_HASH
        self._frontier = MerkleFrontier()
        self._positions: dict[str, int] = {}

    def append(self, record: Mapping, *, at: str | datetime) -> dict:
        """Chain ``record`` and return the entry to publish.

        ``at`` is the time of appending (a contract timestamp, or an aware
        datetime). The entry's ``record`` is the JSON form of ``record``
        (what a reader will decode), so the entry hashes the same once read
        back.

        Raises
        ------
        TypeError
            If ``record`` is not a mapping or cannot be written as JSON.
        """
        if isinstance(at, datetime):
            at = format_timestamp(at)
        if not isinstance(at, str) or not at:
            raise TypeError("at must be a non-empty timestamp string or an aware datetime")
        if not isinstance(record, Mapping):
            raise TypeError(f"a record must be a mapping, got {type(record).__name__}")
        as_read = orjson.loads(canonical_bytes(record))
        leaf = entry_leaf(self._size, at, as_read, self._head)
        entry = {
            "seq": self._size,
            "at": at,
            "record": as_read,
            "prev": self._head,
            "leaf": leaf.hex(),
            "chain": chain_hash(self._head, leaf).hex(),
        }
        self._accept(entry, leaf)
        return entry

    def _accept(self, entry: Mapping, leaf: bytes) -> None:
        self._frontier.append(leaf)
        self._size += 1
        self._head = entry["chain"]
        source = entry["record"].get("source")
        if isinstance(source, Mapping) and isinstance(source.get("offset"), int):
            where = f"{source.get('topic')}:{source.get('partition')}"
            self._positions[where] = max(self._positions.get(where, -1), source["offset"])

    @property
    def size(self) -> int:
        """How many entries the chain holds; also the ``seq`` of the next one."""
        return self._size

    @property
    def head(self) -> str:
        """Chain hash (hex) of the last entry; 64 zeros when empty."""
        return self._head

    @property
    def positions(self) -> dict[str, int]:
        """Highest source offset chained, by ``"<topic>:<partition>"`` (records with a ``source``).

        After :meth:`resume`, the writer's consumer continues from each
        offset + 1: what the chain holds is never appended twice, and
        nothing after it is skipped.
        """
        return dict(self._positions)

    def root(self) -> str:
        """The RFC 6962 Merkle root (hex) over every entry's leaf so far."""
        return self._frontier.root().hex()

    def checkpoint(
        self, *, at: str | datetime, signer: CheckpointSigner | None = None, key: bytes | None = None
    ) -> dict:
        """A signed statement of the chain now: ``size``, ``root``, ``head``, ``at`` and its proof.

        With ``signer``, an Ed25519 signature (``alg``, ``key_id``, ``sig``:
        anyone with the public key verifies it); with ``key`` only, an HMAC
        ``mac`` (the format of before; kept for tests and old trails).
        Store it apart from the log, and only after the broker acknowledged
        every entry it covers: a checkpoint ahead of the log reads as a
        truncated log.
        """
        if isinstance(at, datetime):
            at = format_timestamp(at)
        body = {"size": self._size, "root": self.root(), "head": self._head, "at": at}
        if signer is not None:
            return signer.sign(body)
        if key is None:
            raise TypeError("a checkpoint needs a signer (or an HMAC key)")
        return {**body, "mac": checkpoint_mac(body, key)}

    @classmethod
    def resume(
        cls,
        entries: Iterable[Mapping],
        *,
        checkpoints: Iterable[Mapping] = (),
        key: bytes | None = None,
        public_keys: Mapping[str, Ed25519PublicKey] | None = None,
    ) -> AuditChain:
        """The chain that ``entries`` (the whole log, from ``seq`` 0) leave, validated as it is read.

        Every entry is checked (sequence, link, leaf and chain hashes), and
        each checkpoint's root and head at its size; with ``public_keys``,
        their signatures too (with ``key``, the MACs of HMAC checkpoints).
        A log that fails must not be continued: appending to it would fork
        the chain or hide the damage.

        Raises
        ------
        AuditChainError
            Naming the first bad entry (or the checkpoint) and the problem.
        """
        chain = cls()
        wanted: dict[int, list[Mapping]] = {}
        for cp in checkpoints:
            shape = checkpoint_shape(cp)
            if shape is not None:
                raise AuditChainError(None, f"checkpoint malformed ({shape})")
            forged = checkpoint_problem(cp, key=key, public_keys=public_keys)
            if forged is not None:
                raise AuditChainError(None, f"checkpoint at size {cp['size']} ({cp['at']}): {forged}")
            wanted.setdefault(cp["size"], []).append(cp)
        vouched = 0  # entries below this size are vouched for by a matching checkpoint
        vouched = chain._match(wanted.pop(0, ()), vouched)
        for entry in entries:
            problem = check_entry(entry, seq=chain._size, prev=chain._head)
            if problem is not None:
                raise AuditChainError(chain._size, problem[1])
            chain._accept(entry, bytes.fromhex(entry["leaf"]))
            if chain._size in wanted:
                vouched = chain._match(wanted.pop(chain._size), vouched)
        if wanted:
            size = max(wanted)
            at = wanted[size][0]["at"]
            raise AuditChainError(
                chain._size, f"log ends at {chain._size} but checkpoint of {at} covers {size} entries (truncated tail)"
            )
        return chain

    def _match(self, checkpoints: Iterable[Mapping], vouched: int) -> int:
        """Check checkpoints of the current size; the new vouched-for size."""
        for cp in checkpoints:
            for field, mine in (("root", self.root()), ("head", self._head)):
                if cp[field] != mine:
                    raise AuditChainError(
                        vouched,
                        f"checkpoint at size {cp['size']} ({cp['at']}): {field} mismatch "
                        f"(the log differs from the checkpointed one in entries {vouched}..{cp['size'] - 1})",
                    )
        return self._size

    def __repr__(self) -> str:
        return f"AuditChain(size={self._size}, head={self._head[:12]}…)"
