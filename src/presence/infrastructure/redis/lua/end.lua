-- end: the stream is over; the streamer goes offline now, whatever other connections it has (logged
-- also when the store has no record of it: see streamer-record.ts `end`).
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[5] streamer id
-- ARGV[6] (optional) when a replayed `end` was sent, ms: a stream online since later is not ended
-- Returns { now, then 7 fields per event (prelude.lua `emit`: the event, then its log entry id) }
local id = ARGV[5]
local now = now_ms()
local events = {}
local rec = load(streamer_keys(1), id)
expire(rec, now, events)
local sent_at = tonumber(ARGV[6])
if sent_at and rec.status == 'online' and rec.since > sent_at then
  save(rec)
  return reply(now, events)
end
-- No record at all: Redis lost the streamer while it was live, and viewers may still hold it online.
local lost = forgotten(rec)
-- Its sockets stay open (a heartbeat on one starts a new stream): parked, they keep their places.
for cid, lease in pairs(rec.leases) do
  if lease.closed then
    drop_lease(rec, cid)
  else
    local keep = now + CTX.ttl
    if lease.parked and lease.live_until > keep then keep = lease.live_until end
    set_lease(rec, cid, { closed = false, parked = true, live_until = keep })
  end
end
if rec.status == 'online' or lost then
  emit(rec, events, 'offline', 'ended', now, now, false)
end
save(rec)
return reply(now, events)
