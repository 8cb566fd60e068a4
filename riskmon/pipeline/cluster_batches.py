"""A batch's Redis work on a Redis Cluster: pipelines of single-slot commands.

On one server riskmon does a batch's reads and writes with one Lua script per
batch (``riskmon.pipeline.store``, the transaction and repayment handlers, the
alert state store): the cheapest for redis-py, whose cost is per command. On a
Redis Cluster a script may only touch keys of one hash slot, and a batch's
applications and customers are spread over all slots on purpose
(:mod:`riskmon.keyspace`). So in cluster mode each function here queues the
same work as single-slot commands in one cluster pipeline, which redis-py
sends as one round trip per node, the nodes in parallel:

* plain reads and writes (GET, SET, HSET, HGETALL, EXPIRE) one per key;
* a reservation as ``SET key value NX EX ttl GET`` (Redis 7.0+): atomic per
  key, and it returns the earlier decision when one exists, as the script does;
* a read-modify-write of one customer's risk profile (recent approvals, open
  alerts, loan standing) as a one-key Lua script (EVAL: no NOSCRIPT after a
  failover or a node restart).

What changes against one server: a batch is atomic per key, not per batch.
Each write is idempotent or guarded (NX), so a crash between two of them
leaves state a redelivery completes, as with a crash between two batches.

Each ``queue_*`` function takes the same KEYS and ARGV layout as the script it
replaces, so the calling code builds one layout for both modes. The Lua bodies
below repeat the per-key body of those scripts; keep them in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "APPROVAL_LUA",
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

#: One customer's recent approvals (CONFIRM_LUA's per-customer body): KEYS[1]
#: the risk profile; ARGV the hold window (s), now (epoch s), the approval (JSON).
APPROVAL_LUA = """
local window, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local kept = {}
local raw = redis.call('HGET', KEYS[1], 'approvals')
if raw then
  local ok, list = pcall(cjson.decode, raw)
  if ok and type(list) == 'table' then
    for _, a in ipairs(list) do
      if type(a) == 'table' and tonumber(a['at']) and tonumber(a['at']) >= now - window then
        table.insert(kept, a)
      end
    end
  end
end
table.insert(kept, cjson.decode(ARGV[3]))
while #kept > 20 do table.remove(kept, 1) end
redis.call('HSET', KEYS[1], 'approvals', cjson.encode(kept))
return #kept
"""

#: One customer's open alerts (PROFILE_ALERTS_LUA's body): KEYS[1] the risk
#: profile; ARGV the TTL, the detector, its level ('' when resolved).
OPEN_ALERTS_LUA = """
local key = KEYS[1]
local open = {}
local raw = redis.call('HGET', key, 'alerts')
if raw then
  local ok, found = pcall(cjson.decode, raw)
  if ok and type(found) == 'table' then open = found end
end
if ARGV[3] == '' then open[ARGV[2]] = nil else open[ARGV[2]] = ARGV[3] end
if next(open) == nil then
  redis.call('HDEL', key, 'alerts')
else
  redis.call('HSET', key, 'alerts', cjson.encode(open))
end
redis.call('EXPIRE', key, ARGV[1])
return 1
"""

#: One repayment's effect on its customer's loan standing (the repayment
#: handler's PROFILE_LUA body): KEYS[1] the risk profile; ARGV the TTL, the
#: loan, days past due, status.
REPAYMENT_LUA = """
local key, ttl, loan, dpd, status = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if status == 'paid_off' or status == 'charged_off' then
  redis.call('HDEL', key, 'dpd:' .. loan)
else
  redis.call('HSET', key, 'dpd:' .. loan, dpd)
end
local worst = tonumber(redis.call('HGET', key, 'worst_dpd') or '0') or 0
if dpd > worst then
  redis.call('HSET', key, 'worst_dpd', dpd)
end
if status == 'default' or status == 'charged_off' then
  redis.call('HSETNX', key, 'default:' .. loan, '1')
end
redis.call('EXPIRE', key, ttl)
return 1
"""


def _eval(pipe: Any, script: str, key: str, *args: Any) -> None:
    pipe.execute_command("EVAL", script, 1, key, *args)


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
    ttl, window, now, entry = int(args[0]), float(args[1]), args[2], args[3]
    for i in range(0, len(keys) - 1, 4):
        delivered, summary_key, snapshot_key, risk = keys[i : i + 4]
        j = i // 4 * 3 + 4
        summary, snapshot, approval = args[j], args[j + 1], args[j + 2]
        pipe.set(delivered, b"1", ex=ttl)
        pipe.set(summary_key, summary, ex=ttl)
        if snapshot:
            pipe.set(snapshot_key, snapshot, nx=True, ex=ttl)
        if approval and window > 0:
            _eval(pipe, APPROVAL_LUA, risk, window, now, approval)
        pipe.expire(risk, ttl)
    pipe.hset(keys[-1], "decisions", entry)


def queue_lookup(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """LOOKUP_LUA's reads; :func:`lookup_reply` turns the replies into the script's reply."""
    n, customers = int(args[0]), list(args[1:])
    m = len(customers)
    strings = 2 * n + m
    for key in keys[:strings]:
        pipe.get(key)
    for key in keys[strings : strings + m]:
        pipe.hgetall(key)
    if customers:
        pipe.hmget(keys[strings + m], customers)
    pipe.hgetall(keys[strings + m + 1])


def _flat(mapping: dict[Any, Any]) -> list[Any]:
    return [item for pair in mapping.items() for item in pair]


def lookup_reply(raw: Sequence[Any], keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
    """The replies of :func:`queue_lookup` laid out as LOOKUP_LUA's reply (hashes as flat lists)."""
    n, m = int(args[0]), len(args) - 1
    strings = 2 * n + m
    out: list[Any] = list(raw[:strings])
    out += [_flat(h) for h in raw[strings : strings + m]]
    out.append(list(raw[strings + m]) if m else [])
    out.append(_flat(raw[-1]))
    return out


def queue_save_transactions(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """The transaction handler's SAVE_LUA work: KEYS pairs (watch state, risk profile), the
    clock, then snapshot keys; ARGV the state TTL, profile TTL, clock entry, triples
    (state, count, cash), the snapshots, their number and their TTL."""
    ttl, profile_ttl, entry = int(args[0]), int(args[1]), args[2]
    m, snapshot_ttl = int(args[-2]), int(args[-1])
    n = len(keys) - 1 - m
    for i in range(0, n, 2):
        j = i // 2 * 3 + 3
        pipe.set(keys[i], args[j], ex=ttl)
        pipe.hset(keys[i + 1], mapping={"tx_count_24h": args[j + 1], "cash_24h": args[j + 2]})
        pipe.expire(keys[i + 1], profile_ttl)
    pipe.hset(keys[n], "transactions", entry)
    base = 3 + n // 2 * 3
    for k in range(m):
        pipe.set(keys[n + 1 + k], args[base + k], ex=snapshot_ttl)


def queue_repayments(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """The repayment handler's PROFILE_LUA work: KEYS the risk profiles then the clock;
    ARGV the TTL, the clock entry, then triples (loan, days past due, status)."""
    for i, key in enumerate(keys[:-1]):
        j = i * 3 + 2
        _eval(pipe, REPAYMENT_LUA, key, args[0], args[j], args[j + 1], args[j + 2])
    pipe.hset(keys[-1], "repayments", args[1])


def queue_open_alerts(pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
    """The alert state store's PROFILE_ALERTS_LUA work: KEYS the risk profiles then the clock;
    ARGV the TTL, the clock entry, then pairs (detector, level or '')."""
    for i, key in enumerate(keys[:-1]):
        j = i * 2 + 2
        _eval(pipe, OPEN_ALERTS_LUA, key, args[0], args[j], args[j + 1])
    pipe.hset(keys[-1], "alerts", args[1])
