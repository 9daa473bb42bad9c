-- heartbeat (also connect): renews a connection's lease, creating it when unknown (a reconnect, or a
-- Redis that came back empty); brings an offline streamer online; stores and publishes a changed meta.
-- A connection without a live lease (new, or lapsed by its TTL) is refused when the streamer holds
-- ARGV[9] open ones (see `heartbeat` in streamer-record.ts), for a connect and a heartbeat alike.
-- KEYS[1] <tag>st:<id>   KEYS[2] <tag>ls:<id>   KEYS[3] <tag>deadlines   KEYS[4] <tag>online   KEYS[5] <tag>log
-- ARGV[1] tag   ARGV[2] pod   ARGV[3] log retention   ARGV[4] clock   ARGV[5] streamer id
-- ARGV[6] connection id   ARGV[7] PRESENCE_TTL_MS
-- ARGV[8] meta: '' to leave it as it is, else canonical JSON ('{}' clears it)
-- ARGV[9] open connections allowed (MAX_OPEN_CONNECTIONS); '0' for no cap (the random-history tests)
-- Returns { now, then 6 fields per event: id, status, since, version, reason, meta JSON or '' },
-- then '!too_many_connections' when it was refused (the events are then only expiries)
local tag, id, cid, ttl, meta_arg, max_open = ARGV[1], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local now = now_ms()
local events = {}
local rec = load(tag, id)
expire(rec, now, events)
local lease = rec.leases[cid]
if max_open > 0 and not lease and open_leases(rec) >= max_open then
  save(tag, rec)
  local out = reply(now, events)
  out[#out + 1] = '!too_many_connections'
  return out
end
-- A closed socket's lease runs out at close + grace; a late heartbeat must not reopen it.
if not (lease and lease.closed) then
  set_lease(rec, cid, { closed = false, live_until = now + ttl })
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
save(tag, rec)
return reply(now, events)
