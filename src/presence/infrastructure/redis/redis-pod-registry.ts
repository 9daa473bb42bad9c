import type { RedisClient } from '../../../redis/redis-client.js';
import type { PodBeat, PodRegistry, PodStatus } from '../../domain/pod-registry.port.js';
import { asComponent } from './component-error.js';
import { LuaScript } from './lua-script.js';

/**
 * KEYS[1] <prefix>{pods}:live (zset: pod -> last beat)   KEYS[2] <prefix>{pods}:status (hash: pod -> status JSON)
 * KEYS[3] <prefix>{pods}:gone (zset: pod -> when handed out for cleaning up)
 * ARGV[1] pod   ARGV[2] its status   ARGV[3] TTL (ms)   ARGV[4] how long a cleaner has before the pod is handed out again (ms)
 * Returns {1 if the pod was absent, the gone pods handed to this caller, the live pods' statuses (flat
 * pod, JSON, …), their last beats (flat pod, ms, …)}. Times are Redis's clock.
 */
const BEAT = new LuaScript(
  'pod-beat',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local absent = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local gone = {}
for _, pod in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))) do
  redis.call('ZREM', KEYS[1], pod)
  redis.call('HDEL', KEYS[2], pod)
  redis.call('ZADD', KEYS[3], now, pod)
  gone[#gone + 1] = pod
end
for _, pod in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - tonumber(ARGV[4])), 'LIMIT', 0, 8)) do
  redis.call('ZADD', KEYS[3], now, pod)
  gone[#gone + 1] = pod
end
local seen = {}
for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do seen[#seen + 1] = tostring(entry) end
return {absent, gone, redis.call('HGETALL', KEYS[2]), seen}`,
);
/** KEYS[1..3] as BEAT   ARGV[1] pod. Gone at once: the next beat of any pod hands it out for cleaning up. */
const LEAVE = new LuaScript(
  'pod-leave',
  `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 1`,
);

/** The pod registry in Redis: three keys under one hash tag (`{pods}`), so each script is on one Cluster slot. */
export class RedisPodRegistry implements PodRegistry {
  private readonly keys: [string, string, string];

  /**
   * @param ttlMs a pod silent this long is gone
   * @param cleanupMs a gone pod not reported forgotten this long after it was handed out is handed out again
   */
  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly ttlMs: number,
    private readonly cleanupMs: number,
  ) {
    this.keys = [`${keyPrefix}{pods}:live`, `${keyPrefix}{pods}:status`, `${keyPrefix}{pods}:gone`];
  }

  async beat(status: PodStatus): Promise<PodBeat> {
    const [absent, gone, statuses, seen] = (await this.call('beat', () =>
      BEAT.run(this.redis, this.keys, [status.pod, JSON.stringify(status), this.ttlMs, this.cleanupMs]),
    )) as [number, string[], string[], string[]];
    const seenAt = new Map<string, number>();
    for (let i = 0; i + 1 < seen.length; i += 2) seenAt.set(seen[i]!, Number(seen[i + 1]));
    const live: Array<PodStatus & { seenAt: number }> = [];
    for (let i = 0; i + 1 < statuses.length; i += 2) {
      const at = seenAt.get(statuses[i]!);
      const parsed = parseStatus(statuses[i + 1]!);
      if (at !== undefined && parsed !== null) live.push({ ...parsed, seenAt: at });
    }
    return { wasAbsent: absent === 1, live, gone };
  }

  async forgotten(pod: string): Promise<void> {
    await this.call('forgotten', () => this.redis.zrem(this.keys[2], pod));
  }

  async leave(pod: string): Promise<void> {
    await this.call('leave', () => LEAVE.run(this.redis, this.keys, [pod]));
  }

  private call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return asComponent('redis pod registry', operation, run);
  }
}

/** A status another pod wrote; null when it is not one (a pod of another version may write more, never less). */
function parseStatus(json: string): PodStatus | null {
  try {
    const value = JSON.parse(json) as Partial<PodStatus>;
    return typeof value.pod === 'string' && typeof value.name === 'string' ? (value as PodStatus) : null;
  } catch {
    return null;
  }
}
