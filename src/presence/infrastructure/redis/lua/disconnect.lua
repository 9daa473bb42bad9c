-- disconnect: a socket closed. Its live lease now runs out at close + grace, whatever its TTL left;
-- a lease that had already run out is dropped.
-- KEYS[1] <tag>st:<id>   KEYS[2] <tag>ls:<id>   KEYS[3] <tag>deadlines   KEYS[4] <tag>online   KEYS[5] <tag>log
-- ARGV[1] tag   ARGV[2] pod   ARGV[3] log retention   ARGV[4] clock   ARGV[5] streamer id
-- ARGV[6] connection id   ARGV[7] RECONNECT_GRACE_MS
-- Returns { now, then 6 fields per event }
local tag, id, cid, grace = ARGV[1], ARGV[5], ARGV[6], tonumber(ARGV[7])
local now = now_ms()
local events = {}
local rec = load(tag, id)
expire(rec, now, events)
local lease = rec.leases[cid]
if lease and not lease.closed then
  set_lease(rec, cid, { closed = true, live_until = now + grace })
end
save(tag, rec)
return reply(now, events)
