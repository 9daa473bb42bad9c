-- end: the stream is over; the streamer goes offline now, whatever other connections it has (logged
-- also when the store has no record of it: see streamer-record.ts `end`).
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] streamer id
-- ARGV[5] (optional) when a replayed `end` was sent, ms: a stream online since later is not ended
-- Returns { now, then 7 fields per event (prelude.lua `emit`: the event, then its log entry id) }
local id = ARGV[4]
local now = now_ms()
local events = {}
local rec = load(streamer_keys(1), id)
expire(rec, now, events)
local sent_at = tonumber(ARGV[5])
if sent_at and rec.status == 'online' and rec.since > sent_at then
  save(rec)
  return reply(now, events)
end
-- No record at all: Redis lost the streamer while it was live, and viewers may still hold it online.
local lost = forgotten(rec)
for cid in pairs(rec.leases) do drop_lease(rec, cid) end
if rec.status == 'online' or lost then
  emit(rec, events, 'offline', 'ended', now, now, false)
end
save(rec)
return reply(now, events)
