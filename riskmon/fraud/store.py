"""Where the fraud path keeps its state in Redis: snapshots, label claims, published models.

Keys (``<ns>`` is the worker's key namespace; identifiers only, never personal data):

* ``<ns>:fraud:snapshot:<transaction_id>``: the features and scores a
  transaction was scored with (:func:`riskmon.fraud.scoring.snapshot_bytes`),
  written by the transaction path in its one save call per batch, expiring
  after ``SNAPSHOT_TTL_SECONDS`` (a label later than that finds nothing and is
  counted as unmatched); memory is bounded by the transaction rate times the TTL
  times about 300 bytes;
* ``<ns>:fraud:labelled:<transaction_id>``: claimed with ``SET NX`` when a
  label joins its snapshot, so a transaction is learned once however often its
  outcome is sent or replayed;
* ``<ns>:fraud:model``: the learner's champion and challenger as JSON
  (weights, never pickles), read by every transaction path at most every
  ``REFRESH_SECONDS``.
"""

from __future__ import annotations

import os

__all__ = ["SNAPSHOT_TTL_SECONDS", "REFRESH_SECONDS", "snapshot_key", "labelled_key", "model_key", "JOIN_LUA"]

SNAPSHOT_TTL_SECONDS = 60 * 86400
#: How often a transaction path reads the published models (``RISKMON_FRAUD_REFRESH_SECONDS``, default 30).
REFRESH_SECONDS = float(os.environ.get("RISKMON_FRAUD_REFRESH_SECONDS", "30"))

#: Join a batch of labels with their snapshots and claim each once: KEYS are
#: pairs (snapshot key, labelled key), ARGV[1] the claim's TTL. Returns, per
#: pair, the snapshot bytes, or ``0`` when there is none, or ``1`` when the
#: label was already claimed.
JOIN_LUA = """
local out = {}
for i = 1, #KEYS, 2 do
  local snap = redis.call('GET', KEYS[i])
  if not snap then
    out[#out + 1] = 0
  elseif redis.call('SET', KEYS[i + 1], '1', 'NX', 'EX', ARGV[1]) then
    out[#out + 1] = snap
  else
    out[#out + 1] = 1
  end
end
return out
"""


def snapshot_key(namespace: str, transaction_id: str) -> str:
    return f"{namespace}:fraud:snapshot:{transaction_id}"


def labelled_key(namespace: str, transaction_id: str) -> str:
    return f"{namespace}:fraud:labelled:{transaction_id}"


def model_key(namespace: str) -> str:
    return f"{namespace}:fraud:model"
