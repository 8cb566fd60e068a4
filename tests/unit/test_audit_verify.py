"""The verifier: every kind of tampering is detected and located; ranges; inclusion proofs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from riskmon.audit import AuditChain, decision_record, prove, review_record, verify, verify_proof
from riskmon.audit.chain import chain_hash, entry_leaf
from riskmon.schemas.examples import example

KEY = b"checkpoint-key-for-tests-32bytes"
T0 = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)
N = 50
CHECKPOINT_SIZES = (10, 20, 30, 40, 50)


def at(i: int) -> str:
    return (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def record(i: int) -> dict:
    """Decisions, with a review of the previous one every fifth record."""
    decision = {
        **example("decision"),
        "decision_id": f"dec-{i:04d}",
        "application_id": f"app-{i:04d}",
        "outcome": ("approve", "review", "reject")[i % 3],
        "score": round(0.01 * (i % 97), 4),
        "decided_at": at(i),
    }
    if i % 5 == 4:
        earlier = {**decision, "decision_id": f"dec-{i - 1:04d}", "application_id": f"app-{i - 1:04d}"}
        review = {**example("review"), "application_id": earlier["application_id"], "reviewed_at": at(i)}
        return review_record(review, earlier, applicant_ref=f"anon-{i:032x}")
    snapshot = {
        "inputs": {"amount": 1000.0 + i, "channel": "web"},
        "scores": {"scorecard": decision["score"]},
        "model_version": "scorecard-v1",
        "snapshots": {},
    }
    return decision_record(decision, applicant_ref=f"anon-{i:032x}", snapshot=snapshot, features_retained=i % 2 == 0)


def build(n: int = N, sizes=CHECKPOINT_SIZES, key: bytes = KEY) -> tuple[list[dict], list[dict]]:
    """A log of ``n`` entries, as read back from the topic, and checkpoints at ``sizes``."""
    chain, log, cps = AuditChain(), [], []
    for i in range(n):
        log.append(chain.append(record(i), at=at(i)))
        if chain.size in sizes:
            cps.append(chain.checkpoint(at=at(i), key=key))
    return orjson.loads(orjson.dumps(log)), cps


def rehash(entry: dict, prev: str) -> dict:
    """What an attacker who knows the format does: recompute an entry's own hashes."""
    leaf = entry_leaf(entry["seq"], entry["at"], entry["record"], prev)
    return {**entry, "prev": prev, "leaf": leaf.hex(), "chain": chain_hash(prev, leaf).hex()}


def forged(seq: int, prev: str) -> dict:
    return rehash({"seq": seq, "at": at(seq), "record": {**record(seq), "outcome": "approve", "score": 0.0}}, prev)


def flip_outcome(entry: dict) -> None:
    entry["record"]["outcome"] = "approve" if entry["record"].get("outcome") != "approve" else "reject"


# --- tampering cases: each takes (log, checkpoints) and returns the damaged pair --------------


def edit_outcome_17(log, cps):
    flip_outcome(log[17])
    return log, cps


def edit_score_0(log, cps):
    log[0]["record"]["score"] = 0.99
    return log, cps


def edit_time_49(log, cps):  # the entry's own time, on the last entry
    log[49]["at"] = at(1000)
    return log, cps


def edit_review_verdict_24(log, cps):  # record 24 is a review: its verdict changed
    log[24]["record"]["verdict"] = "reject"
    return log, cps


def edit_features_hash_12(log, cps):
    log[12]["record"]["features_hash"] = "0" * 64
    return log, cps


def edit_and_rehash_17(log, cps):  # hashes redone for that entry; entry 18 still links to the original
    flip_outcome(log[17])
    log[17] = rehash(log[17], log[16]["chain"])
    return log, cps


def edit_chain_field_17(log, cps):
    log[17]["chain"] = "f" * 64
    return log, cps


def delete_17(log, cps):
    del log[17]
    return log, cps


def delete_first(log, cps):
    del log[0]
    return log, cps


def delete_two_17_18(log, cps):
    del log[17:19]
    return log, cps


def replay_3_at_17(log, cps):  # an old entry copied in again
    log.insert(17, copy.deepcopy(log[3]))
    return log, cps


def insert_forged_before_17(log, cps):  # a well-hashed forgery claiming seq 17, linked to entry 16
    log.insert(17, forged(17, log[16]["chain"]))
    return log, cps


def insert_forged_after_17(log, cps):  # the same forgery, placed after the genuine entry 17
    log.insert(18, forged(17, log[16]["chain"]))
    return log, cps


def insert_with_odd_seq_17(log, cps):
    log.insert(17, forged(999, log[16]["chain"]))
    return log, cps


def swap_17_18(log, cps):
    log[17], log[18] = log[18], log[17]
    return log, cps


def swap_5_9(log, cps):
    log[5], log[9] = log[9], log[5]
    return log, cps


def truncate_tail_45(log, cps):
    return log[:45], cps


def truncate_tail_40(log, cps):  # cut exactly at a checkpoint: the later one still shows it
    return log[:40], cps


def forge_checkpoint_mac(log, cps):
    cps[2] = {**cps[2], "mac": "0" * 64}
    return log, cps


def alter_checkpoint_root(log, cps):  # with the key: the MAC no longer matches
    cps[2] = {**cps[2], "root": "a" * 64}
    return log, cps


def rewrite_from_25_rehashed(log, cps):  # a self-consistent chain, but not the one checkpointed
    for i in range(25, len(log)):
        if i == 25:
            flip_outcome(log[i])
        log[i] = rehash(log[i], log[i - 1]["chain"])
    return log, cps


def rewrite_last_rehashed(log, cps):  # the last entry has no successor to betray it
    flip_outcome(log[-1])
    log[-1] = rehash(log[-1], log[-2]["chain"])
    return log, cps


def fork_after_truncation(log, cps):  # cut at 45, then a second writer appended from there
    chain = AuditChain.resume(log[:45])
    tail = [chain.append({**record(i), "outcome": "approve"}, at=at(i)) for i in range(45, 50)]
    return log[:45] + tail, cps


def malformed_entry_30(log, cps):
    del log[30]["leaf"]
    return log, cps


def malformed_checkpoint(log, cps):
    cps.append({"size": "big"})
    return log, cps


TAMPERING = [
    # (case, first_bad_seq, words the problem must contain)
    (edit_outcome_17, 17, "entry 17: record edited (leaf hash mismatch)"),
    (edit_score_0, 0, "entry 0: record edited"),
    (edit_time_49, 49, "entry 49: record edited"),
    (edit_review_verdict_24, 24, "entry 24: record edited"),
    (edit_features_hash_12, 12, "entry 12: record edited"),
    (edit_and_rehash_17, 17, "entry 17: rewritten"),
    (edit_chain_field_17, 17, "entry 17: chain hash edited"),
    (delete_17, 17, "entry 17: seq 18 where 17 expected (a record was deleted before it)"),
    (delete_first, 0, "entry 0: seq 1 where 0 expected (a record was deleted before it)"),
    (delete_two_17_18, 17, "(2 records were deleted before it)"),
    (replay_3_at_17, 17, "entry 17: seq 3 where 17 expected (an entry was inserted or replayed)"),
    (insert_forged_before_17, 17, "entry 17: inserted"),
    (insert_forged_after_17, 18, "entry 18: seq 17 where 18 expected (an entry was inserted or replayed)"),
    (insert_with_odd_seq_17, 17, "entry 17: seq 999 where 17 expected (an entry was inserted here)"),
    (swap_17_18, 17, "entry 17: seq 18 where 17 expected (entries 17 and 18 swapped)"),
    (swap_5_9, 5, "entry 5: seq 9 where 5 expected (reordered: seq 5 comes later"),
    (
        truncate_tail_45,
        45,
        "log ends at 45 but checkpoint of 2026-11-29T14:00:49.000Z covers 50 entries (truncated tail)",
    ),
    (
        truncate_tail_40,
        40,
        "log ends at 40 but checkpoint of 2026-11-29T14:00:49.000Z covers 50 entries (truncated tail)",
    ),
    (forge_checkpoint_mac, None, "checkpoint at size 30 (2026-11-29T14:00:29.000Z): checkpoint MAC invalid"),
    (alter_checkpoint_root, None, "checkpoint at size 30 (2026-11-29T14:00:29.000Z): checkpoint MAC invalid"),
    (
        rewrite_from_25_rehashed,
        20,
        "checkpoint at size 30 (2026-11-29T14:00:29.000Z): root mismatch "
        "(the log was rewritten; the difference lies in entries 20..29)",
    ),
    (rewrite_last_rehashed, 40, "checkpoint at size 50 (2026-11-29T14:00:49.000Z): root mismatch"),
    (fork_after_truncation, 40, "checkpoint at size 50 (2026-11-29T14:00:49.000Z): root mismatch"),
    (malformed_entry_30, 30, "entry 30: malformed (missing leaf)"),
    (malformed_checkpoint, None, "checkpoint 5: malformed"),
]


@pytest.mark.parametrize("case, first_bad, words", TAMPERING, ids=[c[0].__name__ for c in TAMPERING])
def test_tampering_is_detected_and_located(case, first_bad, words):
    log, cps = case(*build())
    result = verify(log, checkpoints=cps, key=KEY)
    assert not result.ok
    assert result.first_bad_seq == first_bad, result.problem
    assert words in result.problem
    if first_bad is not None and "checkpoint" not in result.problem:
        assert result.checked == first_bad  # entries before it were verified


ROOT_ALTERED_WITHOUT_KEY = [
    # (checkpoint altered, first bad seq: the first entry no earlier good checkpoint vouches for)
    (0, 0),
    (2, 20),
    (4, 40),
]


@pytest.mark.parametrize("index, first_bad", ROOT_ALTERED_WITHOUT_KEY)
def test_checkpoint_root_altered_without_the_key(index, first_bad):
    log, cps = build()
    cps[index] = {**cps[index], "root": "a" * 64}
    result = verify(log, checkpoints=cps)  # no key: the MAC cannot be checked
    assert (result.ok, result.first_bad_seq) == (False, first_bad)
    assert f"checkpoint at size {cps[index]['size']}" in result.problem
    assert "root mismatch" in result.problem and "or the checkpoint altered (MAC not checked)" in result.problem


def test_checkpoint_head_altered_without_the_key():
    log, cps = build()
    cps[1] = {**cps[1], "head": "b" * 64}
    result = verify(log, checkpoints=cps)
    assert result.first_bad_seq == 10 and "head mismatch" in result.problem


def test_intact_log_verifies():
    log, cps = build()
    result = verify(log, checkpoints=list(reversed(cps)), key=KEY)  # checkpoints in any order
    assert (result.ok, result.checked, result.first_bad_seq, result.problem) == (True, N, None, None)
    assert result.checkpoints_checked == len(CHECKPOINT_SIZES)
    assert result.root == cps[-1]["root"] and result.head == cps[-1]["head"]
    assert verify(log).ok and verify([]).ok
    assert verify(log, checkpoints=cps).ok  # without the key: roots and heads still compared


def test_a_checkpoint_of_the_empty_log():
    chain = AuditChain()
    cp = chain.checkpoint(at=at(0), key=KEY)
    assert verify([], checkpoints=[cp], key=KEY).ok
    log, _ = build(3, sizes=())
    assert verify(log, checkpoints=[cp], key=KEY).checkpoints_checked == 1


# --- ranges -----------------------------------------------------------------------------------


def test_range_from_an_anchor_entry():
    log, cps = build()
    result = verify(log[20:35], anchor=log[19], end_seq=34, checkpoints=cps, key=KEY)
    assert (result.ok, result.checked, result.head, result.root) == (True, 15, log[34]["chain"], None)
    assert result.checkpoints_checked == 2  # heads at 20 (the anchor) and 30; the rest lie outside
    # Without end_seq the range runs to the end of the log: checkpoints beyond it show a cut.
    cut = verify(log[20:35], anchor=log[19], checkpoints=cps, key=KEY)
    assert cut.first_bad_seq == 35 and "log ends at 35 but checkpoint" in cut.problem
    assert verify(log[20:], anchor=log[19]["chain"], start_seq=20, checkpoints=cps, key=KEY).ok
    bounded = verify(log[20:], anchor=log[19], end_seq=30)
    assert (bounded.ok, bounded.checked) == (True, 11)


RANGE_PROBLEMS = [
    # (description, damage, kwargs, first bad seq, words)
    ("edit inside", lambda log: flip_outcome(log[25]), {}, 25, "entry 25: record edited"),
    ("anchor edited", lambda log: flip_outcome(log[19]), {}, 19, "anchor entry 19"),
    (
        "wrong anchor hash",
        None,
        {"anchor": "e" * 64, "start_seq": 20},
        20,
        "prev does not match the anchor's chain hash",
    ),
    ("range beyond the log", None, {"end_seq": 60}, 50, "log ends at 50 but the range asks for entries up to 60"),
]


@pytest.mark.parametrize("name, damage, kwargs, first_bad, words", RANGE_PROBLEMS, ids=[c[0] for c in RANGE_PROBLEMS])
def test_range_problems(name, damage, kwargs, first_bad, words):
    log, cps = build()
    if damage is not None:
        damage(log)
    kwargs = {"anchor": log[19], **kwargs}
    result = verify(log[20:], checkpoints=cps, key=KEY, **kwargs)
    assert (result.ok, result.first_bad_seq) == (False, first_bad), result.problem
    assert words in result.problem


def test_range_sees_a_rewrite_through_checkpoint_heads():
    log, cps = rewrite_from_25_rehashed(*build())
    result = verify(log[20:], anchor=log[19], checkpoints=cps, key=KEY)
    assert (
        result.first_bad_seq == 20 and "checkpoint at size 30" in result.problem and "head mismatch" in result.problem
    )


def test_range_arguments_are_checked():
    log, _ = build(5, sizes=())
    with pytest.raises(ValueError, match="needs an anchor"):
        verify(log[2:], start_seq=2)
    with pytest.raises(ValueError, match="give start_seq"):
        verify(log[2:], anchor=log[1]["chain"])
    with pytest.raises(ValueError, match="starts at 2"):
        verify(log[2:], anchor=log[1], start_seq=3)


# --- inclusion proofs -------------------------------------------------------------------------


def test_every_record_of_a_100_entry_log_has_a_proof():
    log, cps = build(100, sizes=(100,))
    for seq in range(100):
        proof = orjson.loads(orjson.dumps(prove(log, seq)))  # as `riskmon audit show` would print it
        assert proof["index"] == seq and proof["tree_size"] == 100 and proof["entry"] == log[seq]
        assert proof["root"] == cps[0]["root"]
        assert verify_proof(proof)
        assert verify_proof(proof, root=cps[0]["root"])  # against the trusted checkpoint


def test_proof_against_an_earlier_checkpoint():
    log, cps = build()
    proof = prove(log, 12, tree_size=20)
    assert proof["root"] == cps[1]["root"] and verify_proof(proof, root=cps[1]["root"])
    assert verify_proof(proof, checkpoint=cps[1])
    assert not verify_proof(proof, root=cps[2]["root"])
    assert not verify_proof(proof, checkpoint=cps[2])


def test_a_checkpoint_binds_the_tree_size():
    # The path of leaf 7 is the same in trees of 50 and 64 leaves: only the
    # trusted checkpoint says how large the tree was.
    log, cps = build()
    proof = {**prove(log, 7), "tree_size": 64}
    assert verify_proof(proof)  # the proof alone vouches for its own root only
    assert not verify_proof(proof, checkpoint=cps[-1])
    assert verify_proof(prove(log, 7), checkpoint=cps[-1])


PROOF_DAMAGE = [
    # (what is changed in a valid proof of entry 7 of 50): verify_proof answers False, never raises
    ("entry outcome", lambda p: flip_outcome(p["entry"])),
    ("entry leaf", lambda p: p["entry"].update(leaf="0" * 64)),
    ("entry seq", lambda p: p["entry"].update(seq=8)),
    ("index", lambda p: p.update(index=8)),
    ("tree size", lambda p: p.update(tree_size=8)),
    ("root", lambda p: p.update(root="1" * 64)),
    ("a proof element", lambda p: p["proof"].__setitem__(2, "2" * 64)),
    ("a proof element dropped", lambda p: p["proof"].pop()),
    ("proof not hex", lambda p: p.update(proof=["zz"])),
    ("entry missing", lambda p: p.pop("entry")),
    ("entry not an object", lambda p: p.update(entry=[1, 2])),
]


@pytest.mark.parametrize("name, damage", PROOF_DAMAGE, ids=[c[0] for c in PROOF_DAMAGE])
def test_a_damaged_proof_does_not_verify(name, damage):
    log, _ = build()
    proof = copy.deepcopy(prove(log, 7))
    assert verify_proof(proof)
    damage(proof)
    assert verify_proof(proof) is False


def test_no_proof_from_a_log_that_does_not_verify():
    log, _ = build()
    flip_outcome(log[3])
    with pytest.raises(ValueError, match="entry 3: record edited"):
        prove(log, 10)
    with pytest.raises(IndexError):
        prove(log, 50)
    with pytest.raises(IndexError):
        prove(log, 0, tree_size=51)
