-- forget: drops a streamer from the previous shard count's keys once offline-if-absent has dealt with it.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[5] streamer id
-- Returns 1
local id = ARGV[5]
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
return 1
