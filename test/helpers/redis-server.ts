import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';
import { registerCleanup } from './cleanup.js';
import { freePort } from './free-port.js';
import { spawnTracked, terminate, waitForExit } from './spawn.js';
import { waitForPort } from './tcp.js';

const execFileAsync = promisify(execFile);

/** Options for {@link startRedis}. */
export interface RedisOptions {
  /** Extra `redis-server` command-line arguments, e.g. `['--maxmemory', '10mb']`. @default [] */
  extraArgs?: string[];
  /** How long to wait for the first PONG. @default 10000 */
  readyTimeoutMs?: number;
}

/** A private `redis-server` on 127.0.0.1 and a free port, in-memory only (no RDB, no AOF). */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Pid of the current process (changes on {@link restart}). */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); resolves once it has exited. */
  kill9(): Promise<void>;
  /** SIGSTOP: the port still accepts TCP connections but nothing is answered (a hung Redis). */
  freeze(): void;
  /** SIGCONT: undoes {@link freeze}. */
  thaw(): void;
  /** Stops it if running and starts a new, empty one on the SAME port. */
  restart(): Promise<void>;
  /** Runs `redis-cli -p <port> <args...>` and resolves with its trimmed stdout. */
  cli(...args: string[]): Promise<string>;
}

/**
 * Starts a fresh `redis-server` on a free port and waits until it answers PING. It is stopped by the
 * test file's cleanup (see cleanup.ts) if the test does not stop it. Never touches the machine's 6379.
 */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const binary = requireBinary('redis-server', 'redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const unregisterDir = registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let port = 0;
  let child: ChildProcess | undefined;
  // The free port may be taken between freePort() and redis binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, port, dir, opts);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  let current: ChildProcess = child;

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current.pid ?? -1;
    },
    async stop() {
      await terminate(current, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      unregisterDir();
    },
    async kill9() {
      current.kill('SIGKILL');
      await waitForExit(current);
    },
    freeze() {
      current.kill('SIGSTOP');
    },
    thaw() {
      current.kill('SIGCONT');
    },
    async restart() {
      await terminate(current, 'SIGTERM');
      // Port reuse right after close is fine: redis-server sets SO_REUSEADDR on its listener.
      current = await launch(binary, port, dir, opts);
    },
    async cli(...args: string[]) {
      const redisCli = requireBinary('redis-cli', 'redis-tools');
      const { stdout } = await execFileAsync(redisCli, ['-h', '127.0.0.1', '-p', String(port), ...args], {
        timeout: 5_000,
      });
      return stdout.trim();
    },
  };
  return server;
}

async function launch(binary: string, port: number, dir: string, opts: RedisOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    ...(opts.extraArgs ?? []),
  ];
  const child = spawnTracked(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  try {
    await waitForPort(port, {
      timeoutMs: opts.readyTimeoutMs ?? 10_000,
      send: 'PING\r\n',
      expect: /^\+PONG/,
      gaveUp: () =>
        child.exitCode !== null || child.signalCode !== null
          ? `redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`
          : undefined,
    });
  } catch (err) {
    await terminate(child, 'SIGKILL');
    throw err;
  }
  return child;
}
