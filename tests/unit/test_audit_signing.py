"""Signed audit checkpoints, without a broker: made with the private key, checked with the public key alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmon.audit import AuditChain, AuditChainError, verify
from riskmon.audit.keyfiles import load_public_keys, load_signer, write_key_pair
from riskmon.audit.signing import CheckpointSigner, SigningKeyError, public_keys_from_pem

AT = "2026-11-29T14:38:26.000Z"


def trail(signer: CheckpointSigner, n: int = 6) -> tuple[list[dict], list[dict]]:
    chain = AuditChain()
    log = [chain.append({"kind": "decision", "n": i}, at=AT) for i in range(n)]
    return log, [chain.checkpoint(at=AT, signer=signer)]


def test_a_signed_trail_verifies_with_the_public_key_and_fails_with_another() -> None:
    signer, other = CheckpointSigner.generate(), CheckpointSigner.generate()
    log, cps = trail(signer)
    assert verify(log, checkpoints=cps, public_keys={signer.key_id: signer.public_key}).ok
    result = verify(log, checkpoints=cps, public_keys={other.key_id: other.public_key})
    assert not result.ok and "not a trusted key" in (result.problem or "")


def test_an_altered_or_forged_checkpoint_is_refused() -> None:
    signer = CheckpointSigner.generate()
    keys = {signer.key_id: signer.public_key}
    log, cps = trail(signer)
    for changed in ({**cps[0], "size": 5}, {**cps[0], "sig": "00" * 64}, {**cps[0], "alg": "hmac"}):
        result = verify(log[: changed["size"]], checkpoints=[changed], public_keys=keys)
        assert not result.ok and result.first_bad_seq is None, result
    with pytest.raises(AuditChainError, match="signature invalid"):
        AuditChain.resume(log, checkpoints=[{**cps[0], "at": "2027-01-01T00:00:00.000Z"}], public_keys=keys)


def test_a_cut_tail_is_found_against_a_signed_checkpoint() -> None:
    signer = CheckpointSigner.generate()
    log, cps = trail(signer)
    result = verify(log[:-2], checkpoints=cps, public_keys={signer.key_id: signer.public_key})
    assert not result.ok and "truncated tail" in (result.problem or "")


def test_hmac_checkpoints_written_before_signing_still_verify() -> None:
    chain, key = AuditChain(), b"k" * 32
    log = [chain.append({"n": i}, at=AT) for i in range(3)]
    old = chain.checkpoint(at=AT, key=key)
    signer = CheckpointSigner.generate()
    log.append(chain.append({"n": 3}, at=AT))
    new = chain.checkpoint(at=AT, signer=signer)
    assert verify(log, checkpoints=[old, new], key=key, public_keys={signer.key_id: signer.public_key}).ok


def test_key_files_round_trip_and_bad_ones_are_named(tmp_path: Path) -> None:
    private, public, kid = write_key_pair(tmp_path)
    assert private.stat().st_mode & 0o777 == 0o600
    assert load_signer(private).key_id == kid and set(load_public_keys([public])) == {kid}
    with pytest.raises(FileExistsError):
        write_key_pair(tmp_path)
    both = public.read_bytes() + CheckpointSigner.development().public_pem()  # a rotation: old and new keys
    assert len(public_keys_from_pem(both)) == 2
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(SigningKeyError, match="junk.pem"):
        load_public_keys([tmp_path / "junk.pem"])
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_signer(tmp_path / "missing.key")
    assert load_signer(None).is_development


def test_key_rotation_as_documented(tmp_path: Path) -> None:
    """docs/audit.md: make a new pair, put the old and new public keys in RISKMON_AUDIT_PUBLIC_KEY_FILE,
    switch RISKMON_AUDIT_SIGNING_KEY_FILE. The writer resumes (trusting the old checkpoints), signs on
    with the new key, and the whole trail verifies with both public keys; with the new one alone the
    old checkpoints are refused, by key id."""
    old_private, old_public, old_id = write_key_pair(tmp_path / "2026")
    new_private, new_public, new_id = write_key_pair(tmp_path / "2027")
    old, new = load_signer(old_private), load_signer(new_private)
    chain = AuditChain()
    log = [chain.append({"kind": "decision", "n": i}, at=AT) for i in range(4)]
    cps = [chain.checkpoint(at=AT, signer=old)]

    both_file = tmp_path / "trusted.pub"
    both_file.write_bytes(new_public.read_bytes() + old_public.read_bytes())
    both = load_public_keys([both_file])
    assert set(both) == {old_id, new_id}
    with pytest.raises(AuditChainError, match="not a trusted key"):  # the old key forgotten: nothing appended
        AuditChain.resume(log, checkpoints=cps, public_keys={new_id: new.public_key})
    resumed = AuditChain.resume(log, checkpoints=cps, public_keys={**both, new.key_id: new.public_key})
    log += [resumed.append({"kind": "decision", "n": i}, at=AT) for i in range(4, 7)]
    cps.append(resumed.checkpoint(at=AT, signer=new))
    assert [cp["key_id"] for cp in cps] == [old_id, new_id]

    result = verify(log, checkpoints=cps, public_keys=both)
    assert result.ok and result.checkpoints_checked == 2, result
    only_new = verify(log, checkpoints=cps, public_keys=load_public_keys([new_public]))
    assert not only_new.ok and f"signed by key {old_id}, which is not a trusted key" in (only_new.problem or "")
    only_old = verify(log, checkpoints=cps, public_keys=load_public_keys([old_public]))
    assert not only_old.ok and new_id in (only_old.problem or "")
    assert verify(log, checkpoints=cps, public_keys=load_public_keys([old_public, new_public])).ok  # or two files
