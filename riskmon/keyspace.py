"""How riskmon's Redis keys are named so that they work on one server and on a Redis Cluster.

A Redis Cluster splits keys over 16,384 hash slots, and refuses any Lua
script, MULTI or multi-key command whose keys lie in different slots. A key's
slot is computed from its *hash tag* (the text between the first ``{`` and the
next ``}``) when it has one, from the whole key otherwise. riskmon's layout:

* On one server (``redis://``) the namespace is ``riskmon`` (or
  ``riskmon:<env>``) and keys are untagged, exactly as before cluster support:
  ``riskmon:decision:<application_id>``. Existing state keeps being read.
* On a cluster (``redis+cluster://``) the namespace is tagged, ``{riskmon}``,
  so every global key (the exposure book, the profile clock, alert state,
  operators, the audit chain's checkpoints, the model registry, ...) shares
  one slot: their scripts and transactions keep working unchanged, and they
  are single-writer or small anyway.
* Per-entity keys, the bulk of the data and of the traffic, carry their
  entity's id as tag instead: ``riskmon:decision:{<application_id>}``,
  ``riskmon:risk:{<customer_id>}``. All keys of one application (decision,
  delivery mark, feature snapshot, label claim, hold, manual review) share a
  slot, as do all keys of one customer (risk profile, latest-decision summary,
  watch state); different entities spread evenly over the shards. The tag is
  computable from the id alone, so ``GET /v1/decisions/<id>`` finds the key.

Keys hold identifiers only, never personal data. Code that touches several
entities in one call (a batch) does it, in cluster mode, as a pipeline of
single-slot commands (redis-py sends each node its share in one round trip).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.crc import key_slot as _key_slot

__all__ = ["cluster_namespace", "entity_key", "is_cluster_namespace", "key_slot", "slots"]


def cluster_namespace(namespace: str) -> str:
    """The namespace as hash tag: every key built on it lands in one slot.

    >>> cluster_namespace("riskmon:staging")
    '{riskmon:staging}'
    """
    return "{" + namespace + "}"


def is_cluster_namespace(namespace: str) -> bool:
    """Whether ``namespace`` is a cluster namespace (tagged).

    >>> is_cluster_namespace("{riskmon}"), is_cluster_namespace("riskmon")
    (True, False)
    """
    return namespace.startswith("{") and namespace.endswith("}")


def entity_key(namespace: str, kind: str, entity_id: str) -> str:
    """The key of one application's or one customer's ``kind`` of state.

    On a cluster the entity id is the hash tag (and the namespace loses its
    braces, so that the entity's tag is the first one):

    >>> entity_key("riskmon", "decision", "app-1"), entity_key("{riskmon}", "decision", "app-1")
    ('riskmon:decision:app-1', 'riskmon:decision:{app-1}')
    """
    if is_cluster_namespace(namespace):
        return f"{namespace[1:-1]}:{kind}:{{{entity_id}}}"
    return f"{namespace}:{kind}:{entity_id}"


def key_slot(key: str | bytes) -> int:
    """The cluster hash slot of ``key`` (0-16383), hash tags honoured.

    >>> key_slot("riskmon:decision:{app-1}") == key_slot("riskmon:delivered:{app-1}")
    True
    """
    return int(_key_slot(key.encode() if isinstance(key, str) else key))


def slots(keys: Iterable[str | bytes]) -> set[int]:
    """The distinct slots of ``keys``: one element when a script or MULTI may use them together."""
    return {key_slot(k) for k in keys}
