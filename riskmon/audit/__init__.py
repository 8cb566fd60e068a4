"""The compliance trail: a tamper-evident, pseudonymous record of every decision and review.

Why: a compliance officer must be able to show, long after the fact, why each
decision was made (the inputs as scored, the model and policy that scored
them, the score, the outcome, the ranked reasons, any reviewer's override),
and that nobody has since edited, removed, inserted or reordered a record.
The trail holds no personal data: the applicant appears only as a keyed
pseudonym.

How it is used (pure code here; the stream wiring feeds it)::

    application.applicant ──► pseudonymize(applicant, key)  ──► applicant_ref "anon-…"
    decision + feature snapshot ──► decision_record(...)  ┐
    review + the decision reviewed ──► review_record(...) ┴► record ──► AuditChain.append(record, at=…)
                                                                            │ entry {seq, at, record, prev, leaf, chain}
                                                                            ▼
                                                   risk.audit (one partition) ◄── one writer, in order
                                AuditChain.checkpoint(at=…, signer=…) ──► stored apart (size, root, head, at, sig)
    auditor: verify(entries, checkpoints=…, public_keys=…) ──► VerifyResult(ok, checked, first_bad_seq, problem)
             prove(entries, seq) ──► verify_proof(proof)        (riskmon audit show)

* :mod:`~riskmon.audit.pseudonym`: the keyed HMAC pseudonym of an applicant.
* :mod:`~riskmon.audit.records`: the decision and review records, their canonical bytes.
* :mod:`~riskmon.audit.merkle`: RFC 6962 / 9162 tree hashes, inclusion and consistency proofs.
* :mod:`~riskmon.audit.chain`: the hash-chained log and its checkpoints (the writer's state).
* :mod:`~riskmon.audit.verify`: the verifier that names the first bad entry; inclusion proofs.
* :mod:`~riskmon.audit.signing`: Ed25519 signatures on checkpoints.
* :mod:`~riskmon.audit.operator`: operators' actions (acknowledgements, silences, tokens) as records.

Three mechanisms, each for its own threat:

* **Leaves and nodes hashed apart** (RFC 6962: leaf = ``H(0x00 || entry)``,
  node = ``H(0x01 || left || right)``). Without the prefixes an inner node's
  64 bytes could be passed off as a leaf (a second preimage), so a different
  set of entries could claim the same Merkle root.
* **The chain orders records.** Each entry's ``chain`` hash covers the one
  before it, so a deletion, insertion or swap breaks the next link, and the
  verifier says where.
* **Checkpoints, stored apart from the log, detect truncation.** A cut-off
  tail leaves a perfectly valid shorter chain; only a record of how long the
  log was, and what its root and head were, kept where the same hand cannot
  rewrite it, shows the loss. Their Ed25519 signature (:mod:`~riskmon.audit.signing`)
  shows they were not forged, to anyone holding the public key.

Pure code: no Kafka, no Redis, no clock (times are passed in), no logging.

>>> from riskmon.audit import AuditChain, verify
>>> chain, key = AuditChain(), b"checkpoint-key-0123456789abcdef!"
>>> log = [chain.append({"kind": "decision", "n": i}, at="2026-11-29T14:38:26.000Z") for i in range(8)]
>>> cps = [chain.checkpoint(at="2026-11-29T14:40:00.000Z", key=key)]
>>> del log[3]
>>> r = verify(log, checkpoints=cps, key=key)
>>> r.ok, r.first_bad_seq, r.problem
(False, 3, 'entry 3: seq 4 where 3 expected (a record was deleted before it)')
"""

from riskmon.audit.chain import ZERO_HASH, AuditChain, AuditChainError, checkpoint_valid
from riskmon.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from riskmon.audit.pseudonym import pseudonymize
from riskmon.audit.records import canonical_bytes, decision_record, features_hash, review_record
from riskmon.audit.verify import VerifyResult, prove, verify, verify_proof

__all__ = [
    # pseudonyms
    "pseudonymize",
    # records
    "decision_record",
    "review_record",
    "canonical_bytes",
    "features_hash",
    # Merkle tree (RFC 6962 / 9162)
    "leaf_hash",
    "node_hash",
    "root",
    "inclusion_proof",
    "verify_inclusion",
    "consistency_proof",
    "verify_consistency",
    # the chain
    "AuditChain",
    "AuditChainError",
    "ZERO_HASH",
    "checkpoint_valid",
    # verification
    "verify",
    "VerifyResult",
    "prove",
    "verify_proof",
]
