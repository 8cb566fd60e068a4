"""The hash-chained log: entry hashes by hand, checkpoints, and resuming without forking."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from riskmon.audit import ZERO_HASH, AuditChain, AuditChainError, canonical_bytes, checkpoint_valid, root
from riskmon.audit.merkle import leaf_hash

KEY = b"checkpoint-key-for-tests-32bytes"
T0 = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)


def at(i: int) -> str:
    return (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def record(i: int) -> dict:
    return {
        "kind": "decision",
        "decision_id": f"dec-{i:04d}",
        "application_id": f"app-{i:04d}",
        "outcome": ("approve", "review", "reject")[i % 3],
        "score": round(0.01 * (i % 97), 4),
        "source": {"topic": "credit.decisions", "partition": i % 2, "offset": i // 2},
    }


def write(n: int, chain: AuditChain | None = None, start: int = 0) -> tuple[AuditChain, list[dict]]:
    chain = chain or AuditChain()
    return chain, [chain.append(record(i), at=at(i)) for i in range(start, start + n)]


def test_entries_hash_as_specified():
    chain, (e0, e1) = write(2)
    for seq, entry, prev in ((0, e0, ZERO_HASH), (1, e1, e0["chain"])):
        assert list(entry) == ["seq", "at", "record", "prev", "leaf", "chain"]
        assert entry["seq"] == seq and entry["prev"] == prev
        body = orjson.dumps(
            {"seq": seq, "at": at(seq), "record": record(seq), "prev": prev}, option=orjson.OPT_SORT_KEYS
        )
        leaf = hashlib.sha256(b"\x00" + body).digest()
        assert entry["leaf"] == leaf.hex()
        assert entry["chain"] == hashlib.sha256(bytes.fromhex(prev) + leaf).hexdigest()
    assert chain.size == 2 and chain.head == e1["chain"]
    assert chain.root() == root([bytes.fromhex(e0["leaf"]), bytes.fromhex(e1["leaf"])]).hex()


def test_empty_chain():
    chain = AuditChain()
    assert (chain.size, chain.head, chain.root()) == (0, ZERO_HASH, hashlib.sha256(b"").hexdigest())
    assert "size=0" in repr(chain)


def test_entry_holds_the_json_a_reader_decodes():
    chain = AuditChain()
    source = {"when": T0, "reasons": ("a", "b")}
    entry = chain.append(source, at=T0)
    assert entry["at"] == "2026-11-29T14:00:00.000Z"
    assert entry["record"] == {"when": "2026-11-29T14:00:00.000Z", "reasons": ["a", "b"]}
    source["reasons"] = ("edited",)  # the caller's object changing later does not touch the entry
    assert entry["record"]["reasons"] == ["a", "b"]
    assert AuditChain.resume([orjson.loads(orjson.dumps(entry))]).head == chain.head


def test_append_refuses_what_it_cannot_chain():
    chain = AuditChain()
    with pytest.raises(TypeError):
        chain.append(["not", "a", "mapping"], at=at(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        chain.append({"x": object()}, at=at(0))
    with pytest.raises(TypeError):
        chain.append({"x": 1}, at="")
    assert chain.size == 0  # nothing half-appended


def test_checkpoint_is_signed_over_its_fields():
    chain, _ = write(5)
    cp = chain.checkpoint(at=at(10), key=KEY)
    assert set(cp) == {"size", "root", "head", "at", "mac"}
    assert (cp["size"], cp["root"], cp["head"]) == (5, chain.root(), chain.head)
    body = canonical_bytes({"size": 5, "root": chain.root(), "head": chain.head, "at": at(10)})
    assert cp["mac"] == hmac.new(KEY, body, hashlib.sha256).hexdigest()
    assert checkpoint_valid(cp, KEY)
    assert not checkpoint_valid({**cp, "size": 6}, KEY)
    assert not checkpoint_valid(cp, b"another-key-of-thirty-two-bytes!")
    assert not checkpoint_valid({"size": 5}, KEY)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        chain.checkpoint(at=at(10), key=b"short")


@pytest.mark.parametrize("split", [0, 1, 2, 3, 7, 8, 9, 16, 23])
def test_resume_then_append_is_one_uninterrupted_chain(split):
    _, uninterrupted = write(24)
    chain, first = write(split)
    read_back = [orjson.loads(orjson.dumps(e)) for e in first]  # as consumed from the topic after a crash
    resumed = AuditChain.resume(read_back, checkpoints=[chain.checkpoint(at=at(99), key=KEY)], key=KEY)
    assert (resumed.size, resumed.head, resumed.root()) == (chain.size, chain.head, chain.root())
    _, rest = write(24 - split, resumed, start=split)
    assert first + rest == uninterrupted


def test_resume_knows_the_source_positions():
    chain, log = write(9)
    assert chain.positions == {"credit.decisions:0": 4, "credit.decisions:1": 3}
    assert AuditChain.resume(log).positions == chain.positions
    chain.append({"kind": "review"}, at=at(10))  # a record without a source changes nothing
    assert chain.positions == {"credit.decisions:0": 4, "credit.decisions:1": 3}


RESUME_REFUSALS = [
    # (what is done to the log / checkpoints, first bad seq, words in the error)
    ("edit", 4, "record edited"),
    ("delete", 4, "seq 5 where 4 expected"),
    ("duplicate", 8, "seq 7 where 8 expected"),  # the last entry read twice: a fork if we went on
    ("truncate", 6, "truncated tail"),
    ("forged checkpoint", None, "checkpoint MAC invalid"),
    ("rewritten", 0, "root mismatch"),
]


@pytest.mark.parametrize("damage, seq, words", RESUME_REFUSALS)
def test_resume_refuses_a_log_it_must_not_continue(damage, seq, words):
    chain, log = write(8)
    cps = [chain.checkpoint(at=at(20), key=KEY)]
    if damage == "edit":
        log[4]["record"]["outcome"] = "approve" if log[4]["record"]["outcome"] != "approve" else "reject"
    elif damage == "delete":
        del log[4]
    elif damage == "duplicate":
        log.append(log[-1])
        cps = []
    elif damage == "truncate":
        log = log[:6]
    elif damage == "forged checkpoint":
        cps = [{**cps[0], "size": 6}]
    elif damage == "rewritten":  # a consistent chain, but not the one checkpointed
        other = AuditChain()
        log = [other.append({**e["record"], "outcome": "approve"}, at=e["at"]) for e in log]
    with pytest.raises(AuditChainError) as err:
        AuditChain.resume(log, checkpoints=cps, key=KEY)
    assert err.value.seq == seq
    assert words in str(err.value)


def test_resume_reads_a_stream_once():
    _, log = write(30)
    consumed = []

    def stream():
        for e in log:
            consumed.append(e["seq"])
            yield e

    assert AuditChain.resume(stream()).size == 30
    assert consumed == list(range(30))


def test_leaves_are_domain_separated():
    chain, (e0,) = write(1)
    body = canonical_bytes({"seq": 0, "at": at(0), "record": record(0), "prev": ZERO_HASH})
    assert e0["leaf"] == leaf_hash(body).hex() != hashlib.sha256(body).hexdigest()
