-- due-ids: the first half of the sweeper's claim: which streamers of one shard have a lease deadline
-- that has passed. Only reads; expire-due then expires them, with their keys declared.
-- KEYS[1] <tag>deadlines
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[5] limit
-- Returns { now, then up to `limit` streamer ids, earliest deadline first }
local now = now_ms()
local out = { fmt(now) }
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[5]))) do
  out[#out + 1] = id
end
return out
