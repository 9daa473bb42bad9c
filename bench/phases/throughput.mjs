// Heartbeat throughput: the closed loop (load/heartbeat-loop.mjs) against one server, or two taking
// turns, for measured windows after a warm-up; acks per second, ack round trips, CPU of every process involved, and what
// Redis did per heartbeat (background traffic — sweeper, probes — measured just before and subtracted;
// `redis` null for a server without Redis).
import { log, ticker } from '../progress.mjs';
import { cpuMeter, redisDelta, redisSample, round } from '../probes.mjs';
import { sleep } from '../load/clock.mjs';
import { median, summarize } from '../stats.mjs';
import { pinLoop } from '../pinning.mjs';

const BACKGROUND_WINDOW_MS = 2_000;

/**
 * The loop against one server, in one window of `durationMs` (alternatingThroughput with one target and
 * one slice). `watch`: [{ name, pid }] whose CPU to report; `serverSide`: pids pinned with the server to
 * CPU 0 while the loop runs (its Redis), see pinning.mjs; `pinned` false for a server side too big for
 * one CPU (a Redis Cluster's six processes).
 */
export async function heartbeatThroughput({ server, durationMs, end, watch, ...rest }) {
  const [result] = await alternatingThroughput({ ...rest, targets: [{ server, end, watch }], slices: 1, sliceMs: durationMs });
  return result;
}

/**
 * The closed loop against a bare server and the service in turn, in short slices: both keep their
 * connections open, and the generators drive one set, then the other, `slices` times, measuring
 * `sliceMs` of each after `settleMs` (the loops back at full speed). What a 15 s window of each,
 * one after the other, could not separate from the machine: on this VM the same bare server answered
 * 24,900 acks/s in one window and 44,100 in another minutes later, and from one second to the next
 * 19,000 to 49,000; slices a second apart see the same machine. `targets` are [bare, service], each
 * { server, end, watch }; both are pinned with `serverSide` to CPU 0 for the whole round (the one
 * not driven is idle), unless `pinned` is false, and take turns in both orders. Returns one result per
 * target: acks/s, ack round trips, CPU of every watched process, and what Redis did per heartbeat.
 */
export async function alternatingThroughput({ targets, redis, workers, clients, warmupMs, slices, sliceMs, settleMs = 250, secret, serverSide = [], pinned = true }) {
  const share = Math.ceil(clients / workers.length);
  const call = (cmd, args, timeoutMs) => Promise.all(workers.map((worker) => worker.call(cmd, args, timeoutMs)));
  for (const { server } of targets) {
    await Promise.all(workers.map((worker, i) =>
      worker.call('heartbeat.open', { set: server.name, url: server.url, clients: share, idPrefix: `${server.name}-hb${i}-`, secret }, 120_000)));
  }
  const sample = () => (redis === null ? null : redisSample(redis));
  const bg0 = await sample();
  await sleep(BACKGROUND_WINDOW_MS);
  const bg1 = await sample();
  const background = redis === null ? null : redisDelta(bg0, bg1);

  const unpin = pinned ? pinLoop({ server: [...targets.map(({ server }) => server.pid), ...serverSide], clients: workers.map((worker) => worker.pid) }) : () => {};
  const totals = targets.map(({ watch }) => ({ acks: 0, errors: 0, lostAcks: 0, seconds: 0, rtts: [], cpu: Object.fromEntries(watch.map(({ name }) => [name, 0])), redis: null }));
  try {
    for (const { server } of targets) {
      await call('heartbeat.start', { set: server.name });
      await sleep(warmupMs);
      await call('heartbeat.stop', { set: server.name }, 30_000);
    }
    const t0 = performance.now();
    const stopTicker = ticker(() => `${targets.map(({ server }, i) => `${server.name} ${Math.round(totals[i].acks / Math.max(totals[i].seconds, 1e-3))}`).join(', ')} acks/s, ${Math.round((performance.now() - t0) / 1000)} s`);
    for (let slice = 0; slice < slices; slice++) {
      // Each server's leftovers of a slice (its GC, socket flushes) fall into the next one's: the order
      // turns every slice, so neither always follows the other.
      const order = slice % 2 === 0 ? [...targets.keys()] : [...targets.keys()].reverse();
      for (const i of order) {
        const { server, watch } = targets[i];
        const total = totals[i];
        await call('heartbeat.start', { set: server.name });
        await sleep(settleMs);
        const meter = cpuMeter(watch);
        const marks0 = await call('heartbeat.mark', { set: server.name });
        const started = performance.now();
        meter.start();
        const r0 = await sample();
        await sleep(sliceMs);
        const marks1 = await call('heartbeat.mark', { set: server.name });
        total.seconds += (performance.now() - started) / 1000;
        for (const [name, { cpuSeconds }] of Object.entries(meter.read())) total.cpu[name] += cpuSeconds;
        const r1 = await sample();
        const stopped = await call('heartbeat.stop', { set: server.name }, 30_000);
        const sum = (marks, key) => marks.reduce((count, mark) => count + mark[key], 0);
        total.acks += sum(marks1, 'acks') - sum(marks0, 'acks');
        total.errors += sum(marks1, 'errors') - sum(marks0, 'errors') + sum(marks1, 'timeouts') - sum(marks0, 'timeouts');
        total.lostAcks = stopped.reduce((count, counts) => count + counts.timeouts, 0);
        // One at a time: a window of 400,000 round trips spread into push() overflowed the stack.
        for (const mark of marks1) for (const rtt of mark.rttMs) total.rtts.push(rtt);
        if (redis !== null) total.redis = addDelta(total.redis, redisDelta(r0, r1));
      }
    }
    stopTicker();
  } finally {
    unpin();
  }
  for (const [i, { server, end }] of targets.entries()) {
    await call('heartbeat.close', { set: server.name, end }, 120_000);
    const total = totals[i];
    const cpu = Object.fromEntries(Object.entries(total.cpu).map(([name, cpuSeconds]) => [name, { cpuSeconds: round(cpuSeconds, 3), cores: round(cpuSeconds / total.seconds, 3) }]));
    const result = {
      clients,
      slices,
      seconds: round(total.seconds, 2),
      acks: total.acks,
      errors: total.errors,
      lostAcks: total.lostAcks,
      acksPerSecond: round(total.acks / total.seconds, 1),
      ackRoundTripMs: summarize(total.rtts),
      cpu,
      cpuMicrosPerAck: round((cpu[server.name].cpuSeconds * 1e6) / total.acks, 1),
      redis: redis === null ? null : redisPerHeartbeat(total.redis, background, total.acks),
    };
    log(`  ${server.name}: ${result.acksPerSecond} acks/s (${total.acks} in ${slices} slices, ${result.seconds} s, ${total.errors} errors), ack p50 ${result.ackRoundTripMs.p50} ms p99 ${result.ackRoundTripMs.p99} ms; ` +
      `CPU ${Object.entries(cpu).map(([name, { cores }]) => `${name} ${Math.round(cores * 100)}%`).join(', ')}`);
    totals[i] = result;
  }
  return totals;
}

/** Two Redis deltas (redisDelta) as one over their summed time. */
function addDelta(sum, delta) {
  if (sum === null) return delta;
  const commands = { ...sum.commands };
  for (const [command, { calls, usec }] of Object.entries(delta.commands)) {
    const was = commands[command] ?? { calls: 0, usec: 0 };
    commands[command] = { calls: was.calls + calls, usec: was.usec + usec };
  }
  return { seconds: sum.seconds + delta.seconds, total: sum.total + delta.total, commands, cpuSeconds: sum.cpuSeconds + delta.cpuSeconds };
}

/** What Redis did per heartbeat in `window`, net of its `background` traffic. */
function redisPerHeartbeat(window, background, acks) {
  const scale = window.seconds / background.seconds;
  const net = (value, bgValue) => value - bgValue * scale;
  const perHeartbeat = {};
  for (const [command, { calls, usec }] of Object.entries(window.commands)) {
    const bg = background.commands[command] ?? { calls: 0, usec: 0 };
    const callsPer = net(calls, bg.calls) / acks;
    if (callsPer >= 0.005) perHeartbeat[command] = { calls: round(callsPer, 3), usec: round(net(usec, bg.usec) / acks, 2) };
  }
  const topLevel = (perHeartbeat.evalsha?.calls ?? 0) + (perHeartbeat.eval?.calls ?? 0) + (perHeartbeat.set?.calls ?? 0);
  return {
    commandsPerHeartbeat: round(net(window.total, background.total) / acks, 3),
    topLevelCommandsPerHeartbeat: round(topLevel, 3),
    perHeartbeat,
    redisCpuMicrosPerHeartbeat: round((net(window.cpuSeconds, background.cpuSeconds) * 1e6) / acks, 2),
    backgroundCommandsPerSecond: round(background.total / background.seconds, 1),
  };
}

/**
 * Rounds of a service and its bare baseline, run interleaved (bare, service, bare, service, …) so that
 * drifting machine load falls on both alike: each round's ratio, and their median, which is the figure
 * compared with the target (a mean would let one disturbed round decide). Rates and CPU are pooled.
 */
export function interleavedRounds({ bare, service }) {
  const ratios = service.map((s, i) => round(s.acksPerSecond / bare[i].acksPerSecond, 3));
  return { bare: poolRounds(bare), service: poolRounds(service), perRoundRatios: ratios, ratio: round(median(ratios), 3) };
}

/** Pools rounds of one target: rates over the summed windows, CPU per ack over the summed CPU. */
export function poolRounds(rounds) {
  if (rounds.length === 1) return { ...rounds[0], rounds: 1, medianAcksPerSecond: rounds[0].acksPerSecond };
  const acks = rounds.reduce((sum, round) => sum + round.acks, 0);
  const seconds = rounds.reduce((sum, round) => sum + round.seconds, 0);
  const cpu = {};
  for (const name of Object.keys(rounds[0].cpu)) {
    const cpuSeconds = rounds.reduce((sum, round) => sum + (round.cpu[name]?.cpuSeconds ?? 0), 0);
    cpu[name] = { cpuSeconds: round(cpuSeconds, 3), cores: round(cpuSeconds / seconds, 3) };
  }
  const server = Object.keys(rounds[0].cpu)[0];
  return {
    ...rounds[rounds.length - 1],
    rounds: rounds.length,
    perRoundAcksPerSecond: rounds.map((r) => r.acksPerSecond),
    seconds: round(seconds, 2),
    acks,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    acksPerSecond: round(acks / seconds, 1),
    medianAcksPerSecond: median(rounds.map((r) => r.acksPerSecond)),
    cpu,
    cpuMicrosPerAck: round((cpu[server].cpuSeconds * 1e6) / acks, 1),
  };
}
