import type { RedisClient } from '../../../redis/redis-client.js';
import { type NoticeDecision, OCCUPANCY_KEY_TTL_MS, OCCUPANCY_NOTICE_INTERVAL_MS, totalOf } from '../../domain/occupancy.js';
import type { OccupancyStore } from '../../domain/occupancy-store.port.js';
import { asComponent } from './component-error.js';
import { LuaScript } from './lua-script.js';
import type { RedisKeys } from './redis-keys.js';

/** Streamers per script call when recording, reading or forgetting. */
const CHUNK = 256;

// Inline: each is a few lines. Every key is under the streamer's shard tag, so a script touches one slot.
/**
 * KEYS[1] <tag>ob:<pod> (set: the streamers this pod counts in the shard)   KEYS[n+1] <tag>oc:<id n> (hash: pod -> count)
 * ARGV[1] pod   ARGV[2] key TTL (ms)   ARGV[2n+1] id n   ARGV[2n+2] this pod's count of it (0: none)
 * Returns each streamer's hash after the change, as a flat list pod, count, …
 */
const RECORD = `
local ttl = tonumber(ARGV[2])
local out = {}
for i = 2, #KEYS do
  local id, count = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  if count > 0 then
    redis.call('HSET', KEYS[i], ARGV[1], count)
    redis.call('PEXPIRE', KEYS[i], ttl)
    redis.call('SADD', KEYS[1], id)
  else
    redis.call('HDEL', KEYS[i], ARGV[1])
    redis.call('SREM', KEYS[1], id)
  end
  out[i - 1] = redis.call('HGETALL', KEYS[i])
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ttl) end
return out`;
/**
 * KEYS[1] <tag>ob:<pod>   KEYS[n+1] <tag>oc:<id n>   ARGV[1] pod   ARGV[n+1] id n
 * Removes the pod's count of each streamer, and the streamer from the pod's set.
 */
const FORGET = `
for i = 2, #KEYS do
  redis.call('HDEL', KEYS[i], ARGV[1])
  redis.call('SREM', KEYS[1], ARGV[i])
end
return #KEYS - 1`;
/**
 * KEYS[2n-1] <tag>on:<id n> (hash: viewers, at: its last notice)   KEYS[2n] <tag>ls:<id n> (its leases)
 * ARGV[1] the interval (ms)   ARGV[2] how long a last notice is kept (ms)   ARGV[3] force (1/0)
 * ARGV[n+3] the count of streamer n
 * decideNotice of src/presence/domain/occupancy.ts, on Redis's clock. Returns per streamer {wait, …}: 0
 * sent (and recorded), followed by the connection ids of its leases (whose pods get the notice); > 0 ms
 * until the interval allows one; -1 nothing new. A last notice is kept ARGV[2] from when it was sent or
 * found current.
 */
const NOTICES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS / 2 do
  local key = KEYS[2 * i - 1]
  local viewers = ARGV[i + 3]
  local last = redis.call('HMGET', key, 'viewers', 'at')
  local wait = 0
  if last[2] then
    local allowed = tonumber(last[2]) + tonumber(ARGV[1])
    if last[1] == viewers and ARGV[3] == '0' then wait = -1 elseif now < allowed then wait = allowed - now end
  end
  local entry = {wait}
  if wait == 0 then
    redis.call('HSET', key, 'viewers', viewers, 'at', now)
    for _, cid in ipairs(redis.call('HKEYS', KEYS[2 * i])) do entry[#entry + 1] = cid end
  end
  if last[2] or wait == 0 then redis.call('PEXPIRE', key, tonumber(ARGV[2])) end
  out[i] = entry
end
return out`;

/**
 * Occupancy in Redis, for any number of pods: a hash per streamer of each pod's count, and per pod and
 * shard the set of streamers it counts, so the pods that clean up after a dead one know what to remove.
 * The store reads no clock of its own but Redis's, for notices.
 */
export class RedisOccupancyStore implements OccupancyStore {
  // By SHA: a flush sends one of each per shard every second.
  private readonly scripts = { record: new LuaScript('occupancy-record', RECORD), forget: new LuaScript('occupancy-forget', FORGET), notices: new LuaScript('occupancy-notices', NOTICES) };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async record(pod: string, counts: ReadonlyMap<string, number>, counted: (pod: string) => boolean): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    await Promise.all(
      this.byShard([...counts.keys()]).map(async ({ tag, ids }) => {
        const args = [pod, OCCUPANCY_KEY_TTL_MS, ...ids.flatMap((id) => [id, counts.get(id)!])];
        const keys = [`${tag}ob:${pod}`, ...ids.map((id) => `${tag}oc:${id}`)];
        const reply = (await this.call('record', () => this.scripts.record.run(this.redis, keys, args))) as string[][];
        ids.forEach((id, i) => totals.set(id, totalOf(pairs(reply[i] ?? []), counted)));
      }),
    );
    return totals;
  }

  async totals(streamerIds: readonly string[], counted: (pod: string) => boolean): Promise<Map<string, number>> {
    const hashes = await this.call('totals', () => Promise.all(streamerIds.map((id) => this.redis.hgetall(this.occupancyKey(id)))));
    return new Map(streamerIds.map((id, i) => [id, totalOf(Object.entries(hashes[i]!).map(([pod, count]) => [pod, Number(count)] as const), counted)]));
  }

  async claimNotices(counts: ReadonlyMap<string, number>, force = false): Promise<Map<string, NoticeDecision>> {
    const decisions = new Map<string, NoticeDecision>();
    await Promise.all(
      this.byShard([...counts.keys()]).map(async ({ tag, ids }) => {
        const args = [OCCUPANCY_NOTICE_INTERVAL_MS, OCCUPANCY_KEY_TTL_MS, force ? 1 : 0, ...ids.map((id) => counts.get(id)!)];
        const keys = ids.flatMap((id) => [`${tag}on:${id}`, this.keys.leasesKey(id)]);
        const reply = (await this.call('notice', () => this.scripts.notices.run(this.redis, keys, args))) as Array<[number, ...string[]]>;
        ids.forEach((id, i) => {
          const [wait = -1, ...holders] = reply[i] ?? [];
          decisions.set(id, wait === 0 ? { send: true, holders } : { send: false, retryInMs: wait < 0 ? null : wait });
        });
      }),
    );
    return decisions;
  }

  async forgetPod(pod: string): Promise<string[]> {
    const forgotten: string[] = [];
    for (let shard = 0; shard < this.keys.shardCount; shard += 1) {
      const tag = this.keys.tag(shard);
      const set = `${tag}ob:${pod}`;
      for (;;) {
        const ids = await this.call('forget', () => this.redis.srandmember(set, CHUNK));
        if (ids.length === 0) break;
        await this.call('forget', () => this.scripts.forget.run(this.redis, [set, ...ids.map((id) => `${tag}oc:${id}`)], [pod, ...ids]));
        forgotten.push(...ids);
      }
    }
    return forgotten;
  }

  private occupancyKey(streamerId: string): string {
    return `${this.keys.tag(this.keys.shardOf(streamerId))}oc:${streamerId}`;
  }

  /** The ids grouped by shard, at most CHUNK a group. */
  private byShard(streamerIds: readonly string[]): Array<{ tag: string; ids: string[] }> {
    const groups = new Map<number, string[]>();
    for (const id of streamerIds) {
      const shard = this.keys.shardOf(id);
      const group = groups.get(shard) ?? [];
      group.push(id);
      groups.set(shard, group);
    }
    const chunks: Array<{ tag: string; ids: string[] }> = [];
    for (const [shard, ids] of groups) {
      for (let i = 0; i < ids.length; i += CHUNK) chunks.push({ tag: this.keys.tag(shard), ids: ids.slice(i, i + CHUNK) });
    }
    return chunks;
  }

  private call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return asComponent('redis occupancy store', operation, run);
  }
}

/** A flat HGETALL reply (pod, count, …) as pairs. */
function pairs(flat: readonly string[]): Array<readonly [string, number]> {
  const out: Array<readonly [string, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out;
}
