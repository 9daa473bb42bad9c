import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { faketimeEnv } from './faketime.js';
import { type ExitStatus, spawnTracked, terminate, waitForExit } from './spawn.js';

/** The built app entry (`npm run build` makes it; `npm test` builds before running Jest). */
export const APP_ENTRY = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The app logs this (inside a JSON log line) once it listens. */
const LISTENING = /Listening on http:\/\/[^\s:"]+:(\d+)/;

/** Environment for the app; `undefined` removes a variable inherited from the test process. */
export type AppEnv = Record<string, string | undefined>;

/** Options for {@link startApp}. */
export interface StartAppOptions {
  /** Variables on top of the test process's environment (NODE_OPTIONS removed, PORT=0, HOST=127.0.0.1). */
  env?: AppEnv;
  /** Sets `REDIS_URL` (Redis mode); without it the app runs in embedded single-node mode. */
  redisUrl?: string;
  /** Arguments after `dist/main.js`. @default [] */
  extraArgs?: string[];
  /** The script to run instead of `dist/main.js` (`scripts/start.mjs` is what `npm start` runs). */
  entry?: string;
  /** A libfaketime spec such as `'-30s'`: the app's wall clock is shifted by that much. */
  faketime?: string;
  /** How long to wait for the "Listening on" line (pods started in parallel on a busy machine are slow). @default 30000 */
  startTimeoutMs?: number;
}

/** A running app process and everything it has printed so far. */
export interface AppProcess {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Every stdout and stderr line so far, in arrival order (live array). */
  readonly lines: string[];
  /**
   * Sends `signal` (SIGCONT first, in case it is frozen), waits up to `timeoutMs` for the exit and
   * resolves with the exit code (null when a signal ended it). After the timeout: SIGKILL, then rejects.
   * @default signal 'SIGTERM', timeoutMs 30000
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** SIGKILL (a pod dying without closing anything); resolves once it has exited. */
  kill9(): Promise<void>;
  /** Resolves with the exit code (null when a signal ended it) once the process exits by itself. */
  waitForExit(): Promise<number | null>;
  /** The same, with the signal that ended it (null when it exited with a code). */
  exitStatus(): Promise<ExitStatus>;
  /**
   * Resolves with the first line from index `fromLine` on (already printed or yet to come) that
   * matches `regex`; rejects after `timeoutMs`, or if the process exits first.
   * @default timeoutMs 5000, fromLine 0
   */
  waitForLine(regex: RegExp, timeoutMs?: number, fromLine?: number): Promise<string>;
}

/** What {@link runAppExpectingExit} saw. */
export interface AppExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `node dist/main.js` on a free port (PORT=0) on 127.0.0.1 and resolves once it logs
 * "Listening on http://…:<port>". Rejects, with everything it printed, if it exits first or is not
 * listening within 30 s. The process is killed by the file's cleanup (cleanup.ts) if not stopped.
 */
export async function startApp(options: StartAppOptions = {}): Promise<AppProcess> {
  // Every test client comes from 127.0.0.1: the per-address rates are off unless a test turns them on.
  const env: AppEnv = { PORT: '0', HOST: '127.0.0.1', HANDSHAKE_RATE_PER_ADDRESS: '0', HTTP_RATE_PER_ADDRESS: '0', SUBSCRIBE_RATE_PER_ADDRESS: '0', CONNECTIONS_PER_ADDRESS: '0', ...options.env };
  if (options.redisUrl !== undefined) env.REDIS_URL = options.redisUrl;
  if (options.faketime !== undefined) Object.assign(env, faketimeEnv(options.faketime));
  const child = spawnApp(env, options.extraArgs ?? [], options.entry ?? APP_ENTRY);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  collectLines(child, (line) => {
    lines.push(line);
    for (const notify of listeners) notify();
  });
  const exited = waitForExit(child);
  // Lines can still arrive after 'exit'; a waiter gives up only once the output is complete too.
  let outputComplete = false;
  void Promise.all([exited, streamClosed(child.stdout), streamClosed(child.stderr)]).then(() => {
    outputComplete = true;
    for (const notify of listeners) notify();
  });
  const isRunning = (): boolean => !outputComplete;

  const waitForLine = (regex: RegExp, timeoutMs = 5_000, fromLine = 0): Promise<string> =>
    new Promise((resolve, reject) => {
      let next = fromLine;
      const check = (): void => {
        for (; next < lines.length; next++) {
          if (regex.test(lines[next]!)) {
            done();
            resolve(lines[next]!);
            return;
          }
        }
        if (!isRunning()) {
          done();
          reject(new Error(`app (pid ${child.pid}) exited before printing ${regex}; output:\n${lines.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`app (pid ${child.pid}) did not print ${regex} within ${timeoutMs} ms; output:\n${lines.join('\n')}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let port: number;
  try {
    const line = await waitForLine(LISTENING, startTimeoutMs);
    port = Number(LISTENING.exec(line)![1]);
  } catch (err) {
    await terminate(child, 'SIGKILL');
    throw err;
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    lines,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
      const status = await terminate(child, signal, timeoutMs);
      if (status.signal === 'SIGKILL' && signal !== 'SIGKILL') {
        throw new Error(`app (pid ${child.pid}) did not exit within ${timeoutMs} ms of ${signal}; output:\n${lines.join('\n')}`);
      }
      return status.code;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async waitForExit() {
      return (await exited).code;
    },
    exitStatus: () => exited,
    waitForLine,
  };
}

/**
 * Runs `node dist/main.js` with `env` (merged as in {@link startApp}) and resolves with its exit code and
 * output once it exits: for configuration errors, which must end the process before it listens.
 * Rejects if it is still running after `timeoutMs` (it is then killed).
 * @default timeoutMs 10000
 */
export async function runAppExpectingExit(options: { env?: AppEnv; timeoutMs?: number } = {}): Promise<AppExit> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const child = spawnApp({ PORT: '0', HOST: '127.0.0.1', ...options.env }, [], APP_ENTRY);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = waitForExit(child);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    await terminate(child, 'SIGKILL');
    throw new Error(`app (pid ${child.pid}) still running after ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  // 'exit' can fire before the pipes are drained: wait for them to close.
  await Promise.all([streamClosed(child.stdout), streamClosed(child.stderr)]);
  return { code: first.code, stdout, stderr };
}

/** The test process's variables an app inherits; every other one comes from the test. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

function spawnApp(overrides: AppEnv, extraArgs: string[], entry: string): ChildProcess {
  if (!existsSync(APP_ENTRY)) {
    throw new Error(`${APP_ENTRY} not found: run 'npm run build' first (npm test does it before Jest)`);
  }
  // Only what a process needs to run: a runner's own JWT_SECRET, NODE_ENV, REDIS_URL, NODE_OPTIONS
  // (Jest's --experimental-vm-modules) or any other setting of the app must not leak into it.
  const env: NodeJS.ProcessEnv = {};
  for (const key of INHERITED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return spawnTracked(process.execPath, [entry, ...extraArgs], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collectLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) onLine(line);
    });
    stream?.on('end', () => {
      if (partial !== '') onLine(partial);
      partial = '';
    });
  }
}

function streamClosed(stream: NodeJS.ReadableStream | null): Promise<void> {
  if (stream === null || (stream as { readableEnded?: boolean }).readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}
