-- heartbeat (also connect), for one or more connections of one shard in one call: the store sends the
-- heartbeats that arrive together as one batch per shard, so Redis runs one script, not one per
-- heartbeat. Each is applied in turn exactly as it would be alone: it renews its connection's lease,
-- creating it when unknown (a reconnect, or a Redis that came back empty); brings an offline streamer
-- online; stores and publishes a changed meta. A connection holding no place (new, or gone from the
-- record) is refused when the streamer holds ARGV[5] open ones, live or parked (see `heartbeat` in
-- streamer-record.ts), for a connect and a heartbeat alike. One silent for the TTL or more is parked.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[3n+1] <tag>st:<id n>   KEYS[3n+2] <tag>ls:<id n>   KEYS[3n+3] <tag>tl:<id n>   for n = 1, 2, …
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS
-- ARGV[5] open connections allowed (MAX_OPEN_CONNECTIONS); '0' for no cap (the random-history tests)
-- ARGV[6], ARGV[7] how long (ms) a heartbeat must have waited to be judged as of its receipt, and how
--   far back at most (below)
-- ARGV[5n+3] streamer id n   ARGV[5n+4] connection id n
-- ARGV[5n+5] meta n: '' to leave it as it is, else canonical JSON ('{}' clears it)
-- ARGV[5n+6] ms since the client last heartbeated: '0' but for a pod's re-assert, whose lease keeps
--   the deadline it had (now + TTL - that), never earlier than it already runs out
-- ARGV[5n+7] when the pod received it, on this clock as the pod reads it (RedisClockEstimate), or '0'.
--   A heartbeat or reconnect that came in time but waited in a stalled Redis (a fork, CLIENT PAUSE, a
--   slow script) is judged as of then: a deadline that passed while it waited does not expire the
--   streamer, which would flap offline and online (RELIABILITY finding 28). Only past ARGV[6] of
--   waiting (a usual round trip changes nothing), and at most ARGV[7] back.
-- Returns { now, then for each heartbeat n: 'ok' or 'too_many_connections', its event count k, then
-- 7 fields per event (prelude.lua `emit`) } (a refused heartbeat's events are only expiries)
local ttl, max_open, waited_min, look_back = CTX.ttl, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()
local out = { fmt(now) }

-- The usual heartbeat: the streamer is online through this one connection alone, whose lease is open
-- and live, and the meta is unchanged. Then all the rules below come to renewing that lease and the
-- streamer's deadline, which this does without building the record (its tables, the lease loops, the
-- save): Redis's CPU per heartbeat in `npm run bench` went from 28.6 to 22 µs. Returns false for any
-- other case, which is left to the rules.
local function renewed_alone(keys, id, cid, meta_arg, silent, at, fields, flat)
  if #flat ~= 2 or flat[1] ~= cid or fields[1] ~= 'online' or silent >= ttl then return false end
  if meta_arg ~= '' and meta_arg ~= fields[4] then return false end
  local value = flat[2]
  if string.sub(value, 1, 1) ~= 'o' then return false end
  local held = tonumber(string.sub(value, 2))
  if held <= at then return false end
  local live_until = now + ttl - silent
  if held > live_until then live_until = held end
  redis.call('HSET', keys.ls, cid, 'o' .. fmt(live_until))
  redis.call('ZADD', CTX.deadlines, live_until, id)
  return true
end

local function heartbeat(n)
  local id, cid, meta_arg, silent = ARGV[5 * n + 3], ARGV[5 * n + 4], ARGV[5 * n + 5], tonumber(ARGV[5 * n + 6])
  -- The moment its deadlines are judged at: when it was received, if it waited long since (ARGV[5n+7]).
  local at = now
  local received = tonumber(ARGV[5 * n + 7])
  if received > 0 and now - received > waited_min then at = math.max(received, now - look_back) end
  local keys = streamer_keys(n)
  local fields, flat = read_record(keys)
  if renewed_alone(keys, id, cid, meta_arg, silent, at, fields, flat) then
    out[#out + 1] = 'ok'
    out[#out + 1] = '0'
    return
  end
  local events = {}
  local rec = record_of(keys, id, fields, flat)
  -- Judged as of its receipt, decided now: the version, the log entry and its time are this call's.
  expire(rec, at, events, now)
  local lease = rec.leases[cid]
  local outcome = 'ok'
  -- A parked connection holds its place already; an unknown one takes one if the streamer has one free.
  if max_open > 0 and not lease and open_leases(rec) >= max_open then
    outcome = 'too_many_connections'
  elseif lease and lease.closed then
    -- A closed socket's lease runs out at close + grace; a late heartbeat must not reopen it.
  elseif silent >= ttl then
    -- A re-assert for a client silent for the TTL or more renews nothing, its deadline has passed: the
    -- open socket is parked, its place kept (streamer-record.ts `park`). A live lease outlasts that.
    if not lease or lease.parked then
      local keep = now + ttl
      if lease and lease.live_until > keep then keep = lease.live_until end
      set_lease(rec, cid, { closed = false, parked = true, live_until = keep })
    end
  else
    local live_until = now + ttl - silent
    if lease and not lease.parked and lease.live_until > live_until then live_until = lease.live_until end
    set_lease(rec, cid, { closed = false, live_until = live_until })
    cap_leases(rec)
    local next_meta = rec.meta
    if meta_arg ~= '' then
      next_meta = meta_arg
      if meta_arg == '{}' then next_meta = false end
    end
    if rec.status == 'offline' then
      emit(rec, events, 'online', 'connected', now, now, next_meta)
    elseif next_meta ~= rec.meta then
      emit(rec, events, 'online', 'meta', rec.since, now, next_meta)
    end
  end
  save(rec)
  out[#out + 1] = outcome
  out[#out + 1] = fmt(#events / 7)
  for i = 1, #events do out[#out + 1] = events[i] end
end

for n = 1, (#ARGV - 7) / 5 do heartbeat(n) end
return out
