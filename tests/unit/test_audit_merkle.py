"""RFC 6962 / 9162 Merkle hashing: hand-computed trees, reference vectors, proofs for every size up to 64."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmon.audit.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

HYPOTHESIS = settings(derandomize=True, database=None, deadline=None, max_examples=200)


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def L(data: bytes) -> bytes:  # by hand: leaf prefix 0x00
    return H(b"\x00" + data)


def N(left: bytes, right: bytes) -> bytes:  # by hand: node prefix 0x01
    return H(b"\x01" + left + right)


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


# The certificate-transparency reference vectors (RFC 6962's reference
# implementation tests): eight leaves, the root at each size, some proofs.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    # (leaf index, tree size, path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [
    # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_domain_separated_hashes_by_hand():
    assert leaf_hash(b"abc") == H(b"\x00abc")
    assert node_hash(b"l" * 32, b"r" * 32) == H(b"\x01" + b"l" * 32 + b"r" * 32)
    # A leaf whose bytes are two child hashes is not the node over them: second preimages fail.
    a, b = L(b"a"), L(b"b")
    assert leaf_hash(a + b) != node_hash(a, b)


def test_empty_tree_root_is_sha256_of_nothing():
    assert root([]) == EMPTY_ROOT == H(b"")
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_tiny_trees_by_hand():
    a, b, c, d, e = (L(x) for x in (b"a", b"b", b"c", b"d", b"e"))
    assert root([a]) == a
    assert root([a, b]) == N(a, b)
    assert root([a, b, c]) == N(N(a, b), c)  # left subtree: the largest power of two below 3
    assert root([a, b, c, d]) == N(N(a, b), N(c, d))
    assert root([a, b, c, d, e]) == N(N(N(a, b), N(c, d)), e)
    # proofs of the 5-leaf tree, from the leaf up
    assert inclusion_proof(0, [a, b, c, d, e]) == [b, N(c, d), e]
    assert inclusion_proof(2, [a, b, c, d, e]) == [d, N(a, b), e]
    assert inclusion_proof(4, [a, b, c, d, e]) == [N(N(a, b), N(c, d))]
    # consistency 3 -> 5: c, d, N(a, b), e (RFC 6962 SUBPROOF)
    assert consistency_proof(3, [a, b, c, d, e]) == [c, d, N(a, b), e]
    assert consistency_proof(4, [a, b, c, d, e]) == [e]  # a power of two: the old root is implied


@pytest.mark.parametrize("n", range(1, 9))
def test_reference_roots(n):
    hashes = [leaf_hash(x) for x in CT_LEAVES[:n]]
    assert root(hashes).hex() == CT_ROOTS[n - 1]


@pytest.mark.parametrize("index, size, path", CT_INCLUSION)
def test_reference_inclusion_paths(index, size, path):
    hashes = [leaf_hash(x) for x in CT_LEAVES[:size]]
    proof = inclusion_proof(index, hashes)
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(hashes[index], index, size, proof, bytes.fromhex(CT_ROOTS[size - 1]))


@pytest.mark.parametrize("m, n, path", CT_CONSISTENCY)
def test_reference_consistency_proofs(m, n, path):
    hashes = [leaf_hash(x) for x in CT_LEAVES[:n]]
    proof = consistency_proof(m, hashes)
    assert [p.hex() for p in proof] == path
    assert verify_consistency(m, n, bytes.fromhex(CT_ROOTS[m - 1]), bytes.fromhex(CT_ROOTS[n - 1]), proof)


def test_every_inclusion_proof_up_to_64_verifies():
    every = leaves(65)
    for n in range(1, 65):
        hs = every[:n]
        r = root(hs)
        grown = root(every[: n + 1])
        for i in range(n):
            proof = inclusion_proof(i, hs)
            assert verify_inclusion(hs[i], i, n, proof, r), (i, n)
            # the same proof places no other leaf, nor this one elsewhere, nor in the grown tree
            if n > 1:
                assert not verify_inclusion(hs[i], (i + 1) % n, n, proof, r)
                assert not verify_inclusion(hs[(i + 1) % n], i, n, proof, r)
            assert not verify_inclusion(hs[i], i, n + 1, proof, grown)


def test_every_consistency_proof_up_to_64_verifies():
    hs = leaves(64)
    roots = [root(hs[:k]) for k in range(65)]
    for n in range(0, 65):
        for m in range(0, n + 1):
            proof = consistency_proof(m, hs[:n])
            assert verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            if 0 < m < n:
                assert not verify_consistency(m, n, roots[m], roots[n - 1], proof)  # wrong new root
                assert not verify_consistency(m, n, roots[m - 1], roots[n], proof)  # wrong old root


def _flip(data: bytes, position: int, bit: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1 :]


@HYPOTHESIS
@given(st.integers(1, 64).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))), st.data())
def test_inclusion_fails_when_any_byte_changes(size_index, data):
    n, i = size_index
    hs = leaves(n)
    r = root(hs)
    proof = inclusion_proof(i, hs)
    assert verify_inclusion(hs[i], i, n, proof, r)
    position, bit = data.draw(st.integers(0, 10_000)), data.draw(st.integers(0, 7))
    target = data.draw(st.sampled_from(["leaf", "root"] + (["proof"] if proof else [])))
    if target == "leaf":
        assert not verify_inclusion(_flip(hs[i], position, bit), i, n, proof, r)
    elif target == "root":
        assert not verify_inclusion(hs[i], i, n, proof, _flip(r, position, bit))
    else:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = _flip(bad[k], position, bit)
        assert not verify_inclusion(hs[i], i, n, bad, r)


@HYPOTHESIS
@given(st.integers(2, 64).flatmap(lambda n: st.tuples(st.integers(1, n - 1), st.just(n))), st.data())
def test_consistency_fails_when_any_byte_changes(sizes, data):
    m, n = sizes
    hs = leaves(n)
    rm, rn = root(hs[:m]), root(hs)
    proof = consistency_proof(m, hs)
    assert verify_consistency(m, n, rm, rn, proof)
    position, bit = data.draw(st.integers(0, 10_000)), data.draw(st.integers(0, 7))
    target = data.draw(st.sampled_from(["old", "new", "proof"]))
    if target == "old":
        assert not verify_consistency(m, n, _flip(rm, position, bit), rn, proof)
    elif target == "new":
        assert not verify_consistency(m, n, rm, _flip(rn, position, bit), proof)
    else:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = _flip(bad[k], position, bit)
        assert not verify_consistency(m, n, rm, rn, bad)


@pytest.mark.parametrize(
    "args",
    [
        # (leaf index, tree size, proof length change): malformed inputs answer False, never raise
        (5, 5, 0),  # index out of range
        (-1, 5, 0),
        (0, 0, 0),
        (1, 5, +1),  # an extra element
        (1, 5, -1),  # one missing
    ],
)
def test_malformed_inclusion_is_false(args):
    index, size, change = args
    hs = leaves(5)
    proof = inclusion_proof(1, hs)
    proof = proof + [hs[0]] if change > 0 else proof[:-1] if change < 0 else proof
    assert not verify_inclusion(hs[1], index, size, proof, root(hs))
    assert not verify_inclusion(hs[1], 1, 5, [b"short"], root(hs))


def test_consistency_edge_cases():
    hs = leaves(5)
    assert consistency_proof(0, hs) == [] and consistency_proof(5, hs) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root(hs), [])
    assert not verify_consistency(0, 5, root(hs[:1]), root(hs), [])
    assert not verify_consistency(3, 5, root(hs[:3]), root(hs), [])  # an empty proof proves nothing
    assert not verify_consistency(5, 3, root(hs), root(hs[:3]), [])
    with pytest.raises(ValueError):
        consistency_proof(6, hs)
    with pytest.raises(IndexError):
        inclusion_proof(5, hs)


def test_frontier_gives_the_root_at_every_size_in_log_memory():
    hs = leaves(300)
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for n, h in enumerate(hs, start=1):
        frontier.append(h)
        assert frontier.root() == root(hs[:n])
        assert len(frontier.nodes) == bin(n).count("1")
    with pytest.raises(ValueError):
        frontier.append(b"short")
