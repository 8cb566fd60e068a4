"""RFC 6962 / RFC 9162 Merkle tree hashing: roots, inclusion and consistency proofs.

The audit log's leaves are hashed as ``SHA-256(0x00 || data)`` and its inner
nodes as ``SHA-256(0x01 || left || right)``. The two prefixes are the
*domain separation* of RFC 6962 section 2.1: without them, the 64 bytes of an
inner node could be presented as a leaf (a second preimage), so a tree of
``n`` leaves could be passed off as a different tree with the same root.

The tree over ``n`` leaves is RFC 6962's ``MTH``: the left subtree holds the
largest power of two *smaller* than ``n``, so a tree only ever grows on its
right and a root of size ``m`` stays provably a prefix of every later root
(:func:`consistency_proof`). The root of the empty tree is ``SHA-256(b"")``.

Everything here works on 32-byte digests (``bytes``); :mod:`riskmon.audit.chain`
renders them as hex. Pure code: no I/O.

>>> leaves = [leaf_hash(bytes([i])) for i in range(5)]
>>> r = root(leaves)
>>> proof = inclusion_proof(3, leaves)
>>> len(proof), verify_inclusion(leaves[3], 3, 5, proof, r)
(3, True)
>>> verify_consistency(2, 5, root(leaves[:2]), r, consistency_proof(2, leaves))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleFrontier",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

#: Size of every digest, in bytes.
HASH_SIZE = 32
#: The root of the tree with no leaves: ``SHA-256(b"")``.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf's bytes.

    >>> leaf_hash(b"").hex()
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'
    """
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an inner node."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    """``MTH(D[lo:hi])`` of leaf hashes, ``hi > lo``."""
    n = hi - lo
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def root(leaves: Sequence[bytes]) -> bytes:
    """The RFC 6962 Merkle tree hash over ``leaves`` (already leaf-hashed).

    >>> root([]) == EMPTY_ROOT
    True
    >>> a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    >>> root([a, b, c]) == node_hash(node_hash(a, b), c)
    True
    """
    if not leaves:
        return EMPTY_ROOT
    return _mth(leaves, 0, len(leaves))


def _path(m: int, leaves: Sequence[bytes], lo: int, hi: int) -> list[bytes]:
    """RFC 6962 ``PATH(m, D[lo:hi])``, siblings from the leaf up."""
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, leaves, lo, lo + k) + [_mth(leaves, lo + k, hi)]
    return _path(m - k, leaves, lo + k, hi) + [_mth(leaves, lo, lo + k)]


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree over ``leaf_hashes``.

    Raises
    ------
    IndexError
        If ``index`` is not a leaf of the tree.
    """
    if not 0 <= index < len(leaf_hashes):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaf_hashes)} leaves")
    return _path(index, leaf_hashes, 0, len(leaf_hashes))


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows ``leaf_hash`` at ``index`` of the tree with ``root`` (RFC 9162 2.1.3.2).

    Never raises on a malformed proof: it answers ``False``. The tree size
    is vouched for by the root (a checkpoint), not by the proof: a proof for
    leaf 0 of 3 leaves also passes with ``tree_size`` 4 and that same root.
    """
    if not (isinstance(index, int) and isinstance(tree_size, int)) or not 0 <= index < tree_size:
        return False
    if any(not isinstance(p, bytes) or len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _subproof(m: int, leaves: Sequence[bytes], lo: int, hi: int, complete: bool) -> list[bytes]:
    """RFC 6962 ``SUBPROOF(m, D[lo:hi], complete)``."""
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves, lo, lo + k, complete) + [_mth(leaves, lo + k, hi)]
    return _subproof(m - k, leaves, lo + k, hi, False) + [_mth(leaves, lo, lo + k)]


def consistency_proof(m: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The proof that the first ``m`` leaves' tree is a prefix of the tree over ``leaf_hashes``.

    Empty when ``m`` is 0 or the whole tree (nothing to prove).

    Raises
    ------
    ValueError
        If ``m`` is negative or larger than the tree.
    """
    n = len(leaf_hashes)
    if not 0 <= m <= n:
        raise ValueError(f"a tree of {m} leaves cannot be a prefix of a tree of {n}")
    if m == 0 or m == n:
        return []
    return _subproof(m, leaf_hashes, 0, n, True)


def verify_consistency(m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree ``(m, root_m)`` is a prefix of ``(n, root_n)`` (RFC 9162 2.1.4.2).

    ``m == n`` needs an empty proof and equal roots; ``m == 0`` needs an empty
    proof and ``root_m`` the empty tree's root. Never raises: a malformed
    proof answers ``False``.
    """
    if not (isinstance(m, int) and isinstance(n, int)) or not 0 <= m <= n:
        return False
    if any(not isinstance(p, bytes) or len(p) != HASH_SIZE for p in proof):
        return False
    if m == n:
        return not proof and root_m == root_n
    if m == 0:
        return not proof and root_m == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root_m and sr == root_n and sn == 0


class MerkleFrontier:
    """The right edge of a growing tree: its root in ``O(log n)`` memory.

    An append-only RFC 6962 tree of ``n`` leaves is the perfect subtrees given
    by the binary digits of ``n`` (largest on the left), joined from the
    right. Keeping only those roots (at most 64 digests) is enough to append
    and to give the root at every size; proofs need the leaves themselves,
    which the log holds (:func:`riskmon.audit.verify.prove`).

    >>> leaves = [leaf_hash(bytes([i])) for i in range(7)]
    >>> frontier = MerkleFrontier()
    >>> for h in leaves:
    ...     frontier.append(h)
    >>> frontier.size, frontier.root() == root(leaves), len(frontier.nodes)
    (7, True, 3)
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._size = 0
        self._nodes: list[tuple[int, bytes]] = []  # (height, subtree root), left to right

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash on the right."""
        if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        height, h = 0, leaf
        while self._nodes and self._nodes[-1][0] == height:
            _, left = self._nodes.pop()
            height, h = height + 1, node_hash(left, h)
        self._nodes.append((height, h))
        self._size += 1

    def root(self) -> bytes:
        """The tree hash of the leaves appended so far."""
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1][1]
        for _, h in reversed(self._nodes[:-1]):
            r = node_hash(h, r)
        return r

    @property
    def size(self) -> int:
        """How many leaves were appended."""
        return self._size

    @property
    def nodes(self) -> tuple[bytes, ...]:
        """The perfect subtrees' roots, left to right (one per set bit of :attr:`size`)."""
        return tuple(h for _, h in self._nodes)
