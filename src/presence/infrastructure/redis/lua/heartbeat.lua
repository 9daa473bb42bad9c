-- heartbeat (also connect): renews a connection's lease, creating it when unknown (a reconnect, or a
-- Redis that came back empty); brings an offline streamer online; stores and publishes a changed meta.
-- A connection without a live lease (new, or lapsed by its TTL) is refused when the streamer holds
-- ARGV[8] open ones (see `heartbeat` in streamer-record.ts), for a connect and a heartbeat alike.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] streamer id
-- ARGV[5] connection id   ARGV[6] PRESENCE_TTL_MS
-- ARGV[7] meta: '' to leave it as it is, else canonical JSON ('{}' clears it)
-- ARGV[8] open connections allowed (MAX_OPEN_CONNECTIONS); '0' for no cap (the random-history tests)
-- Returns { now, then 6 fields per event: id, status, since, version, reason, meta JSON or '' },
-- then '!too_many_connections' when it was refused (the events are then only expiries)
local id, cid, ttl, meta_arg, max_open = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local now = now_ms()
local events = {}
local rec = load(streamer_keys(1), id)
expire(rec, now, events)
local lease = rec.leases[cid]
if max_open > 0 and not lease and open_leases(rec) >= max_open then
  save(rec)
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
save(rec)
return reply(now, events)
