"""Lua functions that change one customer's risk profile, shared by the batch scripts and their cluster forms.

Each change to a profile hash (``<ns>:risk:<customer>``) is written once
here, as a Lua ``local function``, and prepended to the scripts that make it:
the single-server scripts that loop over a batch (``riskmon.pipeline.store``'s
confirm, the repayment handler's, the alert state store's) and the
single-customer scripts that :mod:`riskmon.pipeline.cluster_batches` sends on a
Redis Cluster. So both modes run the same rule, and a change to it is made in
one place. None of them sets the key's expiry: the callers do, with their TTL.
"""

from __future__ import annotations

__all__ = ["APPLY_REPAYMENT", "KEEP_APPROVAL", "SET_OPEN_ALERT"]

#: ``keep_approval(key, entry, window, now)``: add an approval's JSON ``entry`` to
#: the profile's recent approvals, dropping those older than ``window`` seconds
#: before ``now`` (epoch seconds) and unreadable ones, keeping the last 20.
KEEP_APPROVAL = """
local function keep_approval(key, entry, window, now)
  local kept = {}
  local raw = redis.call('HGET', key, 'approvals')
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
  table.insert(kept, cjson.decode(entry))
  while #kept > 20 do table.remove(kept, 1) end
  redis.call('HSET', key, 'approvals', cjson.encode(kept))
end
"""

#: ``set_open_alert(key, detector, level)``: the profile's open alerts (JSON
#: detector -> level) with ``detector`` at ``level``, or closed when ``level`` is ''.
SET_OPEN_ALERT = """
local function set_open_alert(key, detector, level)
  local open = {}
  local raw = redis.call('HGET', key, 'alerts')
  if raw then
    local ok, found = pcall(cjson.decode, raw)
    if ok and type(found) == 'table' then open = found end
  end
  if level == '' then open[detector] = nil else open[detector] = level end
  if next(open) == nil then
    redis.call('HDEL', key, 'alerts')
  else
    redis.call('HSET', key, 'alerts', cjson.encode(open))
  end
end
"""

#: ``apply_repayment(key, loan, dpd, status)``: a repayment's effect on the loan
#: standing: the loan's days past due (gone once it is paid off or charged off),
#: the worst days past due seen, and a default flag set once.
APPLY_REPAYMENT = """
local function apply_repayment(key, loan, dpd, status)
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
end
"""
