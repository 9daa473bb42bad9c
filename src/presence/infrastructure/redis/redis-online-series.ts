import type { RedisClient } from '../../../redis/redis-client.js';
import { ONLINE_SAMPLE_MS, ONLINE_SAMPLES_KEPT, type OnlineSample, type OnlineSeries } from '../../domain/online-series.port.js';
import { asComponent } from './component-error.js';
import { LuaScript } from './lua-script.js';

/**
 * KEYS[1] <prefix>{console}:sampled (the interval's slot)   KEYS[2] <prefix>{console}:online (list of samples, JSON)
 * ARGV[1] the sample   ARGV[2] the interval (ms)   ARGV[3] samples kept. Returns 1 when kept.
 */
const OFFER = new LuaScript(
  'online-offer',
  `
if not redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[2]), 'NX') then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
return 1`,
);

/** The online series in Redis: one list for the deployment, under one hash tag (`{console}`). */
export class RedisOnlineSeries implements OnlineSeries {
  private readonly keys: [string, string];

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
  ) {
    this.keys = [`${keyPrefix}{console}:sampled`, `${keyPrefix}{console}:online`];
  }

  async offer(sample: OnlineSample): Promise<boolean> {
    // The slot is a little shorter than the interval, so pods whose timers drift do not skip one.
    const kept = await asComponent('redis online series', 'offer', () =>
      OFFER.run(this.redis, this.keys, [JSON.stringify(sample), Math.round(ONLINE_SAMPLE_MS * 0.9), ONLINE_SAMPLES_KEPT]),
    );
    return kept === 1;
  }

  async read(): Promise<OnlineSample[]> {
    const entries = await asComponent('redis online series', 'read', () => this.redis.lrange(this.keys[1], 0, -1));
    return entries.map((entry) => JSON.parse(entry) as OnlineSample);
  }
}
