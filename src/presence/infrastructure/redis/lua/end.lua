-- end: the stream is over; the streamer goes offline now, whatever other connections it has.
-- KEYS[1] <tag>st:<id>   KEYS[2] <tag>ls:<id>   KEYS[3] <tag>deadlines   KEYS[4] <tag>online   KEYS[5] <tag>log
-- ARGV[1] tag   ARGV[2] pod   ARGV[3] log retention   ARGV[4] clock   ARGV[5] streamer id
-- Returns { now, then 6 fields per event }
local tag, id = ARGV[1], ARGV[5]
local now = now_ms()
local events = {}
local rec = load(tag, id)
expire(rec, now, events)
for cid in pairs(rec.leases) do drop_lease(rec, cid) end
if rec.status == 'online' then
  emit(rec, events, 'offline', 'ended', now, now, false)
end
save(tag, rec)
return reply(now, events)
