// One pod: `node dist/main.js` with production settings on a free port, its output read line by line,
// stopped with SIGTERM; and the CPU pinning that keeps the fuzzer's own work off the pod's core.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const APP_ENTRY = join(REPO, 'dist', 'main.js');
export const START_TIMEOUT_MS = 30_000;
/** Enough of the pod's last words to see why it died. */
const TAIL_LINES = 50;
const KILL_AFTER_MS = 5_000;

function which(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, command))) return join(dir, command);
  }
  return null;
}

const parseCpuList = (text) =>
  text.trim().split(',').flatMap((part) => {
    const [lo, hi = lo] = part.split('-').map(Number);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  });

/**
 * Pod on the first CPU this process may use, this process (all its threads) on the rest, so the control's
 * p99 is the pod's and not the fuzzer's. Returns `{ taskset, podCpu, note }`; `podCpu` null when not pinned.
 */
export function pinCpus() {
  const taskset = which('taskset');
  if (taskset === null) return { podCpu: null, note: 'not pinned: no taskset' };
  if (availableParallelism() < 2) return { podCpu: null, note: `not pinned: ${availableParallelism()} CPU available` };
  try {
    const allowed = parseCpuList(execFileSync(taskset, ['-c', '-p', String(process.pid)], { encoding: 'utf8' }).split(':').pop());
    if (allowed.length < 2) return { podCpu: null, note: `not pinned: only CPU ${allowed.join(',')} allowed` };
    const [podCpu, ...own] = allowed;
    execFileSync(taskset, ['-a', '-p', '-c', own.join(','), String(process.pid)], { stdio: 'ignore' });
    return { taskset, podCpu, note: `pinned: pod → CPU ${podCpu}; fuzzer (pid ${process.pid}) → CPU ${own.join(',')}` };
  } catch (error) {
    return { podCpu: null, note: `not pinned: ${error.message.split('\n')[0]}` };
  }
}

export class Pod {
  /**
   * @param {object} config
   * @param {string} config.name        POD_NAME, and how the pod is named in notes
   * @param {string} config.secret      JWT_SECRET
   * @param {string | null} config.redisUrl   null: embedded single-node mode
   * @param {string} config.keyPrefix   REDIS_KEY_PREFIX, in Redis mode
   * @param {{ taskset?: string, podCpu: number | null }} config.pinning
   * @param {{ see(line: string): string | null }} config.logs   reads every line; returns a crash sign or null
   * @param {(text: string) => void} config.note
   * @param {(pod: Pod, status: object) => void} config.onDied   an exit after listening, not asked for by stop()
   */
  constructor(config) {
    Object.assign(this, config);
    this.tail = [];
    this.crashSigns = [];
    this.stopping = false;
  }

  /** Resolves with this pod once it listens; rejects if it exits first or takes over START_TIMEOUT_MS. */
  start() {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      JWT_SECRET: this.secret,
      PORT: '0',
      HOST: '127.0.0.1',
      TRUSTED_PROXY_HOPS: '1',
      DRAIN_MS: '0',
      POD_NAME: this.name,
      ...(this.redisUrl === null ? {} : { REDIS_URL: this.redisUrl, REDIS_KEY_PREFIX: this.keyPrefix }),
    };
    const setpriv = which('setpriv');
    const argv = [
      ...(this.pinning.podCpu === null ? [] : [this.pinning.taskset, '-c', String(this.pinning.podCpu)]),
      // The kernel kills the pod if this process dies without its cleanup running.
      ...(setpriv === null ? [] : [setpriv, '--pdeathsig', 'SIGKILL', '--']),
      process.execPath, '--max-old-space-size=384', APP_ENTRY,
    ];
    // Its own process group: a Ctrl-C in the terminal reaches this process, which stops the pod itself.
    this.child = spawn(argv[0], argv.slice(1), { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.pid = this.child.pid;
    this.closed = new Promise((resolve) => {
      this.child.once('error', (error) => resolve({ code: null, signal: null, error: error.message }));
      // 'close', not 'exit': by then every line it wrote has been read, so the tail is complete.
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no 'Listening on' within ${START_TIMEOUT_MS / 1000} s:\n${this.tail.join('\n')}`)), START_TIMEOUT_MS);
      this.onListening = (port) => {
        clearTimeout(timer);
        this.port = port;
        resolve(this);
      };
      for (const stream of [this.child.stdout, this.child.stderr]) {
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
      }
      void this.closed.then((status) => {
        clearTimeout(timer);
        if (this.port === undefined) reject(new Error(`${this.name}: exited (${status.error ?? status.code ?? status.signal}) before listening:\n${this.tail.join('\n')}`));
        else if (!this.stopping) this.onDied(this, status);
      });
    });
  }

  onLine(line) {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.port === undefined) {
      const port = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      if (port !== undefined) this.onListening(Number(port));
    }
    const sign = this.logs.see(line);
    if (sign !== null) {
      this.crashSigns.push(sign.slice(0, 500));
      this.note(`crash sign in ${this.name}'s output: ${sign.slice(0, 300)}`);
    }
  }

  get alive() {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (it drains for DRAIN_MS = 0), SIGKILL after 5 s. Resolves with how it exited. */
  async stop() {
    this.stopping = true;
    if (!this.alive) return this.closed;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
    const status = await this.closed;
    clearTimeout(timer);
    return status;
  }

  kill() {
    this.stopping = true;
    if (this.alive) this.child.kill('SIGKILL');
  }
}
