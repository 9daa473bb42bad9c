-- The presence rules of src/presence/domain/streamer-record.ts, in Lua, shared by every script here.
-- The store contract suite holds this file and the TypeScript to the same behaviour.
--
-- Keys of one streamer (all under its shard's hash tag, so a script touches one Redis Cluster slot):
--   <tag>st:<id>   hash   status, since, version, meta (canonical JSON; absent when none)
--   <tag>ls:<id>   hash   connection id -> 'o<liveUntil>' (open), 'c<liveUntil>' (closed, in its grace) or
--                         'p<until>' (parked: open, keeping nobody online, its place held until then)
--   <tag>deadlines zset   streamer id -> its earliest lease deadline
--   <tag>online    zset   online streamer ids, all with score 0 (ordered by id for paging)
--   <tag>tl:<id>   list   the streamer's last transitions, newest first (JSON), with the deciding pod
--   <tag>log       stream the shard's transition log: one entry per event, appended in the same script
--                         as the change, trimmed by age (fields id, st, since, v, r, m, at, pod)
-- Times are ms on Redis's clock (TIME), never a pod's. Numbers leave Lua formatted with %.0f, since
-- tostring() would print versions (~1.8e15) in exponent form.

-- OFFLINE_RETENTION_MS of src/presence/domain/presence-store.port.ts.
local OFFLINE_RETENTION_MS = 7 * 24 * 3600 * 1000
local TIMELINE_LENGTH = 50
-- MAX_LEASES of src/presence/domain/streamer-record.ts: leases a record keeps at most, open and closed.
local MAX_LEASES = 20

-- Every script declares every key it touches in KEYS (a Cluster routes a script by them, and no key
-- name is built here): KEYS[1] <tag>deadlines, KEYS[2] <tag>online, KEYS[3] <tag>log, then three per
-- streamer it works on, in the order of their ids in ARGV: <tag>st:<id>, <tag>ls:<id>, <tag>tl:<id>.
-- ARGV[1] = the pod, ARGV[2] = the log's retention (EVENT_LOG_RETENTION_MS), ARGV[3] = the clock (''
-- in production: Redis TIME; a number only from the tests that replay a history on a simulated clock),
-- ARGV[4] = PRESENCE_TTL_MS. Script-specific arguments start at ARGV[5].
local CTX = { pod = ARGV[1], retention = tonumber(ARGV[2]), clock = ARGV[3], ttl = tonumber(ARGV[4]), deadlines = KEYS[1], online = KEYS[2], log = KEYS[3] }

-- The keys of the i-th streamer a script works on (1-based).
local function streamer_keys(i)
  local base = 3 + (i - 1) * 3
  return { st = KEYS[base + 1], ls = KEYS[base + 2], tl = KEYS[base + 3] }
end

local function now_ms()
  if CTX.clock ~= '' then return tonumber(CTX.clock) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- A streamer's record: its state fields and its leases.
local function load(keys, id)
  local fields = redis.call('HMGET', keys.st, 'status', 'since', 'version', 'meta')
  local flat = redis.call('HGETALL', keys.ls)
  local rec = {
    id = id,
    keys = keys,
    status = fields[1] or 'offline',
    since = tonumber(fields[2] or '0'),
    version = tonumber(fields[3] or '0'),
    meta = fields[4] or false,
    leases = {},
    touched = {},
    removed = {},
    changed = false,
  }
  for i = 1, #flat, 2 do
    local value = flat[i + 1]
    local kind = string.sub(value, 1, 1)
    rec.leases[flat[i]] = { closed = kind == 'c', parked = kind == 'p', live_until = tonumber(string.sub(value, 2)) }
  end
  return rec
end

local function set_lease(rec, cid, lease)
  rec.leases[cid] = lease
  rec.touched[cid] = true
  rec.removed[cid] = nil
end

local function drop_lease(rec, cid)
  rec.leases[cid] = nil
  rec.touched[cid] = nil
  rec.removed[cid] = true
end

-- The store holds nothing of the streamer: never seen, forgotten, or lost with Redis's data. Parked
-- connections do not count (a pod parks its open ones again in a Redis that came back empty).
local function forgotten(rec)
  if rec.version ~= 0 then return false end
  for _, lease in pairs(rec.leases) do
    if not lease.parked then return false end
  end
  return true
end

-- Places taken: open connections, live or parked (closed ones, in their grace, take none).
local function open_leases(rec)
  local n = 0
  for _, lease in pairs(rec.leases) do
    if not lease.closed then n = n + 1 end
  end
  return n
end

-- Drops the closed leases closest to running out (ties by connection id) until at most MAX_LEASES are
-- left, as withinLeaseCap does: reconnect churn never grows a record past a fixed size.
local function cap_leases(rec)
  local total = 0
  local closed = {}
  for cid, lease in pairs(rec.leases) do
    total = total + 1
    if lease.closed then closed[#closed + 1] = cid end
  end
  if total <= MAX_LEASES then return end
  table.sort(closed, function(a, b)
    local x, y = rec.leases[a].live_until, rec.leases[b].live_until
    if x ~= y then return x < y end
    return a < b
  end)
  for i = 1, total - MAX_LEASES do
    if closed[i] then drop_lease(rec, closed[i]) end
  end
end

-- Appends an event and moves the record to it: version max(previous + 1, now in microseconds).
local function emit(rec, events, status, reason, since, now, meta)
  rec.version = math.max(rec.version + 1, now * 1000)
  rec.status = status
  rec.since = since
  rec.meta = meta
  rec.changed = true
  local n = #events
  events[n + 1] = rec.id
  events[n + 2] = status
  events[n + 3] = fmt(since)
  events[n + 4] = fmt(rec.version)
  events[n + 5] = reason
  events[n + 6] = meta or ''
  local entry = '{"status":"' .. status .. '","reason":"' .. reason .. '","since":' .. fmt(since) ..
    ',"version":' .. fmt(rec.version) .. ',"at":' .. fmt(now) .. ',"pod":' .. cjson.encode(CTX.pod) .. '}'
  local tkey = rec.keys.tl
  redis.call('LPUSH', tkey, entry)
  redis.call('LTRIM', tkey, 0, TIMELINE_LENGTH - 1)
  redis.call('PEXPIRE', tkey, OFFLINE_RETENTION_MS)
  -- The transition log, in the same atomic step as the change: relays deliver from it, so an event
  -- outlives a caller that timed out or died before it could publish. Trimmed a tenth past the
  -- retention: readers see the retention, and the webhook relay has that long to dead-letter (count
  -- and log) what its receiver never took before it is gone.
  -- Its id goes back with the event: the calling pod keeps a copy of what it appended for a few seconds,
  -- which a restore appends again if Redis loses its data before any pod has read the entry.
  events[n + 7] = redis.call('XADD', CTX.log, 'MINID', '~', fmt(math.max(0, now - CTX.retention - math.floor(CTX.retention / 10))), '*',
    'id', rec.id, 'st', status, 'since', fmt(since), 'v', fmt(rec.version), 'r', reason, 'm', meta or '',
    'at', fmt(now), 'pod', CTX.pod)
end

-- Drops leases that ran out by now; when the last live one goes, the streamer goes offline as of the
-- moment that lease ran out, for its reason (a tie goes to the closed socket). An open connection whose
-- lease ran out is parked until a TTL after that; a parked one that ran out too is dropped (its pod is
-- gone). As streamer-record.ts `expire`. `decided` (default `now`): when the transition is decided, for
-- its version and log entry, when the leases are judged as of an earlier `now` (lua/heartbeat.lua).
local function expire(rec, now, events, decided)
  local last = nil
  local live = false
  local dead = {}
  local parking = {}
  for cid, lease in pairs(rec.leases) do
    if lease.live_until > now then
      if not lease.parked then live = true end
    elseif lease.parked then
      dead[#dead + 1] = cid
    else
      if not lease.closed and lease.live_until + CTX.ttl > now then
        parking[#parking + 1] = cid
      else
        dead[#dead + 1] = cid
      end
      if last == nil or lease.live_until > last.live_until or (lease.live_until == last.live_until and lease.closed) then
        last = lease
      end
    end
  end
  for _, cid in ipairs(dead) do drop_lease(rec, cid) end
  for _, cid in ipairs(parking) do
    set_lease(rec, cid, { closed = false, parked = true, live_until = rec.leases[cid].live_until + CTX.ttl })
  end
  -- No live lease is left. None ran out just now only in a record left online with parked places alone,
  -- by a pod of an earlier version that read them as live leases (a rolling update): offline as of now.
  if not live and rec.status == 'online' then
    local reason, since = 'timeout', now
    if last ~= nil then
      since = last.live_until
      if last.closed then reason = 'disconnected' end
    end
    emit(rec, events, 'offline', reason, since, decided or now, false)
  end
end

local function save(rec)
  local id = rec.id
  local skey = rec.keys.st
  local lkey = rec.keys.ls
  for cid in pairs(rec.removed) do redis.call('HDEL', lkey, cid) end
  for cid in pairs(rec.touched) do
    local lease = rec.leases[cid]
    local kind = 'o'
    if lease.closed then kind = 'c' elseif lease.parked then kind = 'p' end
    redis.call('HSET', lkey, cid, kind .. fmt(lease.live_until))
  end
  if rec.changed then
    redis.call('HSET', skey, 'status', rec.status, 'since', fmt(rec.since), 'version', fmt(rec.version))
    if rec.meta then redis.call('HSET', skey, 'meta', rec.meta) else redis.call('HDEL', skey, 'meta') end
    if rec.status == 'online' then
      redis.call('ZADD', CTX.online, 0, id)
    else
      redis.call('ZREM', CTX.online, id)
    end
  end
  local earliest = nil
  for _, lease in pairs(rec.leases) do
    if earliest == nil or lease.live_until < earliest then earliest = lease.live_until end
  end
  if earliest == nil then
    redis.call('ZREM', CTX.deadlines, id)
    -- Versions come from the clock, so forgetting a long-offline streamer is safe. (Also when its last
    -- parked connection went: the offline before it had kept the record while that was held.)
    if rec.changed or next(rec.removed) ~= nil then redis.call('PEXPIRE', skey, OFFLINE_RETENTION_MS) end
  else
    redis.call('ZADD', CTX.deadlines, earliest, id)
    if rec.changed then redis.call('PERSIST', skey) end
  end
end

local function reply(now, events)
  local out = { fmt(now) }
  for i = 1, #events do out[i + 1] = events[i] end
  return out
end
