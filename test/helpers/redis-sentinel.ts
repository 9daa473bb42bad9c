import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { registerCleanup } from './cleanup.js';
import { freePort } from './free-port.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { spawnTracked } from './spawn.js';
import { waitForPort } from './tcp.js';
import { waitUntil } from './timing.js';

const execFileAsync = promisify(execFile);

/** The primary's name the sentinels monitor. */
export const MASTER_NAME = 'presence';

/** A primary, its replica and three sentinels watching them, all local. */
export interface SentinelSet {
  /** `redis+sentinel://127.0.0.1:<p1>,…/presence`, for REDIS_URL. */
  readonly url: string;
  /** The servers, in the roles they started in (a failover swaps them). */
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  readonly sentinelPorts: readonly number[];
  /** The port the sentinels now name as the primary. */
  primaryPort(): Promise<number>;
}

/**
 * Starts a Sentinel set on free ports: `redis-server` primary and replica, and three
 * `redis-server <conf> --sentinel` with a quorum of 2, declaring the primary down after
 * `downAfterMs` (default 1000 ms). Resolves once every sentinel knows the primary and its replica, so
 * a failover can happen. Everything is stopped by the test file's cleanup.
 */
export async function startSentinelSet(options: { downAfterMs?: number } = {}): Promise<SentinelSet> {
  const downAfterMs = options.downAfterMs ?? 1_000;
  const primary = await startRedis();
  const replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-test-'));
  registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const binary = requireBinary('redis-server', 'redis-server');
  const sentinelPorts: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${i}.conf`);
    // Sentinel rewrites its own file as it learns the set: it must be writable, one per sentinel.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
        `sentinel failover-timeout ${MASTER_NAME} ${Math.max(3_000, 3 * downAfterMs)}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    const child = spawnTracked(binary, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await waitForPort(port, {
      timeoutMs: 10_000,
      send: 'PING\r\n',
      expect: /^\+PONG/,
      gaveUp: () => (child.exitCode !== null ? `sentinel on port ${port} exited (${child.exitCode}):\n${output}` : undefined),
    });
    sentinelPorts.push(port);
  }
  const ask = async (port: number, ...args: string[]): Promise<string> => {
    const { stdout } = await execFileAsync(requireBinary('redis-cli', 'redis-tools'), ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5_000 });
    return stdout.trim();
  };
  // Every sentinel must have found the replica (through the primary's INFO) and its peers.
  await waitUntil(
    async () => {
      for (const port of sentinelPorts) {
        const [replicas, sentinels] = await Promise.all([ask(port, 'SENTINEL', 'REPLICAS', MASTER_NAME), ask(port, 'SENTINEL', 'SENTINELS', MASTER_NAME)]);
        if (!replicas.includes(String(replica.port)) || sentinels.split('\n').filter((line) => line === 'name').length < 2) return false;
      }
      return true;
    },
    30_000,
    200,
  );
  return {
    url: `redis+sentinel://${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',')}/${MASTER_NAME}`,
    primary,
    replica,
    sentinelPorts,
    async primaryPort() {
      const [, port] = (await ask(sentinelPorts[0]!, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)).split('\n');
      return Number(port);
    },
  };
}
