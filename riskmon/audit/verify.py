"""Verifying the audit log: the first bad entry and what is wrong with it; inclusion proofs.

:func:`verify` walks the log from the start (or from an anchor, for a range),
recomputing every entry's leaf and chain hash, then compares the stored
checkpoints with the log. It stops at the first problem and *locates* it:

* a field of a record (or ``at``) edited: ``k``,
  "entry k: record edited (leaf hash mismatch)";
* an edited entry whose own hashes were recomputed: ``k``, "entry k:
  rewritten (...)", betrayed by the next entry's link (the last entry has
  no next one: the checkpoints catch it);
* a record deleted: ``k``, "entry k: seq k+1 where k expected (a record was
  deleted before it)";
* a record inserted: ``k``, "... (an entry was inserted ...)" or "entry k:
  inserted (...)";
* two records swapped: ``k``, "... (entries k and k+1 swapped)" or
  "(reordered ...)";
* the tail cut off: ``n``, "log ends at n but checkpoint of <at> covers m
  entries (truncated tail)";
* a checkpoint forged or altered (with the key): ``None``, "checkpoint at
  size m (<at>): checkpoint MAC invalid (forged or altered)";
* the log rewritten and re-hashed from some entry on: ``v``, "checkpoint at
  size m (<at>): root mismatch (...)".

For a checkpoint that disagrees with a self-consistent log, ``first_bad_seq``
is the first entry that no earlier matching checkpoint vouches for: the
difference lies between it and the checkpoint's size.

Without the checkpoint key, MACs are not checked: a checkpoint then proves
only that the log agrees with it, and the verifier cannot tell an altered
checkpoint from a rewritten log.

>>> from riskmon.audit.chain import AuditChain
>>> chain, key = AuditChain(), b"k" * 32
>>> log = [chain.append({"n": i}, at="2026-11-29T14:38:26.000Z") for i in range(5)]
>>> cps = [chain.checkpoint(at="2026-11-29T14:39:00.000Z", key=key)]
>>> verify(log, checkpoints=cps, key=key).ok
True
>>> log[2]["record"]["n"] = 7
>>> r = verify(log, checkpoints=cps, key=key)
>>> r.first_bad_seq, r.problem
(2, 'entry 2: record edited (leaf hash mismatch)')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from riskmon.audit.chain import (
    ZERO_HASH,
    chain_hash,
    check_entry,
    checkpoint_problem,
    checkpoint_shape,
    entry_leaf,
    is_hash,
)
from riskmon.audit.merkle import EMPTY_ROOT, MerkleFrontier, inclusion_proof, root, verify_inclusion
from riskmon.audit.signing import Ed25519PublicKey

__all__ = ["VerifyResult", "prove", "verify", "verify_proof"]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What :func:`verify` found.

    ``ok``: no problem; ``checked``: entries verified before the first
    problem (all of them when ``ok``); ``first_bad_seq``: the first entry
    that is (or may be) bad, None when no entry is (a bad checkpoint);
    ``problem``: the first problem in words. ``head`` and ``root`` are the
    chain hash and Merkle root (hex) of the entries verified (``root`` is
    None for a range, whose earlier leaves are not known);
    ``checkpoints_checked`` counts the checkpoints compared with the log.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    head: str | None = None
    root: str | None = None
    checkpoints_checked: int = 0


def _self_consistent(entry: object) -> bool:
    """Whether an entry's own leaf and chain hashes follow from its fields (whatever its place)."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("seq"), int):
        return False
    prev = entry.get("prev")
    return check_entry(entry, seq=entry["seq"], prev=prev if is_hash(prev) else ZERO_HASH) is None


def _seq_of(entry: object) -> object:
    return entry.get("seq") if isinstance(entry, Mapping) else None


def _locate(entries: Sequence, i: int, seq: int, kind: str, problem: str) -> tuple[int, str]:
    """Refine a problem found at position ``i`` (expected ``seq``): the first bad seq and the words."""
    entry = entries[i]
    nxt = entries[i + 1] if i + 1 < len(entries) else None
    if kind == "seq":
        found = entry["seq"]
        if found > seq:
            later = next((j for j in range(i + 1, len(entries)) if _seq_of(entries[j]) == seq), None)
            if later == i + 1 and found == seq + 1:
                return seq, f"{problem} (entries {seq} and {seq + 1} swapped)"
            if later == i + 1:
                return seq, f"{problem} (an entry was inserted here)"
            if later is not None:
                return seq, f"{problem} (reordered: seq {seq} comes later, at position {later})"
            missing = found - seq
            what = "a record was deleted" if missing == 1 else f"{missing} records were deleted"
            return seq, f"{problem} ({what} before it)"
        # A sequence number seen before: an inserted or replayed entry. If two
        # entries claim seq - 1 and the chain goes on from this one, the
        # earlier of them is the intruder.
        if (
            found == seq - 1
            and i > 0
            and _self_consistent(entry)
            and isinstance(nxt, Mapping)
            and nxt.get("prev") == entry.get("chain")
        ):
            return seq - 1, (
                f"entry {seq - 1}: inserted (two entries claim seq {seq - 1}; the chain goes on from the second)"
            )
        return seq, f"{problem} (an entry was inserted or replayed)"
    if kind == "prev":
        # This entry is intact and the next one links to it: then the entry
        # before it was replaced by one whose hashes were recomputed.
        if i > 0 and _self_consistent(entry) and isinstance(nxt, Mapping) and nxt.get("prev") == entry.get("chain"):
            return seq - 1, (
                f"entry {seq - 1}: rewritten (its hashes were recomputed, but entry {seq} still links to the original)"
            )
        return seq, f"{problem} (inserted or reordered)"
    return seq, problem


def _anchor(anchor: Mapping | str | None, start_seq: int | None) -> tuple[int, str, str | None]:
    """The first seq to verify, the chain hash before it, and a problem with the anchor."""
    if anchor is None:
        if start_seq not in (None, 0):
            raise ValueError(f"verifying from seq {start_seq} needs an anchor: the entry before it, or its chain hash")
        return 0, ZERO_HASH, None
    if isinstance(anchor, str):
        if not is_hash(anchor):
            raise ValueError("an anchor chain hash is 64 hex digits")
        if start_seq is None:
            raise ValueError("with a chain hash as anchor, give start_seq too")
        return start_seq, anchor, None
    seq = anchor.get("seq") if isinstance(anchor, Mapping) else None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValueError("an anchor entry needs an integer seq")
    if start_seq is not None and start_seq != seq + 1:
        raise ValueError(f"the anchor is entry {seq}, so the range starts at {seq + 1}, not {start_seq}")
    if not _self_consistent(anchor):
        return seq + 1, ZERO_HASH, f"anchor entry {seq}: its leaf or chain hash does not follow from its fields"
    return seq + 1, anchor["chain"], None


def verify(
    entries: Sequence[Mapping],
    *,
    checkpoints: Sequence[Mapping] = (),
    key: bytes | None = None,
    start_seq: int | None = None,
    end_seq: int | None = None,
    anchor: Mapping | str | None = None,
    public_keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> VerifyResult:
    """Verify the log (or a range of it) and the checkpoints; stop at the first problem.

    Parameters
    ----------
    entries
        The log as read, in order: from ``seq`` 0, or from the first entry
        of the range.
    checkpoints
        Checkpoints stored apart from the log, in any order.
    key
        The HMAC key of checkpoints written before signing; without it their MACs are not checked.
    public_keys
        Ed25519 public keys by key id (:mod:`riskmon.audit.signing`); a
        signed checkpoint whose key is not among them fails. None: signatures
        are not checked.
    start_seq, end_seq
        A range to verify (``end_seq`` inclusive). Starting after 0 needs
        ``anchor``: the entry before the range (checked to be internally
        consistent) or its chain hash (then ``start_seq`` is required).
        Entries after ``end_seq`` are ignored; a log that stops before it is
        reported. Checkpoint roots need the log from 0, so a range compares
        only checkpoint heads, and only checkpoints it covers.
    anchor
        See ``start_seq``.
    """
    start, prev, anchor_problem = _anchor(anchor, start_seq)
    if anchor_problem is not None:
        return VerifyResult(False, 0, start - 1, anchor_problem)
    if end_seq is not None and end_seq < start - 1:
        raise ValueError(f"end_seq {end_seq} is before start_seq {start}")
    full = start == 0
    frontier = MerkleFrontier() if full else None
    shapes = [checkpoint_shape(cp) for cp in checkpoints]
    wanted = {cp["size"] for cp, shape in zip(checkpoints, shapes, strict=True) if shape is None}
    seen: dict[int, tuple[str | None, str]] = {}  # size -> (root or None, head)
    if start in wanted:
        seen[start] = (EMPTY_ROOT.hex() if full else None, prev)
    count = len(entries) if end_seq is None else max(0, min(len(entries), end_seq - start + 1))
    for i in range(count):
        seq = start + i
        found = check_entry(entries[i], seq=seq, prev=prev)
        if found is not None:
            kind, problem = found
            if kind == "prev" and i == 0 and not full:
                problem = f"entry {seq}: prev does not match the anchor's chain hash"
            bad, problem = _locate(entries, i, seq, kind, problem)
            return VerifyResult(False, bad - start if bad >= start else 0, bad, problem)
        prev = entries[i]["chain"]
        if frontier is not None:
            frontier.append(bytes.fromhex(entries[i]["leaf"]))
        if seq + 1 in wanted:
            seen[seq + 1] = (frontier.root().hex() if frontier is not None else None, prev)
    end = start + count  # the size of the log verified
    tree_root = frontier.root().hex() if frontier is not None else None

    def result(bad: int | None, problem: str, checked_cps: int) -> VerifyResult:
        return VerifyResult(False, count, bad, problem, prev, tree_root, checked_cps)

    if end_seq is not None and end <= end_seq:
        return result(end, f"log ends at {end} but the range asks for entries up to {end_seq} (truncated)", 0)

    order = sorted(range(len(checkpoints)), key=lambda j: (shapes[j] is not None, _size(checkpoints[j]), j))
    vouched, compared = start, 0
    for j in order:
        cp, shape = checkpoints[j], shapes[j]
        if shape is not None:
            return result(None, f"checkpoint {j}: malformed ({shape})", compared)
        size, at = cp["size"], cp["at"]
        name = f"checkpoint at size {size} ({at})"
        authenticity = checkpoint_problem(cp, key=key, public_keys=public_keys)
        if authenticity is not None:
            return result(None, f"{name}: {authenticity}", compared)
        if size > end:
            if end_seq is None:
                cut = f"log ends at {end} but checkpoint of {at} covers {size} entries (truncated tail)"
                return result(end, cut, compared)
            continue  # beyond the range
        if size < start:
            continue  # before the range: its head and root are not known here
        root_hex, head_hex = seen[size]
        why = "the log was rewritten"
        if "sig" in cp and public_keys is None:
            why += ", or the checkpoint altered (signature not checked)"
        elif "sig" not in cp and key is None:
            why += ", or the checkpoint altered (MAC not checked)"
        span = f"entries {vouched}..{size - 1}" if size > vouched else f"the first {size} entries"
        for field, mine in (("root", root_hex), ("head", head_hex)):
            if mine is not None and cp[field] != mine:
                return result(vouched, f"{name}: {field} mismatch ({why}; the difference lies in {span})", compared)
        compared += 1
        vouched = max(vouched, size)
    return VerifyResult(True, count, None, None, prev, tree_root, compared)


def _size(cp: Mapping) -> int:
    size = cp.get("size") if isinstance(cp, Mapping) else None
    return size if isinstance(size, int) else -1


def prove(entries: Sequence[Mapping], seq: int, *, tree_size: int | None = None) -> dict:
    """An inclusion proof of entry ``seq`` in the log's Merkle tree, for ``riskmon audit show``.

    ``tree_size`` (default: the whole log) proves against the root at that
    size, for instance a stored checkpoint's. The log is verified first.

    Returns
    -------
    dict
        ``entry``, ``index``, ``tree_size``, ``root`` (hex) and ``proof``
        (hex digests, from the leaf up): what :func:`verify_proof` checks.

    Raises
    ------
    IndexError
        If ``seq`` is not in the tree of ``tree_size`` entries.
    ValueError
        If the log does not verify (its problem is the message).

    Examples
    --------
    >>> from riskmon.audit.chain import AuditChain
    >>> chain = AuditChain()
    >>> log = [chain.append({"n": i}, at="2026-11-29T14:38:26.000Z") for i in range(6)]
    >>> p = prove(log, 4)
    >>> p["root"] == chain.root(), len(p["proof"]), verify_proof(p)
    (True, 2, True)
    """
    n = len(entries) if tree_size is None else tree_size
    if not 0 <= n <= len(entries):
        raise IndexError(f"the log holds {len(entries)} entries, not {n}")
    if not 0 <= seq < n:
        raise IndexError(f"entry {seq} is not in a tree of {n} entries")
    checked = verify(entries[:n])
    if not checked.ok:
        raise ValueError(f"cannot prove from a log that does not verify: {checked.problem}")
    leaves = [bytes.fromhex(e["leaf"]) for e in entries[:n]]
    return {
        "entry": entries[seq],
        "index": seq,
        "tree_size": n,
        "root": root(leaves).hex(),
        "proof": [h.hex() for h in inclusion_proof(seq, leaves)],
    }


def verify_proof(proof: Mapping, *, root: str | None = None, checkpoint: Mapping | None = None) -> bool:
    """Whether ``proof`` (from :func:`prove`) shows its entry in the tree with its root.

    The entry's leaf is recomputed from its fields, so an edited entry does
    not verify. A proof alone vouches for its own root only: give the
    ``root`` (hex) you trust, or better a trusted ``checkpoint`` (its MAC
    checked by the caller), which also binds the tree size: the path of a
    leaf is the same in trees of several sizes. Never raises: malformed
    input is False.
    """
    if checkpoint is not None:
        if not isinstance(checkpoint, Mapping) or proof.get("tree_size") != checkpoint.get("size"):
            return False
        root = checkpoint.get("root") if root is None else root
        if root != checkpoint.get("root"):
            return False
    try:
        entry = proof["entry"]
        index, size = proof["index"], proof["tree_size"]
        claimed = proof["root"]
        if root is not None and claimed != root:
            return False
        if not isinstance(entry, Mapping) or entry.get("seq") != index or not is_hash(claimed):
            return False
        if not is_hash(entry.get("prev")) or not isinstance(entry.get("record"), Mapping):
            return False
        leaf = entry_leaf(entry["seq"], entry["at"], entry["record"], entry["prev"])
        if leaf.hex() != entry.get("leaf") or chain_hash(entry["prev"], leaf).hex() != entry.get("chain"):
            return False
        path = [bytes.fromhex(h) for h in proof["proof"]]
        return verify_inclusion(leaf, index, size, path, bytes.fromhex(claimed))
    except (KeyError, TypeError, ValueError):
        return False
