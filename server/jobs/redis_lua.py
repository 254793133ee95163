"""Lua scripts of the Redis/Valkey job store (pure data: source text only).

Every state transition of a job is one script, so it is atomic on the server: a claim, a
completion by the lease owner, a cancel. The scripts use only commands of Redis 6.2 / Valkey
7.2 (``XAUTOCLAIM`` is the newest). Times are never read from the server: the caller passes
``now`` (``ARGV[3]``), so an injected clock drives leases exactly as in the SQLite store, and
floats are formatted by Python (Lua's ``tostring`` would round them to 14 digits).

Layout (``P`` = the key prefix; see docs/scale-out.md):

* ``P job:<id>``       hash, one field per ``Job`` field (absent = ``None``), JSON for
  spec/warnings/result/error_detail; internal fields start with ``_``.
* ``P q``              stream: the waiting line (one entry per runnable queued job); group ``g``.
* ``P delayed``        zset: queued jobs waiting for ``available_at`` (retry delay).
* ``P lease``          stream whose pending entries (group ``g``, consumer = owner) are the
  leases of running jobs; ``XAUTOCLAIM`` re-delivers the entry of a dead owner.
* ``P running``        zset: running job → ``lease_until``.
* ``P all`` / ``P st:<state>`` / ``P own:<key_id>`` / ``P ks:<key_id>:<state>``: zsets by seq.
  Chunk jobs (kind "chunk") are indexed under ``P chunk:…`` instead (hash field ``_ix``), so
  the user-facing lists, counts and the queue limit leave them out, as ``JobStore`` requires.
* ``P draft:<draft_id>``, ``P ik:…`` / ``P ia:…``: zsets by seq (lookups); ``P idem:…``: the
  active job of an idempotency key (``SET NX``).
* ``P finished`` zset by ``completed_at`` (purge); ``P webhooks`` zset by seq (pending).
* ``P inline:<id>`` the inline draft; ``P seq`` the sequence counter; ``P events`` the channel
  every change is published on (``<node id> <json of the hash>``).

Each script returns ``{value, changed job as JSON, changed job as JSON, ...}`` (one bulk string per
job: much cheaper for the client to read than a hash reply).
"""

from __future__ import annotations

PRELUDE = r"""
local P = ARGV[1]
local NODE = ARGV[2]
local NOW = ARGV[3]
local CHANGED = {}
local function jkey(id) return P .. 'job:' .. id end
local function hget(id, f) return redis.call('HGET', jkey(id), f) end

local function as_json(id)
  local flat = redis.call('HGETALL', jkey(id))
  local t = {}
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 1) ~= '_' then t[flat[i]] = flat[i + 1] end
  end
  return cjson.encode(t)
end

local function emit(id)
  local doc = as_json(id)
  redis.call('PUBLISH', P .. 'events', NODE .. ' ' .. doc)
  CHANGED[#CHANGED + 1] = doc
  return doc
end

local function bump(id)
  redis.call('HINCRBY', jkey(id), 'version', 1)
end

local function hset_all(k, map)
  local args = {}
  for f, v in pairs(map) do
    args[#args + 1] = f
    args[#args + 1] = v
  end
  if #args > 0 then redis.call('HSET', k, unpack(args)) end
end

local function apply(id, ch)
  local k = jkey(id)
  if ch.set then hset_all(k, ch.set) end
  if ch.del then
    for _, f in ipairs(ch.del) do redis.call('HDEL', k, f) end
  end
end

local function set_state(id, new)
  local k = jkey(id)
  local old = redis.call('HGET', k, 'state')
  if old == new then return end
  local kid = redis.call('HGET', k, 'key_id') or ''
  local seq = redis.call('HGET', k, 'seq')
  local ix = P .. (redis.call('HGET', k, '_ix') or '')  -- chunk jobs: their own indexes
  if old then
    redis.call('ZREM', ix .. 'st:' .. old, id)
    redis.call('ZREM', ix .. 'ks:' .. kid .. ':' .. old, id)
  end
  redis.call('ZADD', ix .. 'st:' .. new, seq, id)
  redis.call('ZADD', ix .. 'ks:' .. kid .. ':' .. new, seq, id)
  redis.call('HSET', k, 'state', new)
end

-- the waiting line --------------------------------------------------------------------------
local function enqueue(id, available_at)
  if tonumber(available_at) > tonumber(NOW) then
    redis.call('ZADD', P .. 'delayed', available_at, id)
  else
    local e = redis.call('XADD', P .. 'q', '*', 'id', id)
    redis.call('HSET', jkey(id), '_q', e)
  end
end

local function dequeue(id)
  local e = redis.call('HGET', jkey(id), '_q')
  if e then
    redis.call('XACK', P .. 'q', 'g', e)
    redis.call('XDEL', P .. 'q', e)
    redis.call('HDEL', jkey(id), '_q')
  end
  redis.call('ZREM', P .. 'delayed', id)
end

-- leases: a pending entry of the lease stream, owned by the consumer named after the owner --
local function start_lease(id, owner, lease_until)
  local k = jkey(id)
  dequeue(id)
  local e = redis.call('XADD', P .. 'lease', '*', 'id', id)
  -- deliver exactly that entry to the owner: every entry is read in the script that adds it,
  -- so it is the next undelivered one (older strays after a failover are dropped)
  for _ = 1, 1000 do
    local r = redis.call('XREADGROUP', 'GROUP', 'g', owner, 'COUNT', 1, 'STREAMS', P .. 'lease', '>')
    if not r then break end
    local got = r[1][2][1][1]
    if got == e then break end
    redis.call('XACK', P .. 'lease', 'g', got)
    redis.call('XDEL', P .. 'lease', got)
  end
  set_state(id, 'running')
  redis.call('HSET', k, 'phase', 'starting', 'owner', owner, 'lease_until', lease_until,
    'updated_at', NOW, 'progress', '0', 'frames_done', '0', '_lease', e)
  redis.call('HDEL', k, 'eta_s')
  redis.call('HSETNX', k, 'started_at', NOW)
  redis.call('HINCRBY', k, 'attempts', 1)
  redis.call('ZADD', P .. 'running', lease_until, id)
  bump(id)
end

local function end_lease(id)
  local k = jkey(id)
  local e = redis.call('HGET', k, '_lease')
  if e then
    redis.call('XACK', P .. 'lease', 'g', e)
    redis.call('XDEL', P .. 'lease', e)
    redis.call('HDEL', k, '_lease')
  end
  redis.call('ZREM', P .. 'running', id)
end

local function back_to_queue(id, available_at)
  local k = jkey(id)
  end_lease(id)
  set_state(id, 'queued')
  redis.call('HSET', k, 'phase', 'queued', 'available_at', available_at, 'updated_at', NOW,
    'progress', '0', 'frames_done', '0')
  redis.call('HDEL', k, 'owner', 'lease_until', 'eta_s')
  enqueue(id, available_at)
end

local function finish(id, state, ch)
  local k = jkey(id)
  if redis.call('HGET', k, 'state') == 'running' then end_lease(id) else dequeue(id) end
  set_state(id, state)
  redis.call('HSET', k, 'phase', state, 'completed_at', NOW, 'updated_at', NOW)
  redis.call('HDEL', k, 'owner', 'lease_until', 'eta_s')
  if state == 'cancelled' then redis.call('HDEL', k, 'error_code', 'error_message', 'error_detail') end
  if ch then apply(id, ch) end
  local seq = redis.call('HGET', k, 'seq')
  if redis.call('HEXISTS', k, 'callback_url') == 1 then
    redis.call('HSET', k, 'webhook_state', 'pending')
    redis.call('ZADD', P .. 'webhooks', seq, id)
  else
    redis.call('HDEL', k, 'webhook_state')
    redis.call('ZREM', P .. 'webhooks', id)
  end
  redis.call('ZADD', P .. 'finished', NOW, id)
  local ik = redis.call('HGET', k, '_ik')
  if ik and redis.call('GET', ik) == id then redis.call('DEL', ik) end
  bump(id)
end

local function is_owned(id, owner)
  local k = jkey(id)
  return redis.call('HGET', k, 'state') == 'running' and redis.call('HGET', k, 'owner') == owner
end

-- a lease that ran out: back to the queue while attempts remain, else failed (as SQLite)
local function expire(id)
  local k = jkey(id)
  local owner = redis.call('HGET', k, 'owner') or ''
  local attempts = tonumber(redis.call('HGET', k, 'attempts') or '0')
  local max_attempts = tonumber(redis.call('HGET', k, 'max_attempts') or '1')
  if redis.call('HGET', k, 'cancel_requested') == '1' then
    finish(id, 'cancelled', nil)
  elseif attempts < max_attempts then
    back_to_queue(id, NOW)
    redis.call('HSET', k, 'error_code', 'RENDER_FAILED',
      'error_message', 'the worker stopped answering (lease expired)',
      'error_detail', cjson.encode({reason = 'lease_expired', owner = owner}))
    bump(id)
  else
    finish(id, 'failed', {set = {
      error_code = 'RENDER_FAILED',
      error_message = 'the worker stopped answering (lease expired) ' .. attempts .. ' times',
      error_detail = cjson.encode({reason = 'lease_expired', attempts = attempts})}})
  end
  emit(id)
end

local function result(value)
  local out = {value}
  for _, flat in ipairs(CHANGED) do out[#out + 1] = flat end
  return out
end
"""

# ARGV: P, node, now, id, fields-json, idem key name | "", queue limit | "", inline draft | "" , has inline
SUBMIT = r"""
local id = ARGV[4]
local fields = cjson.decode(ARGV[5])
local ik = ARGV[6]
local limit = ARGV[7]
if ik ~= '' then
  local cur = redis.call('GET', ik)
  if cur then
    local st = hget(cur, 'state')
    if st == 'queued' or st == 'running' then return {'existing', as_json(cur)} end
  end
end
if limit ~= '' and redis.call('ZCARD', P .. 'st:queued') >= tonumber(limit) then return {'full'} end
local seq = redis.call('INCR', P .. 'seq')
local k = jkey(id)
fields['seq'] = tostring(seq)
fields['version'] = '0'
fields['state'] = 'queued'
hset_all(k, fields)
local kid = fields['key_id'] or ''
local ix = P .. (fields['_ix'] or '')  -- chunk jobs: their own indexes (hidden from lists, counts)
redis.call('ZADD', ix .. 'st:queued', seq, id)
redis.call('ZADD', ix .. 'ks:' .. kid .. ':queued', seq, id)
redis.call('ZADD', ix .. 'all', seq, id)
redis.call('ZADD', fields['_own'], seq, id)
if fields['_draftz'] then redis.call('ZADD', fields['_draftz'], seq, id) end
if fields['_ikz'] then
  redis.call('ZADD', fields['_ikz'], seq, id)
  redis.call('ZADD', fields['_iaz'], seq, id)
end
if ik ~= '' then
  if not redis.call('SET', ik, id, 'NX') then redis.call('SET', ik, id) end
end
if ARGV[9] == '1' then redis.call('SET', P .. 'inline:' .. id, ARGV[8]) end
local e = redis.call('XADD', P .. 'q', '*', 'id', id)
redis.call('HSET', k, '_q', e)
-- the new job's document from what was written (no read back)
local doc = {}
for f, v in pairs(fields) do
  if string.sub(f, 1, 1) ~= '_' then doc[f] = v end
end
doc = cjson.encode(doc)
redis.call('PUBLISH', P .. 'events', NODE .. ' ' .. doc)
return {'created', doc}
"""

# ARGV: P, node, now, owner, lease_until, min idle ms of a dead owner's lease ("" = no re-delivery)
CLAIM = r"""
local owner = ARGV[4]
local lease_until = ARGV[5]
-- 1. leases of dead owners (their pending entries idle for longer than a lease)
if ARGV[6] ~= '' then
  -- a cursor kept between claims walks the whole pending list, not just its head
  local r = redis.call('XAUTOCLAIM', P .. 'lease', 'g', owner, ARGV[6],
    redis.call('GET', P .. 'autoclaim') or '0-0', 'COUNT', 16)
  redis.call('SET', P .. 'autoclaim', r[1])
  local mine = nil
  for _, ent in ipairs(r[2]) do
    if ent and ent[2] then
      local e, id = ent[1], ent[2][2]
      local k = jkey(id)
      if redis.call('HGET', k, 'state') == 'running' and redis.call('HGET', k, '_lease') == e then
        if tonumber(redis.call('HGET', k, 'lease_until')) < tonumber(NOW) then
          expire(id)
          if mine == nil and redis.call('HGET', k, 'state') == 'queued'
              and tonumber(redis.call('HGET', k, 'available_at')) <= tonumber(NOW) then
            mine = id
          end
        else  -- still leased (heart-beaten by the store clock): hand the entry back
          redis.call('XCLAIM', P .. 'lease', 'g', redis.call('HGET', k, 'owner'), 0, e, 'JUSTID')
        end
      else
        redis.call('XACK', P .. 'lease', 'g', e)
        redis.call('XDEL', P .. 'lease', e)
      end
    end
  end
  if mine then
    start_lease(mine, owner, lease_until)
    return result(emit(mine) and 'ok')
  end
end
-- 2. delayed jobs whose time has come join the waiting line
local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', NOW, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'delayed', id)
  if hget(id, 'state') == 'queued' then enqueue(id, NOW) end
end
-- 3. the oldest entry of the waiting line
for _ = 1, 100 do
  local r = redis.call('XREADGROUP', 'GROUP', 'g', 'claimer', 'COUNT', 1, 'STREAMS', P .. 'q', '>')
  if not r then return result(false) end
  local e, id = r[1][2][1][1], r[1][2][1][2][2]
  redis.call('XACK', P .. 'q', 'g', e)
  redis.call('XDEL', P .. 'q', e)
  if hget(id, 'state') == 'queued' and hget(id, '_q') == e then
    redis.call('HDEL', jkey(id), '_q')
    start_lease(id, owner, lease_until)
    return result(emit(id) and 'ok')
  end
end
return result(false)
"""

# ARGV: P, node, now, job id, owner, lease_until
CLAIM_JOB = r"""
local id = ARGV[4]
if hget(id, 'state') ~= 'queued' then return result(false) end
if tonumber(hget(id, 'available_at') or '0') > tonumber(NOW) then return result(false) end  -- a retry's wait
start_lease(id, ARGV[5], ARGV[6])
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, job id, owner, lease_until, changes-json
HEARTBEAT = r"""
local id, owner = ARGV[4], ARGV[5]
if not is_owned(id, owner) then return result(false) end
apply(id, cjson.decode(ARGV[7]))
redis.call('HSET', jkey(id), 'lease_until', ARGV[6], 'updated_at', NOW)
redis.call('ZADD', P .. 'running', ARGV[6], id)
local e = hget(id, '_lease')
if e then redis.call('XCLAIM', P .. 'lease', 'g', owner, 0, e, 'JUSTID') end
bump(id)
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, job id, owner, changes-json
COMPLETE = r"""
local id, owner = ARGV[4], ARGV[5]
if not is_owned(id, owner) then return result(false) end
local ch = cjson.decode(ARGV[6])
ch.set.frames_done = hget(id, 'frames_total') or '0'
finish(id, 'completed', ch)
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, job id, owner ("" = a queued job), changes-json, retry "1"/"0", available_at
FAIL = r"""
local id, owner = ARGV[4], ARGV[5]
local ch = cjson.decode(ARGV[6])
if owner == '' then
  if hget(id, 'state') ~= 'queued' then return result(false) end
  ch.set.pending_check = '0'
  finish(id, 'failed', ch)
  return result(emit(id) and 'ok')
end
if not is_owned(id, owner) then return result(false) end
local k = jkey(id)
if redis.call('HGET', k, 'cancel_requested') == '1' then
  finish(id, 'cancelled', nil)
elseif ARGV[7] == '1' and tonumber(redis.call('HGET', k, 'attempts')) < tonumber(redis.call('HGET', k, 'max_attempts')) then
  back_to_queue(id, ARGV[8])
  apply(id, ch)
  bump(id)
else
  finish(id, 'failed', ch)
end
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, job id, owner
FINISH_CANCELLED = r"""
local id = ARGV[4]
if not is_owned(id, ARGV[5]) then return result(false) end
finish(id, 'cancelled', nil)
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, job id, key_id ("\0" = any owner)
CANCEL = r"""
local id = ARGV[4]
local k = jkey(id)
local st = redis.call('HGET', k, 'state')
if not st then return result(false) end
if ARGV[5] ~= '\0' and (redis.call('HGET', k, 'key_id') or '') ~= ARGV[5] then return result(false) end
if st == 'queued' then
  finish(id, 'cancelled', {set = {pending_check = '0'}})
  return result(emit(id) and 'ok')
end
if st == 'running' and redis.call('HGET', k, 'cancel_requested') ~= '1' then
  redis.call('HSET', k, 'cancel_requested', '1', 'updated_at', NOW)
  bump(id)
  return result(emit(id) and 'ok')
end
return {'unchanged', as_json(id)}
"""

# ARGV: P, node, now, job id, owner
RELEASE = r"""
local id = ARGV[4]
if not is_owned(id, ARGV[5]) then return result(false) end
local k = jkey(id)
local attempts = tonumber(redis.call('HGET', k, 'attempts'))
back_to_queue(id, NOW)
redis.call('HSET', k, 'attempts', math.max(attempts - 1, 0))
bump(id)
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, cutoff ("(x" exclusive or "+inf"), batch size
REQUEUE_EXPIRED = r"""
local ids = redis.call('ZRANGEBYSCORE', P .. 'running', '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(ids) do
  if hget(id, 'state') == 'running' then expire(id) else redis.call('ZREM', P .. 'running', id) end
end
return result(#ids)
"""

# ARGV: P, node, now, job id, content hash | ""
SET_CHECK = r"""
local id = ARGV[4]
local k = jkey(id)
if redis.call('EXISTS', k) == 0 then return result(false) end
redis.call('HSET', k, 'pending_check', '0', 'updated_at', NOW)
if ARGV[5] ~= '' then redis.call('HSET', k, 'content_hash', ARGV[5]) end
bump(id)
return result(emit(id) and 'ok')
"""

# ARGV: P, node, now, job id, webhook state, attempts
SET_WEBHOOK = r"""
local id = ARGV[4]
local k = jkey(id)
if redis.call('EXISTS', k) == 0 then return result(false) end
redis.call('HSET', k, 'webhook_state', ARGV[5], 'webhook_attempts', ARGV[6])
if ARGV[5] == 'pending' then
  redis.call('ZADD', P .. 'webhooks', redis.call('HGET', k, 'seq'), id)
else
  redis.call('ZREM', P .. 'webhooks', id)
end
return result('ok')
"""

# ARGV: P, node, now, cutoff ("(x"), batch size; returns the deleted jobs (not published)
PURGE = r"""
local ids = redis.call('ZRANGEBYSCORE', P .. 'finished', '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
local gone = {}
for _, id in ipairs(ids) do
  local k = jkey(id)
  local st = redis.call('HGET', k, 'state')
  redis.call('ZREM', P .. 'finished', id)
  if st == 'completed' or st == 'failed' or st == 'cancelled' then
    local flat = redis.call('HGETALL', k)
    local h = {}
    for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
    local kid = h['key_id'] or ''
    local ix = P .. (h['_ix'] or '')
    redis.call('ZREM', ix .. 'all', id)
    redis.call('ZREM', ix .. 'st:' .. st, id)
    redis.call('ZREM', ix .. 'ks:' .. kid .. ':' .. st, id)
    redis.call('ZREM', P .. 'webhooks', id)
    for _, f in ipairs({'_own', '_draftz', '_ikz', '_iaz'}) do
      if h[f] then redis.call('ZREM', h[f], id) end
    end
    redis.call('DEL', k, P .. 'inline:' .. id)
    gone[#gone + 1] = flat
  end
end
return {#ids, gone}
"""

SCRIPTS = {
    "submit": SUBMIT,
    "claim": CLAIM,
    "claim_job": CLAIM_JOB,
    "heartbeat": HEARTBEAT,
    "complete": COMPLETE,
    "fail": FAIL,
    "finish_cancelled": FINISH_CANCELLED,
    "cancel": CANCEL,
    "release": RELEASE,
    "requeue_expired": REQUEUE_EXPIRED,
    "set_check": SET_CHECK,
    "set_webhook": SET_WEBHOOK,
    "purge": PURGE,
}


def source(name: str) -> str:
    """The full text of one script: the shared helpers, then its body."""
    return PRELUDE + SCRIPTS[name]


__all__ = ["SCRIPTS", "source"]
