-- previous-expiry: whether a streamer under the previous shard count's keys has gone offline there (all
-- its leases ran out while it was online), without changing anything: the sweeper then records that
-- under the current keys (offline-if-absent) before it forgets the old record (forget), so a sweeper
-- that dies between the two leaves the work to the next one.
-- KEYS[1] <tag>deadlines   KEYS[2] <tag>online   KEYS[3] <tag>log
-- KEYS[4] <tag>st:<id>   KEYS[5] <tag>ls:<id>   KEYS[6] <tag>tl:<id>
-- ARGV[1] pod   ARGV[2] log retention   ARGV[3] clock   ARGV[4] PRESENCE_TTL_MS   ARGV[5] streamer id
-- Returns { now, 'live' } (a lease still runs), { now, 'gone', since, reason }, or { now, 'nothing' }
local now = now_ms()
local rec = load(streamer_keys(1), ARGV[5])
local last = nil
for _, lease in pairs(rec.leases) do
  -- A parked connection keeps nobody online (prelude.lua): it says nothing here.
  if lease.parked then
  elseif lease.live_until > now then
    return { fmt(now), 'live' }
  elseif last == nil or lease.live_until > last.live_until or (lease.live_until == last.live_until and lease.closed) then
    last = lease
  end
end
if last == nil or rec.status ~= 'online' then return { fmt(now), 'nothing' } end
local reason = 'timeout'
if last.closed then reason = 'disconnected' end
return { fmt(now), 'gone', fmt(last.live_until), reason }
