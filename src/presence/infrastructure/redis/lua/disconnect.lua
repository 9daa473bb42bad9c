-- disconnect: a socket closed. Its live lease now runs out at close + grace, whatever its TTL left;
-- a lease that had already run out is dropped.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[5] streamer id
-- ARGV[6] connection id   ARGV[7] RECONNECT_GRACE_MS
-- Returns { now, then 7 fields per event (prelude.lua `emit`: the event, then its log entry id) }
local id, cid, grace = ARGV[5], ARGV[6], tonumber(ARGV[7])
local now = now_ms()
local events = {}
local rec = load(streamer_keys(1), id)
expire(rec, now, events)
local lease = rec.leases[cid]
if lease and lease.parked then
  -- It kept nobody online: closing it only frees its place.
  drop_lease(rec, cid)
elseif forgotten(rec) then
  -- No record, yet a connection closes: Redis lost the streamer while it was live (restarted empty), and
  -- viewers may still hold it online. Online again for the grace, silently, so the grace's end logs the
  -- offline (streamer-record.ts `close`).
  rec.status = 'online'
  rec.since = now
  rec.version = math.max(1, now * 1000)
  rec.changed = true
  set_lease(rec, cid, { closed = true, live_until = now + grace })
elseif lease and not lease.closed then
  set_lease(rec, cid, { closed = true, live_until = now + grace })
end
save(rec)
return reply(now, events)
