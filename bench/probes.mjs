// What the orchestrator reads from outside the processes: CPU time and RSS from /proc, a pod's
// /metrics, a baseline server's /stats, and Redis INFO.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** CPU meter over a window: start() then read() gives cores used (1.0 = one core busy) per process. */
export function cpuMeter(processes) {
  let start = null;
  const sample = () => ({ at: performance.now(), cpu: processes.map(({ pid }) => safe(() => cpuSeconds(pid))) });
  return {
    start() {
      start = sample();
    },
    read() {
      const end = sample();
      const seconds = (end.at - start.at) / 1000;
      return Object.fromEntries(processes.map(({ name }, i) => {
        const used = end.cpu[i] - start.cpu[i];
        return [name, { cpuSeconds: round(used, 3), cores: round(used / seconds, 3) }];
      }));
    },
  };
}

function safe(read) {
  try {
    return read();
  } catch {
    return NaN;
  }
}

export function round(value, digits = 2) {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * A pod's /metrics, read by sum(name): a metric's value summed over the label sets that match, and
 * buckets(name): a histogram's cumulative counts by bucket bound ('le'), summed the same way.
 */
export async function scrapeMetrics(url) {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  const values = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match) values.set(match[1] + (match[2] ?? ''), Number(match[3]));
  }
  return {
    sum(name, labelFilter = '') {
      let total = 0;
      for (const [key, value] of values) {
        const base = key.split('{')[0];
        if (base === name && key.includes(labelFilter)) total += value;
      }
      return total;
    },
    buckets(name, labelFilter = '') {
      const counts = new Map();
      for (const [key, value] of values) {
        if (!key.startsWith(`${name}_bucket{`) || !key.includes(labelFilter)) continue;
        const le = /le="([^"]+)"/.exec(key)[1];
        counts.set(le, (counts.get(le) ?? 0) + value);
      }
      return counts;
    },
  };
}

export async function baselineStats(url) {
  const response = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(10_000) });
  return response.json();
}

/** INFO <section> as { key: value } (numbers where they parse). */
export async function redisInfo(redis, section) {
  const text = await redis.info(section);
  const info = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at < 0 || line.startsWith('#')) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    info[key] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return info;
}

/** INFO commandstats as { command: { calls, usec } }. */
export async function redisCommandStats(redis) {
  const info = await redisInfo(redis, 'commandstats');
  const stats = {};
  for (const [key, value] of Object.entries(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    const calls = /calls=(\d+)/.exec(String(value));
    const usec = /(?:^|,)usec=(\d+)/.exec(String(value));
    if (calls) stats[key.slice('cmdstat_'.length)] = { calls: Number(calls[1]), usec: Number(usec?.[1] ?? 0) };
  }
  return stats;
}

/**
 * A sample of Redis's counters: `total` (total_commands_processed counts every command, those a Lua
 * script calls included), per-command calls and usec, and Redis's own CPU seconds.
 */
export async function redisSample(redis) {
  // A Redis Cluster is sampled as its primaries' sum.
  if (Array.isArray(redis)) return sumSamples(await Promise.all(redis.map(redisSample)));
  const [stats, commands, cpu] = await Promise.all([redisInfo(redis, 'stats'), redisCommandStats(redis), redisInfo(redis, 'cpu')]);
  return { at: performance.now(), total: stats.total_commands_processed, commands, cpu: cpu.used_cpu_sys + cpu.used_cpu_user };
}

function sumSamples(samples) {
  const commands = {};
  for (const sample of samples) {
    for (const [command, { calls, usec }] of Object.entries(sample.commands)) {
      const was = commands[command] ?? { calls: 0, usec: 0 };
      commands[command] = { calls: was.calls + calls, usec: was.usec + usec };
    }
  }
  const sum = (key) => samples.reduce((total, sample) => total + sample[key], 0);
  return { at: samples[0].at, total: sum('total'), commands, cpu: sum('cpu') };
}

export function redisDelta(before, after) {
  const commands = {};
  for (const [command, { calls, usec }] of Object.entries(after.commands)) {
    const was = before.commands[command] ?? { calls: 0, usec: 0 };
    if (calls > was.calls) commands[command] = { calls: calls - was.calls, usec: usec - was.usec };
  }
  return { seconds: (after.at - before.at) / 1000, total: after.total - before.total, commands, cpuSeconds: after.cpu - before.cpu };
}

/**
 * Redis `used_memory` without client buffers (`mem_clients_normal`, `mem_clients_slaves`), in bytes:
 * the query and output buffers of the pods' connections grow and shrink with traffic and would
 * otherwise drown what the keys themselves take.
 */
export async function redisUsedMemory(redis) {
  if (Array.isArray(redis)) return (await Promise.all(redis.map(redisUsedMemory))).reduce((a, b) => a + b, 0);
  const info = await redisInfo(redis, 'memory');
  return info.used_memory - (info.mem_clients_normal ?? 0) - (info.mem_clients_slaves ?? 0);
}
