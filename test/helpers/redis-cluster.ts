import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { waitUntil } from './timing.js';

const execFileAsync = promisify(execFile);

/** One node as CLUSTER NODES describes it now. */
export interface ClusterNode {
  readonly port: number;
  readonly role: 'primary' | 'replica';
  /** Slot ranges it serves (primaries only), as [first, last]. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
  /** Failed or disconnected, as the cluster sees it. */
  readonly failed: boolean;
}

/** Six local `redis-server --cluster-enabled yes`: three primaries, each with a replica. */
export interface RedisClusterSet {
  /** `redis+cluster://127.0.0.1:<p1>,…` (every node), for REDIS_URL. */
  readonly url: string;
  /** Every node's server, in start order (the roles are in {@link nodes}; a failover swaps them). */
  readonly servers: readonly RedisServer[];
  readonly nodeTimeoutMs: number;
  /** The cluster's nodes as a live node sees them now. */
  nodes(): Promise<ClusterNode[]>;
  /** The server of the primary serving `slot` now. */
  primaryOf(slot: number): Promise<RedisServer>;
  /** Resolves once every slot is served by a live primary and every live node says cluster_state:ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Resolves once a replica of `primary` holds everything written to it so far (replication offsets):
   * replication is asynchronous, and a primary killed sooner takes its last writes with it.
   */
  replicated(primary: RedisServer, timeoutMs?: number): Promise<void>;
}

/**
 * Starts a Redis Cluster on free ports: six nodes with a short `cluster-node-timeout` (default 1000 ms,
 * so a dead primary's replica takes over within about two of them), formed with `redis-cli --cluster
 * create … --cluster-replicas 1`. Resolves once it is healthy and every replica is in sync. Everything is
 * stopped by the test file's cleanup.
 */
export async function startRedisCluster(options: { nodeTimeoutMs?: number } = {}): Promise<RedisClusterSet> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const redisCli = requireBinary('redis-cli', 'redis-tools');
  const servers = await Promise.all(
    Array.from({ length: 6 }, () =>
      startRedis({
        extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs), '--enable-debug-command', 'yes'],
      }),
    ),
  );
  await execFileAsync(redisCli, ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
  const byPort = new Map(servers.map((server) => [server.port, server]));

  const nodes = async (): Promise<ClusterNode[]> => {
    let lastError: unknown;
    // Ask any node that answers: the one asked first may be the one a test just killed.
    for (const server of servers) {
      try {
        return parseClusterNodes(await server.cli('CLUSTER', 'NODES'));
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  };
  const set: RedisClusterSet = {
    url: `redis+cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
    servers,
    nodeTimeoutMs,
    nodes,
    async primaryOf(slot) {
      const node = (await nodes()).find((n) => n.role === 'primary' && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b));
      if (node === undefined) throw new Error(`no live primary serves slot ${slot}`);
      return byPort.get(node.port)!;
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitUntil(
        async () => {
          const seen = await nodes().catch(() => []);
          const covered = seen.filter((n) => n.role === 'primary' && !n.failed).reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
          if (covered !== 16384) return false;
          for (const node of seen.filter((n) => !n.failed)) {
            const info = await byPort.get(node.port)!.cli('CLUSTER', 'INFO').catch(() => '');
            if (!info.includes('cluster_state:ok')) return false;
            if (node.role === 'replica' && !(await byPort.get(node.port)!.cli('INFO', 'replication').catch(() => '')).includes('master_link_status:up')) return false;
          }
          return true;
        },
        timeoutMs,
        200,
      );
    },
    async replicated(primary, timeoutMs = 5_000) {
      const written = Number(/master_repl_offset:(\d+)/.exec(await primary.cli('INFO', 'replication'))?.[1]);
      const replicaOffsets = async (): Promise<number[]> => [...(await primary.cli('INFO', 'replication')).matchAll(/slave\d+:[^\n]*offset=(\d+)/g)].map((m) => Number(m[1]));
      await waitUntil(async () => (await replicaOffsets()).some((offset) => offset >= written), timeoutMs, 20).catch(async (error: unknown) => {
        throw new Error(`no replica of the primary on port ${primary.port} reached offset ${written} within ${timeoutMs} ms (replicas at ${(await replicaOffsets().catch(() => [])).join(', ') || 'none'}): ${String(error)}`);
      });
    },
  };
  await set.waitHealthy();
  return set;
}

/** CLUSTER NODES' lines: `<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot>…`. */
export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, address, flags, , , , , link, ...slots] = line.trim().split(' ');
      const flagList = flags!.split(',');
      return {
        port: Number(/:(\d+)@/.exec(address!)![1]),
        role: flagList.includes('master') ? ('primary' as const) : ('replica' as const),
        failed: flagList.includes('fail') || flagList.includes('fail?') || link !== 'connected',
        slots: slots
          .filter((slot) => !slot.startsWith('['))
          .map((slot) => {
            const [a, b = a] = slot.split('-');
            return [Number(a), Number(b)] as const;
          }),
      };
    });
}
