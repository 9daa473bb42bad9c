// The benchmark's settings: defaults are the issue's full scale; `--small` is a quick, light run.
// Every setting is a flag (`--streamers 50` or `--streamers=50`) or an env variable (BENCH_STREAMERS=50);
// a flag wins over the env, the env over the preset.
import { randomBytes } from 'node:crypto';

const FULL = {
  pods: 3,
  streamers: 1000, // SDK streamers that connect (online latency) and then close (offline after the grace)
  silent: 500, // streamers that stop heartbeating with their socket open (offline by the TTL)
  viewers: 10000,
  follows: 5, // streamers each viewer follows, drawn at random
  connectRate: 100, // streamer connects (and closes) per second
  viewerRate: 1000, // viewer connects per second, over all viewer processes
  viewerProcs: 2,
  hbClients: 200, // concurrent connections in the closed heartbeat loop
  hbSeconds: 15,
  hbWarmupSeconds: 3,
  hbRounds: 3, // bare then service, in each mode, this many times (interleaved against a machine whose load drifts); the median round ratio counts
  hbSliceMs: 1000, // within a round, bare and service take turns in slices this long, hbSeconds of each in all (phases/throughput.mjs alternatingThroughput)
  hbProcs: 1,
  idleConnections: 5000,
  idleCpuSeconds: 30, // idle connections' CPU (pings) measured this long, and the server's background as long before
  redisBenchRequests: 200000,
  profile: 'auto', // auto: profile the pods when the heartbeat target is missed; always; never
  profileSeconds: 10,
  phases: 'memory,throughput,ceiling,broadcast,service,redis-cluster,hot,storm',
  stormViewers: 5000, // reconnect storm: viewers on the pod that is killed
  stormStreamers: 500, // reconnect storm: streamers on the pod that is killed
  hotViewers: 20000, // hot streamer: viewers of the one streamer, over the pods
  hotCycles: 5, // hot streamer: online/offline cycles measured (after one warm-up)
  timeoutSeconds: 1200, // the whole run, build excluded; every phase also has its own timeout
  seed: 1,
  keepLogs: false,
  updateDoc: true, // rewrite BENCHMARKS.md with this run's table
  appEntry: 'dist/main.js', // the pod entry point (relative to the repo): another build can be measured against the same baselines
  beforeEntry: '', // another build's entry (e.g. main's, built in a worktree): the service phase runs for it too, interleaved with appEntry, and the report compares them
  compareRounds: 2, // with --before-entry: before, after, this many times
  podNodeArgs: '', // node flags every service pod starts with, space-separated (--pod-node-args='--trace-gc --single-threaded-gc', with = as its value begins with --; read traces with --keep-logs); the baselines never get them
};

const SMALL = {
  ...FULL,
  streamers: 50,
  silent: 25,
  viewers: 300,
  connectRate: 50,
  viewerRate: 300,
  viewerProcs: 1,
  hbClients: 50,
  hbSeconds: 8,
  hbWarmupSeconds: 2,
  hbRounds: 1,
  idleConnections: 500,
  idleCpuSeconds: 5,
  redisBenchRequests: 50000,
  profileSeconds: 5,
  hotViewers: 600,
  hotCycles: 3,
  stormViewers: 300,
  stormStreamers: 30,
  timeoutSeconds: 420,
};

/** Pod timing for the delivery phases, scaled down so offline deadlines come within seconds. */
export const SCALED_TIMING = Object.freeze({
  HEARTBEAT_INTERVAL_MS: '2000',
  PRESENCE_TTL_MS: '5000',
  RECONNECT_GRACE_MS: '1000',
  LB_IDLE_TIMEOUT_MS: '10000',
});

/** The service's own defaults (README), used for the throughput and memory phases. */
export const DEFAULT_TIMING = Object.freeze({
  HEARTBEAT_INTERVAL_MS: '50000',
  PRESENCE_TTL_MS: '110000',
  RECONNECT_GRACE_MS: '10000',
  LB_IDLE_TIMEOUT_MS: '60000',
});

const kebab = (key) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (key) => `BENCH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

function coerce(key, raw, like) {
  if (typeof like === 'number') {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${kebab(key)}: expected a number >= 0, got ${JSON.stringify(raw)}`);
    return value;
  }
  if (typeof like === 'boolean') return raw === '' || raw === 'true' || raw === '1';
  return raw;
}

export const USAGE = `usage: npm run bench -- [--small] [--<setting> <value> ...]
settings (flag / env, default = full scale):
${Object.entries(FULL).map(([key, value]) => `  --${kebab(key).padEnd(22)} ${envName(key).padEnd(28)} ${value}`).join('\n')}
  --small                  BENCH_SMALL=1                a light run: ${SMALL.streamers} streamers, ${SMALL.viewers} viewers, ${SMALL.hbSeconds} s phases`;

export function parseConfig(argv = process.argv.slice(2), env = process.env) {
  const flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s);
    if (name === 'help') throw new Error(USAGE);
    if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(name, argv[++i]);
    else flags.set(name, '');
  }
  const small = flags.has('small') ? flags.get('small') !== 'false' : ['1', 'true'].includes(env.BENCH_SMALL ?? '');
  flags.delete('small');
  const preset = small ? SMALL : FULL;
  const config = { small };
  for (const [key, fallback] of Object.entries(preset)) {
    const flag = flags.get(kebab(key));
    flags.delete(kebab(key));
    const raw = flag ?? env[envName(key)];
    config[key] = raw === undefined ? fallback : coerce(key, raw, fallback);
  }
  if (flags.size > 0) throw new Error(`unknown setting(s): ${[...flags.keys()].map((k) => `--${k}`).join(', ')}\n${USAGE}`);
  if (!['auto', 'always', 'never'].includes(config.profile)) throw new Error('--profile: auto, always or never');
  if (config.pods < 2) throw new Error('--pods: at least 2 (latency is measured at viewers on other pods)');
  if (config.follows > config.streamers + config.silent) throw new Error('--follows: more than there are streamers');
  config.phases = new Set(String(config.phases).split(',').map((p) => p.trim()).filter(Boolean));
  const unknown = [...config.phases].filter((p) => !FULL.phases.split(',').includes(p));
  if (unknown.length > 0) throw new Error(`--phases: unknown ${unknown.join(', ')} (known: ${FULL.phases})`);
  config.jwtSecret = randomBytes(32).toString('hex');
  config.command = `npm run bench --${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`.replace(/ --$/, '');
  return Object.freeze(config);
}
