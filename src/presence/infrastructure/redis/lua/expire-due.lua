-- expire-due: the sweeper's claim, second half. Expires the leases that have run out of the streamers
-- named (found by due-ids), atomically for each, so two pods sweeping at once never publish one offline
-- twice: the second finds nothing left to expire. A streamer renewed since due-ids is left as it is.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[3n+1] <tag>st:<id n>   KEYS[3n+2] <tag>ls:<id n>   KEYS[3n+3] <tag>tl:<id n>   for n = 1, 2, …
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[4+n] streamer id n
-- Returns { now, then 7 fields per event (prelude.lua `emit`: the event, then its log entry id) }
local now = now_ms()
local events = {}
for n = 1, #ARGV - 4 do
  local rec = load(streamer_keys(n), ARGV[4 + n])
  expire(rec, now, events)
  save(rec)
end
return reply(now, events)
