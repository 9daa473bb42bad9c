-- offline-if-absent: a streamer left while the deployment moved to another shard count (its lease ran out
-- under the previous count's keys, where nothing sweeps). If the current keys have never heard of it, it
-- goes offline here, so viewers who knew it online under the previous count hear that it is not; if they
-- have (a pod re-asserted it, or it came back), nothing happens. The same for a streamer last known
-- online whose record Redis lost (restarted empty) and that nothing claimed for a TTL (settleLost).
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[5] streamer id
-- ARGV[6] since (when its last lease ran out)   ARGV[7] reason (timeout or disconnected)
-- Returns { now, then 7 fields per event (prelude.lua `emit`: the event, then its log entry id) }
local id, since, reason = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local now = now_ms()
local events = {}
if redis.call('EXISTS', KEYS[4]) == 0 then
  local rec = load(streamer_keys(1), id)
  emit(rec, events, 'offline', reason, since, now, false)
  save(rec)
end
return reply(now, events)
