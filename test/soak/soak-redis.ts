import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startRedis } from '../helpers/redis-server.js';

/** The soak's Redis, one server or a local Cluster, with the two faults the schedule needs. */
export interface SoakRedis {
  readonly url: string;
  readonly describe: string;
  /** Every client of every node waits 2 s (CLIENT PAUSE). */
  stall(): Promise<void>;
  /** A single server is SIGKILLed and restarted empty; in a Cluster a primary is, and its replica takes over. */
  loseData(pick: () => number): Promise<string>;
}

export async function startSoakRedis(topology: 'single' | 'cluster'): Promise<SoakRedis> {
  if (topology === 'single') {
    // Its restarts are waited for by the generator, whose timers run seconds late at full scale.
    const redis = await startRedis({ readyTimeoutMs: 30_000 });
    return {
      url: redis.url,
      describe: `redis ${redis.port}`,
      stall: async () => void (await redis.cli('CLIENT', 'PAUSE', '2000', 'ALL')),
      loseData: async () => {
        await redis.kill9();
        await new Promise((resolve) => setTimeout(resolve, 500));
        await redis.restart();
        return 'restarted empty';
      },
    };
  }
  const cluster = await startRedisCluster();
  return {
    url: cluster.url,
    describe: `redis cluster ${cluster.servers.map((s) => s.port).join(',')}`,
    stall: async () => void (await Promise.all(cluster.servers.map((s) => s.cli('CLIENT', 'PAUSE', '2000', 'ALL').catch(() => '')))),
    loseData: async (pick) => {
      const primaries = (await cluster.nodes()).filter((node) => node.role === 'primary' && !node.failed);
      const victim = primaries[Math.floor(pick() * primaries.length)]!;
      const server = cluster.servers.find((s) => s.port === victim.port)!;
      await server.kill9();
      // Its replica is promoted after about two node timeouts; the old primary comes back empty, as a replica.
      await cluster.waitHealthy(30_000);
      await server.restart();
      await cluster.waitHealthy(30_000);
      return `primary ${victim.port} SIGKILLed, its replica promoted, it came back empty as a replica`;
    },
  };
}
