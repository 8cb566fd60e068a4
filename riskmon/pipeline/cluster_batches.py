"""A batch's Redis work on a Redis Cluster: pipelines of single-slot commands.

On one server riskmon does a batch's reads and writes with one Lua script per
batch (``riskmon.pipeline.store``, the transaction and repayment handlers, the
alert state store): the cheapest for redis-py, whose cost is per command. On a
Redis Cluster a script may only touch keys of one hash slot, and a batch's
applications and customers are spread over all slots on purpose
(:mod:`riskmon.keyspace`). So in cluster mode each function here queues the
same work as single-slot commands in one cluster pipeline, which redis-py
sends as one round trip per node, the nodes in parallel:

* one small Lua script per application or per customer for what touches its
  keys (all in its slot: :mod:`riskmon.keyspace`), so a batch costs one
  command per entity rather than one per key (redis-py's cluster pipeline
  costs tens of microseconds of Python per command); sent with EVAL, so no
  NOSCRIPT after a failover or a node restart;
* a reservation as ``SET key value NX EX ttl GET`` (Redis 7.0+): atomic per
  key, and it returns the earlier decision when one exists, as the script does;
* the global keys (profile clock, exposure book) as plain commands.

What changes against one server: a batch is atomic per entity, not per batch.
Each write is idempotent or guarded (NX), so a crash between two of them
leaves state a redelivery completes, as with a crash between two batches.

Each ``queue_*`` function takes the same KEYS and ARGV layout as the script it
replaces, so the calling code builds one layout for both modes. What they
change in a customer's risk profile is written once, in
:mod:`riskmon.pipeline.profile_lua`, for both modes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskmon.pipeline.profile_lua import APPLY_REPAYMENT, KEEP_APPROVAL, SET_OPEN_ALERT

__all__ = [
    "APPLICATION_CONFIRM_LUA",
    "APPLICATION_LOOKUP_LUA",
    "CUSTOMER_CONFIRM_LUA",
    "CUSTOMER_LOOKUP_LUA",
    "CUSTOMER_SAVE_LUA",
    "OPEN_ALERTS_LUA",
    "REPAYMENT_LUA",
    "lookup_reply",
    "queue_confirm",
    "queue_lookup",
    "queue_mget",
    "queue_open_alerts",
    "queue_repayments",
    "queue_reserve",
    "queue_save_transactions",
    "split_mgets",
]

#: One application's stored decision and delivery mark (LOOKUP_LUA's): KEYS
#: the decision and delivered keys; false where missing.
APPLICATION_LOOKUP_LUA = """
return {redis.call('GET', KEYS[1]) or false, redis.call('GET', KEYS[2]) or false}
"""

#: One customer's latest-decision summary and risk profile (LOOKUP_LUA's):
#: KEYS the summary and risk keys.
CUSTOMER_LOOKUP_LUA = """
return {redis.call('GET', KEYS[1]) or false, redis.call('HGETALL', KEYS[2])}
"""

#: One application's delivery mark and feature snapshot (CONFIRM_LUA's):
#: KEYS delivered and snapshot keys; ARGV the TTL and the snapshot ('' for none:
#: never overwritten, the first is what the models saw).
APPLICATION_CONFIRM_LUA = """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[1])
end
return 1
"""

#: One decision's customer side (CONFIRM_LUA's): KEYS the summary and risk
#: profile keys; ARGV the TTL, hold window (s), now (epoch s), the summary and
#: the approval's entry in the recent approvals ('' for none).
CUSTOMER_CONFIRM_LUA = (
    KEEP_APPROVAL
    + """
local ttl, window, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[4], 'EX', ttl)
if ARGV[5] ~= '' and window > 0 then
  keep_approval(KEYS[2], ARGV[5], window, now)
end
redis.call('EXPIRE', KEYS[2], ttl)
return 1
"""
)

#: One customer's detector state and its part of the risk profile (the
#: transaction handler's SAVE_LUA): KEYS the state and risk keys; ARGV the
#: state TTL, the profile TTL, the state, the 24 h count and cash.
CUSTOMER_SAVE_LUA = """
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
redis.call('HSET', KEYS[2], 'tx_count_24h', ARGV[4], 'cash_24h', ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""

#: One customer's open alerts (PROFILE_ALERTS_LUA's body): KEYS[1] the risk
#: profile; ARGV the TTL, the detector, its level ('' when resolved).
OPEN_ALERTS_LUA = (
    SET_OPEN_ALERT
    + """
set_open_alert(KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
)

#: One repayment's effect on its customer's loan standing (the repayment
#: handler's PROFILE_LUA body): KEYS[1] the risk profile; ARGV the TTL, the
#: loan, days past due, status.
REPAYMENT_LUA = (
    APPLY_REPAYMENT
    + """
apply_repayment(KEYS[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
)


def _eval(pipe: Any, script: str, keys: Sequence[str], *args: Any) -> None:
    pipe.execute_command("EVAL", script, len(keys), *keys, *args)


def queue_mget(pipe: Any, keys: Sequence[str], *, cluster: bool) -> None:
    """One MGET on one server; a GET per key on a cluster (an MGET must stay within one slot)."""
    if not cluster:
        pipe.mget(list(keys))
        return
    for key in keys:
        pipe.get(key)


def split_mgets(raw: Sequence[Any], sizes: Sequence[int], *, cluster: bool) -> list[list[Any]]:
    """The replies of consecutive :func:`queue_mget` calls of ``sizes`` keys, one list per call.

    >>> split_mgets([[1, 2], [3]], [2, 1], cluster=False), split_mgets([1, 2, 3], [2, 1], cluster=True)
    ([[1, 2], [3]], [[1, 2], [3]])
    """
    if not cluster:
        return [list(r) for r in raw[: len(sizes)]]
    out, at = [], 0
    for size in sizes:
        out.append(list(raw[at : at + size]))
        at += size
    return out


def queue_reserve(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """RESERVE_LUA's work: ARGV is the TTL then one value per key; each reply is the earlier value or None."""
    ttl = int(args[0])
    for key, value in zip(keys, args[1:], strict=True):
        pipe.set(key, value, nx=True, ex=ttl, get=True)


def queue_confirm(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """CONFIRM_LUA's work: KEYS in fours per application (delivered, summary, snapshot, risk
    profile) then the clock; ARGV the TTL, hold window, now, clock entry, then triples."""
    ttl, window, now, entry = args[0], args[1], args[2], args[3]
    for i in range(0, len(keys) - 1, 4):
        delivered, summary_key, snapshot_key, risk = keys[i : i + 4]
        j = i // 4 * 3 + 4
        summary, snapshot, approval = args[j], args[j + 1], args[j + 2]
        _eval(pipe, APPLICATION_CONFIRM_LUA, (delivered, snapshot_key), ttl, snapshot or b"")
        _eval(pipe, CUSTOMER_CONFIRM_LUA, (summary_key, risk), ttl, window, now, summary, approval or b"")
    pipe.hset(keys[-1], "decisions", entry)


def queue_lookup(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """LOOKUP_LUA's reads; :func:`lookup_reply` turns the replies into the script's reply."""
    n, customers = int(args[0]), list(args[1:])
    m = len(customers)
    strings = 2 * n + m
    for i in range(n):
        _eval(pipe, APPLICATION_LOOKUP_LUA, (keys[i], keys[n + i]))
    for i in range(m):
        _eval(pipe, CUSTOMER_LOOKUP_LUA, (keys[2 * n + i], keys[strings + i]))
    if customers:
        pipe.hmget(keys[strings + m], customers)
    pipe.hgetall(keys[strings + m + 1])


def _flat(mapping: dict[Any, Any]) -> list[Any]:
    return [item for pair in mapping.items() for item in pair]


def lookup_reply(raw: Sequence[Any], keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
    """The replies of :func:`queue_lookup` laid out as LOOKUP_LUA's reply (hashes as flat lists)."""
    n, m = int(args[0]), len(args) - 1
    applications, customers = raw[:n], raw[n : n + m]
    out: list[Any] = [stored for stored, _ in applications]
    out += [mark for _, mark in applications]
    out += [summary for summary, _ in customers]
    out += [list(fields) for _, fields in customers]
    out.append(list(raw[n + m]) if m else [])
    out.append(_flat(raw[-1]))
    return out


def queue_save_transactions(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """The transaction handler's SAVE_LUA work: KEYS pairs (watch state, risk profile), the
    clock, then snapshot keys; ARGV the state TTL, profile TTL, clock entry, triples
    (state, count, cash), then the snapshots end to end in one argument, their lengths
    (``"314,290"``), their number and their TTL."""
    ttl, profile_ttl, entry = int(args[0]), int(args[1]), args[2]
    m, snapshot_ttl = int(args[-2]), int(args[-1])
    n = len(keys) - 1 - m
    for i in range(0, n, 2):
        j = i // 2 * 3 + 3
        _eval(pipe, CUSTOMER_SAVE_LUA, (keys[i], keys[i + 1]), ttl, profile_ttl, args[j], args[j + 1], args[j + 2])
    pipe.hset(keys[n], "transactions", entry)
    if not m:
        return
    blob, lengths = args[-4], args[-3]
    blob = blob if isinstance(blob, bytes) else str(blob).encode()
    lengths = lengths.decode() if isinstance(lengths, bytes) else str(lengths)
    pos = 0
    for k, size in enumerate(int(x) for x in lengths.split(",")):
        pipe.set(keys[n + 1 + k], blob[pos : pos + size], ex=snapshot_ttl)
        pos += size


def queue_repayments(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """The repayment handler's PROFILE_LUA work: KEYS the risk profiles then the clock;
    ARGV the TTL, the clock entry, then triples (loan, days past due, status)."""
    for i, key in enumerate(keys[:-1]):
        j = i * 3 + 2
        _eval(pipe, REPAYMENT_LUA, (key,), args[0], args[j], args[j + 1], args[j + 2])
    pipe.hset(keys[-1], "repayments", args[1])


def queue_open_alerts(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """The alert state store's PROFILE_ALERTS_LUA work: KEYS the risk profiles then the clock;
    ARGV the TTL, the clock entry, then pairs (detector, level or '')."""
    for i, key in enumerate(keys[:-1]):
        j = i * 2 + 2
        _eval(pipe, OPEN_ALERTS_LUA, (key,), args[0], args[j], args[j + 1])
    pipe.hset(keys[-1], "alerts", args[1])
