// Every process the benchmark starts: redis-server, service pods, baseline servers, load workers.
// All listen on 127.0.0.1 and free ports; all are tracked and killed on exit, error or Ctrl-C, and
// each runs under `setpriv --pdeathsig SIGKILL` so the kernel kills it even if this process dies.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const APP_ENTRY = 'dist/main.js';
const BASELINE_ENTRY = fileURLToPath(new URL('./baseline-server.mjs', import.meta.url));
const WORKER_ENTRY = fileURLToPath(new URL('./load/worker.mjs', import.meta.url));
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

const children = new Set();
let podNodeArgs = [];
export const logDir = mkdtempSync(join(tmpdir(), 'presence-bench-'));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function track(child, name, logFile) {
  const entry = { child, name, logFile };
  children.add(entry);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(entry);
      resolve({ code, signal });
    });
    child.once('error', () => {
      children.delete(entry);
      resolve({ code: null, signal: null });
    });
  });
  return child;
}

/** Spawns `command` with stdout+stderr to a log file (so a chatty process never blocks on a pipe). */
function spawnLogged(name, command, args, env = process.env) {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
  const child = spawn(cmd, argv, { cwd: REPO, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return track(child, name, logFile);
}

export function tail(logFile, lines = 30) {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stop(child, signal = 'SIGTERM', graceMs = 3_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const status = await child.exited;
  clearTimeout(timer);
  return status;
}

/** Kills every child still running (SIGKILL: used on errors, timeouts and Ctrl-C). */
export function killAll() {
  for (const { child } of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function removeLogs() {
  rmSync(logDir, { recursive: true, force: true });
}

async function waitUntil(check, { timeoutMs, what, child, logFile }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what}: exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logFile)}`);
    }
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms:\n${tail(logFile)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function httpOk(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  await response.arrayBuffer();
  return response.ok;
}

/** Starts a process on a fresh free port, retrying (another process may take the port first). */
async function withFreshPort(start) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/** A private, in-memory `redis-server` on 127.0.0.1. */
export function startRedis(name = 'redis', extraArgs = []) {
  return withFreshPort(async (port) => {
    const dir = mkdtempSync(join(logDir, `${name}-data-`));
    const child = spawnLogged(name, 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs,
    ]);
    const { default: Redis } = await import('ioredis');
    const client = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    await waitUntil(async () => {
      if (client.status !== 'ready') await client.connect();
      return (await client.ping()) === 'PONG';
    }, { timeoutMs: 10_000, what: name, child, logFile: join(logDir, `${name}.log`) });
    const redis = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, commandTimeout: 10_000 });
    redis.on('error', () => {});
    client.disconnect();
    return { name, port, url: `redis://127.0.0.1:${port}`, pid: child.pid, child, redis };
  });
}

/**
 * A local Redis Cluster: six `redis-server --cluster-enabled yes`, formed by `redis-cli --cluster create
 * … --cluster-replicas 1` into 3 primaries with a replica each. `url` is its REDIS_URL; `redis` the
 * clients of its primaries (the probes sum them); `flushall()` empties every primary.
 */
export async function startRedisCluster(name = 'redis-cluster') {
  const nodes = [];
  for (let i = 0; i < 6; i++) nodes.push(await startRedis(`${name}-${i}`, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000']));
  await runToCompletion(`${name}-create`, 'redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'], 60_000);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(nodes.map((node) => node.redis.cluster('INFO')));
    if (infos.every((info) => info.includes('cluster_state:ok'))) break;
    if (Date.now() > deadline) throw new Error(`${name}: not ok within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const primaries = [];
  for (const node of nodes) if ((await node.redis.info('replication')).includes('role:master')) primaries.push(node);
  return {
    name,
    nodes,
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    redis: primaries.map((node) => node.redis),
    pid: primaries[0].pid,
    flushall: () => Promise.all(primaries.map((node) => node.redis.flushall())),
  };
}

/** How long a Node server may take to come up on a shared, busy machine. */
const START_TIMEOUT_MS = 60_000;

async function startNodeServer(name, entry, env, { inspect, flags = [] }) {
  return withFreshPort(async (port) => {
    const inspectPort = inspect ? await freePort() : null;
    const nodeArgs = inspectPort === null ? flags : [...flags, `--inspect=127.0.0.1:${inspectPort}`];
    const childEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' };
    delete childEnv.NODE_OPTIONS;
    // An unset variable stays unset (REDIS_URL: a pod in embedded mode, the bare server with a Map).
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
    const child = spawnLogged(name, process.execPath, [...nodeArgs, entry], childEnv);
    const url = `http://127.0.0.1:${port}`;
    const logFile = join(logDir, `${name}.log`);
    await waitUntil(() => httpOk(`${url}/readyz`), { timeoutMs: START_TIMEOUT_MS, what: name, child, logFile });
    return { name, port, url, pid: child.pid, child, logFile, inspectPort };
  });
}

/**
 * A service pod: `node dist/main.js`, in Redis mode on `redisUrl`, or embedded without one. `timing` holds the duration variables (scaled
 * down for the offline phase); the message rate limit is off, as the contract allows for benchmarks.
 */
export function startPod(name, { redisUrl, jwtSecret, timing = {}, inspect = true, entry = APP_ENTRY }) {
  const appEntry = resolve(REPO, entry);
  if (!existsSync(appEntry)) throw new Error(`${appEntry} not found: run 'npm run build' first`);
  return startNodeServer(name, appEntry, {
    REDIS_URL: redisUrl,
    JWT_SECRET: jwtSecret,
    MESSAGE_RATE_LIMIT: '0',
    // Every generator is on 127.0.0.1: per-address limits would count the whole load as one client.
    HANDSHAKE_RATE_PER_ADDRESS: '0',
    SUBSCRIBE_RATE_PER_ADDRESS: '0',
    CONNECTIONS_PER_ADDRESS: '0',
    HTTP_RATE_PER_ADDRESS: '0',
    SUBSCRIPTIONS_PER_ADDRESS: '1000000000',
    POD_NAME: name,
    DRAIN_MS: '0',
    ...timing,
  }, { inspect, flags: podNodeArgs });
}

/** Node flags every service pod started from now on gets (the `--pod-node-args` setting). */
export function usePodNodeArgs(args) {
  podNodeArgs = String(args).split(' ').filter(Boolean);
}

/** A baseline server (see baseline-server.mjs): mode 'heartbeat' (on Redis, or on a Map without `redisUrl`) or 'broadcast'. */
export function startBaseline(name, { mode, redisUrl, timing = {}, inspect = true }) {
  return startNodeServer(name, BASELINE_ENTRY, { BASELINE_MODE: mode, REDIS_URL: redisUrl, ...timing }, { inspect });
}

export async function stopServer(server) {
  // Pods exit on SIGINT without draining; the baseline exits on either.
  await stop(server.child, 'SIGINT', 5_000);
}

/**
 * A load-generator process (load/worker.mjs). `call(cmd, args, timeoutMs)` runs a command in it and
 * resolves with its result; `onProgress` receives the worker's per-second counters.
 */
export function startWorker(name) {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  // spawn with an 'ipc' stdio slot is fork(), but lets the worker run under setpriv like the rest.
  const [cmd, argv] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', process.execPath, WORKER_ENTRY, name]]
    : [process.execPath, [WORKER_ENTRY, name]];
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(cmd, argv, { cwd: REPO, env, stdio: ['ignore', fd, fd, 'ipc'], serialization: 'advanced' });
  closeSync(fd);
  track(child, name, logFile);
  const pending = new Map();
  let nextId = 1;
  const worker = { name, child, pid: child.pid, progress: {} };
  child.on('message', (message) => {
    if (message.type === 'progress') {
      worker.progress = message.progress;
      return;
    }
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${name}: ${message.error}`));
  });
  child.exited.then(({ code, signal }) => {
    for (const waiter of pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${name} exited (${code ?? signal}):\n${tail(logFile)}`));
    }
    pending.clear();
  });
  worker.call = (cmd, args = {}, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}: '${cmd}' did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      child.send({ id, cmd, args });
    });
  worker.stop = () => stop(child, 'SIGTERM', 3_000);
  return worker;
}

let signalsInstalled = false;

/** On Ctrl-C / SIGTERM / exit: kill every child, then exit. */
export function installSignalHandlers(onSignal = () => {}) {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      onSignal(signal);
      killAll();
      process.exit(130);
    });
  }
  process.once('exit', killAll);
}

/** Runs `command` to completion (tracked, killed after `timeoutMs`); resolves with its stdout. */
export function runToCompletion(name, command, args, timeoutMs) {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
  const child = track(spawn(cmd, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }), name, null);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return child.exited.then(({ code, signal }) => {
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${name} exited (${code ?? signal}): ${stderr.slice(-2000) || stdout.slice(-2000)}`);
    return stdout;
  });
}
