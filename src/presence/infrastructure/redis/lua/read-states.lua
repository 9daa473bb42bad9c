-- read-states: the presence of several streamers of ONE shard, in one call: a snapshot of 100 ids costs
-- a call per shard, not a command per id (each command costs the pod far more than it costs Redis).
-- KEYS[n] <tag>st:<id n>   for n = 1, 2, …   (all of one shard)
-- ARGV none
-- Returns 4 fields per key, in KEYS order: status, since, version, meta (nil where the field is absent)
local out = {}
for _, key in ipairs(KEYS) do
  local fields = redis.call('HMGET', key, 'status', 'since', 'version', 'meta')
  for i = 1, 4 do out[#out + 1] = fields[i] end
end
return out
