-- heartbeat (also connect), for one or more connections in one call: the store sends the heartbeats that
-- arrive together as one batch per Redis node (per shard on a Cluster, whose shards are slots of their
-- own), so Redis runs one script, not one per heartbeat. They come in groups, one per shard. Each is
-- applied in turn exactly as it would be alone: it renews its connection's lease, creating it when
-- unknown (a reconnect, or a Redis that came back empty); brings an offline streamer online; stores and
-- publishes a changed meta. A connection holding no place (new, or gone from the record) is refused when
-- the streamer holds ARGV[5] open ones, live or parked (see `heartbeat` in streamer-record.ts), for a
-- connect and a heartbeat alike. One silent for the TTL or more is parked.
-- KEYS, per group in turn: its shard's <tag>deadlines, <tag>online and <tag>log, then <tag>st:<id>,
--   <tag>ls:<id> and <tag>tl:<id> for each of its heartbeats, so every group starts at a KEYS[3n+1]:
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log   (the first group's: the prelude's)
-- KEYS[3n+1] <tag>st:<id>|<tag>deadlines   KEYS[3n+2] <tag>ls:<id>|<tag>online   KEYS[3n+3] <tag>tl:<id>|<tag>log
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS
-- ARGV[5] open connections allowed (MAX_OPEN_CONNECTIONS); '0' for no cap (the random-history tests)
-- ARGV[6], ARGV[7] how long (ms) a heartbeat must have waited to be judged as of its receipt, and how
--   far back at most (below)
-- Then per group: how many heartbeats it has, then five per heartbeat:
--   streamer id; connection id; meta: '' to leave it as it is, else canonical JSON ('{}' clears it);
--   ms since the client last heartbeated: '0' but for a pod's re-assert, whose lease keeps the deadline
--   it had (now + TTL - that), never earlier than it already runs out;
--   when the pod received it, on this clock as the pod reads it (RedisClockEstimate), or '0'. A heartbeat
--   or reconnect that came in time but waited in a stalled Redis (a fork, CLIENT PAUSE, a slow script) is
--   judged as of then: a deadline that passed while it waited does not expire the streamer, which would
--   flap offline and online (RELIABILITY finding 28). Only past ARGV[6] of waiting (a usual round trip
--   changes nothing), and at most ARGV[7] back.
-- Returns { now, outcomes, then 7 fields per event (prelude.lua `emit`) }: outcomes holds two characters
-- per heartbeat, in order: 'k' (taken) or 'x' (refused: too many connections), then how many events it
-- made ('0'–'2'), whose fields follow those of the heartbeats before it. One string, not two per
-- heartbeat: a reply of a few elements costs the pod's reply parser and Redis less than one of hundreds.
-- (A refused heartbeat's events are only expiries.)
local ttl, max_open, waited_min, look_back = CTX.ttl, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()
local outcomes = {}
local out = { fmt(now), '' }

-- The usual heartbeat: the streamer is online through this one connection alone, whose lease is open
-- and live, and the meta is unchanged. Then all the rules below come to renewing that lease and the
-- streamer's deadline, which this does without building the record (its tables, the lease loops, the
-- save), reading only the leases and the status: Redis's CPU per heartbeat went from 6.4 to 5.4 µs
-- (batches of 11 on this machine; it had gone from 28.6 to 22 µs with the first such path). Returns
-- false for any other case, which is left to the rules.
local function renewed_alone(st, ls, id, cid, meta_arg, silent, at)
  if silent >= ttl then return false end
  local flat = redis.call('HGETALL', ls)
  if #flat ~= 2 or flat[1] ~= cid then return false end
  local value = flat[2]
  if string.byte(value, 1) ~= 111 then return false end -- 'o': open (prelude.lua)
  local held = tonumber(string.sub(value, 2))
  if held <= at then return false end
  if meta_arg == '' then
    if redis.call('HGET', st, 'status') ~= 'online' then return false end
  else
    local fields = redis.call('HMGET', st, 'status', 'meta')
    if fields[1] ~= 'online' or fields[2] ~= meta_arg then return false end
  end
  local live_until = now + ttl - silent
  if held > live_until then live_until = held end
  redis.call('HSET', ls, cid, 'o' .. fmt(live_until))
  redis.call('ZADD', CTX.deadlines, live_until, id)
  return true
end

-- The heartbeat whose five arguments start at ARGV[a] and whose three keys start at KEYS[k].
local function heartbeat(a, k)
  local id, cid, meta_arg, silent = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  -- The moment its deadlines are judged at: when it was received, if it waited long since.
  local at = now
  local received = tonumber(ARGV[a + 4])
  if received > 0 and now - received > waited_min then at = math.max(received, now - look_back) end
  if renewed_alone(KEYS[k], KEYS[k + 1], id, cid, meta_arg, silent, at) then
    outcomes[#outcomes + 1] = 'k0'
    return
  end
  local events = {}
  local rec = load({ st = KEYS[k], ls = KEYS[k + 1], tl = KEYS[k + 2] }, id)
  -- Judged as of its receipt, decided now: the version, the log entry and its time are this call's.
  expire(rec, at, events, now)
  local lease = rec.leases[cid]
  local outcome = 'k'
  -- A parked connection holds its place already; an unknown one takes one if the streamer has one free.
  if max_open > 0 and not lease and open_leases(rec) >= max_open then
    outcome = 'x'
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
  outcomes[#outcomes + 1] = outcome .. (#events / 7)
  for i = 1, #events do out[#out + 1] = events[i] end
end

local a, k = 8, 1
while a <= #ARGV do
  CTX.deadlines, CTX.online, CTX.log = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local count = tonumber(ARGV[a])
  a, k = a + 1, k + 3
  for _ = 1, count do
    heartbeat(a, k)
    a, k = a + 5, k + 3
  end
end
out[2] = table.concat(outcomes)
return out
