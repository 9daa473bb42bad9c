-- expire-due: the sweeper's claim. Expires the leases of up to `limit` streamers of one shard whose
-- earliest deadline has passed, atomically, so two pods sweeping at once never publish one offline twice.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- ARGV[1] tag   ARGV[2] pod   ARGV[3] log retention   ARGV[4] clock   ARGV[5] limit
-- Returns { now, claimed count, then 6 fields per event }
local tag, limit = ARGV[1], tonumber(ARGV[5])
local now = now_ms()
local events = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  local rec = load(tag, id)
  expire(rec, now, events)
  save(tag, rec)
end
local out = reply(now, events)
table.insert(out, 2, tostring(#due))
return out
