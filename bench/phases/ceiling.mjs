// The Redis ceiling: `redis-benchmark -P 16` running the heartbeat script itself (prelude + heartbeat,
// loaded exactly as src/presence/infrastructure/redis/lua-script.ts builds it), i.e. how many heartbeats
// per second this Redis could do with no pod in the way; and the same for the baseline's `SET … PX`.
// Streamer ids are random over a keyspace (`-r`), so most calls renew an existing lease, as in steady state.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { log } from '../progress.mjs';
import { runToCompletion } from '../processes.mjs';

const LUA_DIR = new URL('../../dist/presence/infrastructure/redis/lua/', import.meta.url);

export function heartbeatScript() {
  const read = (file) => readFileSync(fileURLToPath(new URL(file, LUA_DIR)), 'utf8');
  const source = `${read('prelude.lua')}\n${read('heartbeat.lua')}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

function requestsPerSecond(output) {
  const matches = [...output.matchAll(/([\d.]+) requests per second/g)];
  if (matches.length === 0) throw new Error(`redis-benchmark: no result in its output:\n${output.slice(-500)}`);
  return Number(matches[matches.length - 1][1]);
}

export async function redisCeiling({ redis, port, requests, keyspace = 10_000, ttlMs = 110_000 }) {
  const { source, sha } = heartbeatScript();
  const loaded = await redis.script('LOAD', source);
  if (loaded !== sha) throw new Error(`SCRIPT LOAD returned ${loaded}, expected ${sha}`);
  const tag = 'ceiling:{s0/16}:';
  const base = ['-h', '127.0.0.1', '-p', String(port), '-P', '16', '-n', String(requests), '-r', String(keyspace), '-q'];
  // KEYS and ARGV as the store passes them (lua/heartbeat.lua's header): the shard's deadlines, online
  // and log, the streamer's state, leases and timeline; pod, log retention, clock ('' = Redis TIME),
  // streamer id, connection id, TTL, meta ('' = unchanged), open connections allowed.
  const evalsha = ['EVALSHA', sha, '6', `${tag}deadlines`, `${tag}online`, `${tag}log`, `${tag}st:x`, `${tag}ls:x`, `${tag}tl:x`,
    'redis-benchmark', '86400000', '', 'rb__rand_int__', 'c1', String(ttlMs), '', '10'];
  log(`  redis-benchmark -P 16 -n ${requests}: EVALSHA heartbeat`);
  const heartbeat = requestsPerSecond(await runToCompletion('redis-benchmark-evalsha', 'redis-benchmark', [...base, ...evalsha], 180_000));
  log(`  redis-benchmark -P 16 -n ${requests}: SET … PX`);
  const set = requestsPerSecond(await runToCompletion('redis-benchmark-set', 'redis-benchmark',
    [...base, 'SET', 'ceiling:key:__rand_int__', '1', 'PX', String(ttlMs)], 180_000));
  log(`  Redis ceiling: ${heartbeat} heartbeat scripts/s, ${set} SET PX/s`);
  return {
    command: `redis-benchmark ${['-p', '<port>', ...base.slice(4), ...evalsha].map((a) => (a === '' ? "''" : a)).join(' ')}`,
    heartbeatScriptsPerSecond: heartbeat,
    setPxPerSecond: set,
    keyspace,
  };
}
