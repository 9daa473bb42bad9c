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

/** Heartbeats per call in the batched run. */
const BATCH = 8;

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
  const base = (n) => ['-h', '127.0.0.1', '-p', String(port), '-P', '16', '-n', String(n), '-r', String(keyspace), '-q'];
  // KEYS and ARGV as the store passes them (lua/heartbeat.lua's header), one shard's group: the shard's
  // deadlines, online and log, then the state, leases and timeline of each streamer; pod, log retention,
  // clock ('' = Redis TIME), TTL, open connections allowed, the receipt's two bounds, the group's count,
  // then streamer id, connection id, meta ('' = unchanged), ms silent ('0': a client's own heartbeat) and
  // receipt ('0': none) of each heartbeat. Once with one heartbeat per call, once with a batch of BATCH,
  // about what the heartbeat loop sends per call (its "Redis top-level commands per heartbeat"). A call
  // whose arguments do not match the header renews nothing or fails: each run is checked to have made
  // leases (`madeLeases`).
  const evalsha = (count) => {
    const streamers = Array.from({ length: count }, (_, i) => `r${i}-__rand_int__`);
    return ['EVALSHA', sha, String(3 + 3 * count), `${tag}deadlines`, `${tag}online`, `${tag}log`,
      ...streamers.flatMap((id) => [`${tag}st:${id}`, `${tag}ls:${id}`, `${tag}tl:${id}`]),
      'redis-benchmark', '86400000', '', String(ttlMs), '10', '100', '10000', String(count), ...streamers.flatMap((id) => [id, 'c1', '', '0', '0'])];
  };
  // The leases a run made: every heartbeat of a streamer the run drew is a deadline in the shard's index.
  const madeLeases = async (what) => {
    const leases = await redis.zcard(`${tag}deadlines`);
    if (leases === 0) throw new Error(`${what}: the heartbeat script made no lease; its arguments do not match lua/heartbeat.lua's header`);
    await redis.del(`${tag}deadlines`);
  };
  log(`  redis-benchmark -P 16 -n ${requests}: EVALSHA heartbeat`);
  const heartbeat = requestsPerSecond(await runToCompletion('redis-benchmark-evalsha', 'redis-benchmark', [...base(requests), ...evalsha(1)], 180_000));
  await madeLeases('EVALSHA heartbeat');
  const batchCalls = Math.ceil(requests / BATCH);
  log(`  redis-benchmark -P 16 -n ${batchCalls}: EVALSHA heartbeat, ${BATCH} a call`);
  const batched = BATCH * requestsPerSecond(await runToCompletion('redis-benchmark-evalsha-batch', 'redis-benchmark', [...base(batchCalls), ...evalsha(BATCH)], 180_000));
  await madeLeases(`EVALSHA heartbeat, ${BATCH} a call`);
  log(`  redis-benchmark -P 16 -n ${requests}: SET … PX`);
  const set = requestsPerSecond(await runToCompletion('redis-benchmark-set', 'redis-benchmark',
    [...base(requests), 'SET', 'ceiling:key:__rand_int__', '1', 'PX', String(ttlMs)], 180_000));
  log(`  Redis ceiling: ${heartbeat} heartbeat scripts/s, ${batched} heartbeats/s in calls of ${BATCH}, ${set} SET PX/s`);
  return {
    command: `redis-benchmark ${['-p', '<port>', ...base(requests).slice(4), ...evalsha(1)].map((a) => (a === '' ? "''" : a)).join(' ')}`,
    heartbeatScriptsPerSecond: heartbeat,
    batch: BATCH,
    batchedHeartbeatsPerSecond: batched,
    setPxPerSecond: set,
    keyspace,
  };
}
