import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { RedisShardLeases } from '../../src/presence/infrastructure/redis/redis-shard-leases.js';
import { MAX_OPEN_CONNECTIONS } from '../../src/presence/domain/streamer-record.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startRedis } from '../helpers/redis-server.js';

// Every Lua script declares every key it touches in KEYS (a Cluster routes a script by its keys, and
// refuses or misroutes one that reaches for others), and its header names them. This watches a real
// Redis with MONITOR, which lists each command a script runs after the script itself, while the store and
// the shard leases run every script through every branch; then checks each touched key against the
// script's KEYS and each KEYS entry against the script's header.
useCleanup();

const LUA_DIR = new URL('../../src/presence/infrastructure/redis/lua/', import.meta.url);
const PREFIX = 'keys-check:';

interface HeaderKey {
  /** `3n+1` style index: KEYS[step*n + offset] for n = 1, 2, …; a plain index has step 0. */
  readonly step: number;
  readonly offset: number;
  readonly pattern: RegExp;
}

/** The `-- KEYS[i] <pattern>` entries of a script's header comment. */
function headerKeys(source: string): HeaderKey[] {
  const header = source.split('\n').filter((line) => line.startsWith('--'));
  const keys: HeaderKey[] = [];
  for (const line of header) {
    for (const [, index, shape] of line.matchAll(/KEYS\[([0-9n+]+)\]\s+((?:<[^>]*>|[^\s<])+)/g)) {
      const periodic = /^(\d*)n(?:\+(\d+))?$/.exec(index!);
      // `a|b`: either shape (a script whose KEYS come in groups of the same period, lua/heartbeat.lua).
      const shapes = shape!.split('|').map((one) =>
        one
          .split(/(<tag>|<id(?: n)?>)/)
          .map((part) => (part === '<tag>' ? `${PREFIX}\\{s\\d+/\\d+\\}:` : part.startsWith('<id') ? '[^{}]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join(''),
      );
      const pattern = new RegExp(`^(?:${shapes.join('|')})$`);
      keys.push(periodic === null ? { step: 0, offset: Number(index), pattern } : { step: Number(periodic[1] || 1), offset: Number(periodic[2] ?? 0), pattern });
    }
  }
  return keys;
}

function patternFor(header: HeaderKey[], position: number): RegExp | undefined {
  return header.find(({ step, offset }) => (step === 0 ? position === offset : position >= step + offset && (position - offset) % step === 0))?.pattern;
}

const prelude = readFileSync(new URL('prelude.lua', LUA_DIR), 'utf8');
const scripts = readdirSync(LUA_DIR)
  .filter((file) => file.endsWith('.lua') && file !== 'prelude.lua')
  .map((file) => {
    const body = readFileSync(new URL(file, LUA_DIR), 'utf8');
    const source = `${prelude}\n${body}`;
    return { name: file, sha: createHash('sha1').update(source).digest('hex'), source, header: headerKeys(body) };
  });

interface ScriptRun {
  readonly script: string;
  readonly declared: string[];
  readonly commands: string[][];
}

it('every script touches only the keys it declares, and declares them as its header says', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const monitorClient = new Redis(server.url);
  const monitor = await monitorClient.monitor();
  const runs: ScriptRun[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = args[0]!.toLowerCase();
    if (source === 'lua') {
      runs.at(-1)!.commands.push(args);
    } else if (name === 'eval' || name === 'evalsha') {
      const sha = name === 'eval' ? createHash('sha1').update(args[1]!).digest('hex') : args[1]!;
      const script = scripts.find((s) => s.sha === sha)?.name ?? `inline script ${sha.slice(0, 8)}`;
      runs.push({ script, declared: args.slice(3, 3 + Number(args[2])), commands: [] });
    }
  });

  const timing = { presenceTtlMs: 300, reconnectGraceMs: 200 };
  const keys = new RedisKeys(PREFIX, 4);
  const store = new RedisPresenceStore(redis, keys, timing, 'keys-pod', 60_000);
  await store.connect('alpha', 'c1');
  await store.heartbeat('alpha', 'c1', { title: 'live' });
  await store.heartbeat('alpha', 'c1', {});
  for (let i = 0; i < MAX_OPEN_CONNECTIONS; i += 1) await store.connect('beta', `b${i}`);
  expect((await store.connect('beta', 'one-too-many')).refused).toBe('too_many_connections');
  await store.disconnect('alpha', 'c1');
  await store.connect('gamma', 'g1');
  await store.end('gamma');
  await store.connect('delta', 'd1');
  await store.getMany(['alpha', 'beta', 'gamma', 'delta', 'never-seen']);
  await new Promise((resolve) => setTimeout(resolve, 400));
  const swept = await store.expireDue(100);
  expect(swept.events.map((e) => `${e.streamerId}:${e.reason}`).sort()).toEqual(['alpha:disconnected', 'beta:timeout', 'delta:timeout']);
  // A change of shard count: the previous count's leases are swept too (previous-expiry,
  // offline-if-absent, forget), one streamer re-asserted under the new count, one not.
  // Made in one turn: one heartbeat call carrying the groups of shards 1, 3 and 2 (heartbeat.lua).
  await Promise.all([store.connect('epsilon', 'e1'), store.connect('zeta', 'z1'), store.connect('eta', 'h1'), store.connect('iota', 'i1')]);
  keys.layout.switchTo(8, 4);
  await store.connect('zeta', 'z1');
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect((await store.expireDue(100)).events.map((e) => `${e.streamerId}:${e.reason}`)).toContain('epsilon:timeout');
  const leases = new RedisShardLeases(redis, PREFIX, keys, 'viewers', 'keys-pod', 5_000);
  await leases.refresh(() => true);
  await leases.refresh(() => true);
  await leases.releaseAll();
  await redis.ping(); // MONITOR shows commands in order: once this is seen, everything before it is too
  await new Promise((resolve) => setTimeout(resolve, 200));
  monitorClient.disconnect();

  // Every script file ran, and the branches that write ran with it.
  expect(scripts.filter((s) => !runs.some((run) => run.script === s.name)).map((s) => s.name)).toEqual([]);
  expect(runs.filter((run) => run.script.startsWith('inline')).length).toBeGreaterThan(0);
  const problems: string[] = [];
  for (const run of runs) {
    for (const command of run.commands) {
      const touched = await redis.call('COMMAND', 'GETKEYS', ...command).then(
        (reply) => reply as string[],
        (error: Error) => {
          // TIME has no keys; any other refusal is a command this check cannot read, so it fails.
          if (command[0]!.toUpperCase() === 'TIME') return [];
          problems.push(`${run.script}: COMMAND GETKEYS ${command.join(' ')}: ${error.message}`);
          return [];
        },
      );
      for (const key of touched) if (!run.declared.includes(key)) problems.push(`${run.script}: ${command[0]} touches ${key}, not in its KEYS ${JSON.stringify(run.declared)}`);
    }
    const script = scripts.find((s) => s.name === run.script);
    if (script === undefined) continue;
    run.declared.forEach((key, i) => {
      const pattern = patternFor(script.header, i + 1);
      if (pattern === undefined) problems.push(`${run.script}: KEYS[${i + 1}] = ${key}, which its header does not name`);
      else if (!pattern.test(key)) problems.push(`${run.script}: KEYS[${i + 1}] = ${key}, its header says ${pattern}`);
    });
  }
  expect(problems).toEqual([]);
  // The check saw the commands it checks (MONITOR did list the scripts' own commands).
  expect(runs.reduce((sum, run) => sum + run.commands.length, 0)).toBeGreaterThan(50);
  redis.disconnect();
});
