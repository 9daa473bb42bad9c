// `npm run soak -- --minutes N`: an hour of chaos (or N minutes), nothing lost. Redis, 3 pods behind
// nginx (60 s idle timeout) with scaled-down timing, scripted streamers, viewers, a webhook receiver,
// and chaos on a schedule; then an oracle (oracle.ts) judges what every viewer saw against what every
// streamer meant. Not part of `npm test` (scripts/soak.mjs runs it); bounded in time, loopback only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { mulberry32 } from '../../scripts/mulberry32.mjs';
import type { AppProcess } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startNginx } from '../helpers/nginx.js';
import { PodSlots } from '../helpers/pod-slots.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { operatorHeaders } from '../helpers/tokens.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { CpuSplit, type CpuWindow, describeWindow } from './cpu-split.js';
import { awayFromPodSide, cutAtPodClose, cutAtReconnects, judge } from './oracle.js';
import { startSoakRedis } from './soak-redis.js';
import { evidence } from './evidence.js';
import { chartSvg, type Sample, slopePerMinute, table } from './report.js';
import { type SoakTiming, StreamerDriver } from './streamer-driver.js';
import { ViewerDriver } from './viewer-driver.js';
import { GeneratorTurns } from './generator-turns.js';
import { socketCloses } from './socket-closes.js';

useCleanup();
const MINUTES = Number(process.env.SOAK_MINUTES ?? '5');
const STREAMERS = Number(process.env.SOAK_STREAMERS ?? '2000');
const VIEWERS = Number(process.env.SOAK_VIEWERS ?? '10000');
const SEED = Number(process.env.SOAK_SEED ?? '1');
const TOPOLOGY = process.env.SOAK_TOPOLOGY === 'cluster' ? 'cluster' : 'single';
const OUTPUT = fileURLToPath(new URL('../../test-output/soak/', import.meta.url));
/** How late, beyond the contract, a delivery may come on this busy 2-core machine before it counts; a heartbeat's way to the store too. */
const SLACK_MS = 2_000;
const TIMING: SoakTiming = { heartbeatMs: 2_000, ttlMs: 5_000, graceMs: 2_000, transitSlackMs: SLACK_MS };
const POD_ENV = {
  HEARTBEAT_INTERVAL_MS: String(TIMING.heartbeatMs),
  PRESENCE_TTL_MS: String(TIMING.ttlMs),
  RECONNECT_GRACE_MS: String(TIMING.graceMs),
  LB_IDLE_TIMEOUT_MS: '60000',
  DRAIN_MS: '3000',
  REDIS_KEY_PREFIX: `soak-${process.pid}:`,
  // nginx appends the client's address to X-Forwarded-For, as the ingress does, and each soak client
  // connects from an address of its own (loopbackAddress), so the per-address limits are on at the
  // service's defaults, as in production (the test helpers turn them off: their clients share one
  // address). The hostile client and the feed follower share 127.0.0.1.
  TRUSTED_PROXY_HOPS: '1',
  CONNECTIONS_PER_ADDRESS: '1000',
  HANDSHAKE_RATE_PER_ADDRESS: '20',
  HTTP_RATE_PER_ADDRESS: '50',
  SUBSCRIBE_RATE_PER_ADDRESS: '500',
};
/**
 * The n-th client's own address in 127.0.0.0/8 (Linux answers on all of it): `127.<block>.x.y`, the
 * block moving on every 65,536. Viewers start at block 1 and streamers at 128, apart up to 8 million.
 */
const loopbackAddress = (firstBlock: number, n: number): string => `127.${firstBlock + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
const PODS = 3;
/** Clients one nginx carries at most: two descriptors each, under the process's limit of 20,000 here. */
const CLIENTS_PER_BALANCER = 8_000;

const log = (line: string): void => void process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

test(`soak: ${MINUTES} min, ${STREAMERS} streamers, ${VIEWERS} viewers, ${TOPOLOGY} Redis, chaos on a schedule`, async () => {
  const random = mulberry32(SEED);
  const redis = await startSoakRedis(TOPOLOGY);
  const receiver = await startWebhookReceiver();
  const slots = await PodSlots.reserve(PODS);
  const env = { ...POD_ENV, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  const expectedExits = new Set<AppProcess>();
  const crashes: string[] = [];
  /** Every pod process started, for its warnings in pods.log. */
  const podRuns: Array<{ label: string; app: AppProcess }> = [];
  const runsOf: number[] = [];
  const startPod = async (slot: number): Promise<void> => {
    // A copy of the build made at the start (scripts/soak.mjs): a rebuild during a long run must not
    // change the code of the pods it restarts.
    const app = await slots.start(slot, { redisUrl: redis.url, env, ...(process.env.SOAK_APP_ENTRY ? { entry: process.env.SOAK_APP_ENTRY } : {}) });
    runsOf[slot] = (runsOf[slot] ?? 0) + 1;
    podRuns.push({ label: `pod-${slot} run ${runsOf[slot]}`, app });
    void app.exitStatus().then(({ code, signal }) => {
      if (expectedExits.has(app)) return;
      // What a dying Node prints itself (V8's "FATAL ERROR", an uncaught throw's stack) is not a JSON line.
      const last = app.lines.filter((line) => !line.startsWith('{')).slice(-3).join(' | ');
      crashes.push(`pod-${slot} exited by itself (code ${code}, signal ${signal})${last === '' ? '' : `: ${last}`}`);
    });
  };
  await Promise.all(Array.from({ length: PODS }, (_, slot) => startPod(slot)));
  // One nginx holds two descriptors per client, and this one process may not open more than its limit
  // (20,000 here; only a privileged process may raise it): the full scale's 12,000 clients met
  // `accept4() failed (24: Too many open files)` (RELIABILITY.md, finding 6). So the clients are spread
  // over as many load balancers as that takes, as an ingress runs replicas.
  const balancerCount = Math.ceil((STREAMERS + VIEWERS) / CLIENTS_PER_BALANCER);
  const perBalancer = Math.ceil((STREAMERS + VIEWERS) / balancerCount);
  const balancers = await Promise.all(
    Array.from({ length: balancerCount }, () =>
      startNginx({ upstreamPorts: [...slots.ports], proxyReadTimeoutMs: 60_000, proxyNextUpstream: 'error timeout http_502 http_503', maxFails: 0, workerConnections: 4 * perBalancer + 1_024 }),
    ),
  );
  const nginx = balancers[0]!;
  const balancerOf = (n: number): string => balancers[n % balancers.length]!.url;
  const startedAt = Date.now();
  const endAt = startedAt + MINUTES * 60_000;
  log(`up: ${redis.describe}, pods ${slots.ports.join(', ')}, nginx ${balancers.map((b) => b.url).join(', ')}; until ${new Date(endAt).toISOString()}`);

  // The log, followed by cursor all along (Redis restarted empty starts it again), from before the
  // fleet: what must be delivered, and when it was decided.
  const logged = new Map<string, { streamerId: string; version: number; at: number; status: string; reason: string }>();
  let following = true;
  const follow = (async () => {
    let after: string | null = null;
    while (following) {
      try {
        // Bounded: a request to a pod killed mid-answer must not hold the follower.
        const res = await fetch(`${nginx.url}/v1/events?limit=1000&waitMs=2000${after === null ? '' : `&after=${encodeURIComponent(after)}`}`, {
          headers: operatorHeaders(),
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status === 410) after = null;
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const page = (await res.json()) as { items: Array<{ event: { streamerId: string; version: number; since: number; status: string; reason: string } }>; nextCursor: string };
        // Dated by the decision, not by this read (seconds later when the long poll was on a killed pod):
        // a version is the decision's time in microseconds (or one more than the last, within it).
        for (const { event } of page.items) {
          const { streamerId, version, status, reason } = event;
          logged.set(`${streamerId}/${version}`, { streamerId, version, at: Math.floor(version / 1_000), status, reason });
        }
        after = page.nextCursor;
      } catch {
        await sleep(500);
      }
    }
  })();

  // The fleet: streamers first, then viewers following 1–5 of them each, a fifth anonymous.
  const ids = Array.from({ length: STREAMERS }, (_, i) => `soak-${i}`);
  const streamers = ids.map((id, n) => new StreamerDriver(id, balancerOf(n), TIMING, mulberry32(SEED * 7919 + id.length * 31 + Number(id.slice(5))), loopbackAddress(128, n + 1)));
  const running = streamers.map((driver) => driver.run(endAt));
  const viewers: ViewerDriver[] = [];
  const turns = new GeneratorTurns();
  for (let i = 0; i < VIEWERS; i += 1) {
    const follows = [...new Set(Array.from({ length: 1 + Math.floor(random() * 5) }, () => ids[Math.floor(random() * ids.length)]!))];
    viewers.push(new ViewerDriver(`viewer-${i}`, balancerOf(i), follows, random() < 0.2, loopbackAddress(1, i + 1), turns));
    // 250 a second: the 10,000 of a full run connect over 40 s, not in one storm on two cores.
    if (i % 50 === 49) await sleep(200);
  }

  // Chaos, on a schedule scaled to the run: a pod SIGKILLed every 2 min (and restarted), Redis stalled
  // 2 s every 3 min, the receiver down for a minute every 10, Redis restarted empty and a rolling
  // SIGTERM of every pod every 10 (the first within the run when it is shorter), and one hostile client.
  const chaos: string[] = [];
  const at = (minutes: number): number => startedAt + minutes * 60_000;
  const every = (first: number, period: number): number[] => {
    const times: number[] = [];
    for (let t = first; t < MINUTES - 0.5; t += period) times.push(t);
    return times;
  };
  const schedule: Array<{ when: number; what: string; run: () => Promise<void> }> = [
    ...every(1, 2).map((m) => ({
      when: at(m),
      what: 'SIGKILL a pod, restart it',
      run: async () => {
        const slot = Math.floor(random() * PODS);
        const app = slots.get(slot);
        expectedExits.add(app);
        await app.kill9();
        slots.pods.delete(`pod-${slot}`);
        await sleep(3_000);
        await startPod(slot);
      },
    })),
    ...every(1.5, 3).map((m) => ({ when: at(m), what: 'stall Redis 2 s', run: () => redis.stall() })),
    ...every(Math.min(2.5, MINUTES / 2), 10).map((m) => ({
      when: at(m),
      what: 'webhook receiver down 60 s',
      run: async () => {
        receiver.answer(503);
        setTimeout(() => receiver.answer(200), 60_000).unref();
      },
    })),
    ...every(Math.min(4, MINUTES * 0.6), 10).map((m) => ({
      when: at(m),
      what: TOPOLOGY === 'single' ? 'restart Redis empty' : 'fail a Redis primary over',
      run: async () => void chaos.push(`  ${await redis.loseData(random)}`),
    })),
    ...every(Math.min(7, MINUTES * 0.8), 10).map((m) => ({
      when: at(m),
      what: 'rolling SIGTERM of every pod',
      run: async () => {
        for (let slot = 0; slot < PODS; slot += 1) {
          const app = slots.get(slot);
          expectedExits.add(app);
          await slots.sigterm(slot, 30_000);
          await startPod(slot);
          await sleep(2_000);
        }
      },
    })),
  ].sort((a, b) => a.when - b.when);
  const chaosDone = (async () => {
    for (const step of schedule) {
      await sleep(Math.max(0, step.when - Date.now()));
      log(`chaos: ${step.what}`);
      chaos.push(`${Math.round((Date.now() - startedAt) / 1000)} s: ${step.what}`);
      await step.run().catch((error: unknown) => chaos.push(`  failed: ${String(error)}`));
    }
  })();
  let hostile = true;
  const hostileDone = (async () => {
    let frames = 0;
    while (hostile) {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(`${nginx.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
        const timer = setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN) return;
          for (let i = 0; i < 20; i += 1, frames += 1) ws.send(i % 2 === 0 ? '42garbage[' : '\u0000\u00ffnot a packet');
        }, 100);
        const done = (): void => {
          clearInterval(timer);
          resolve();
        };
        ws.on('close', done);
        ws.on('error', done);
      });
      await sleep(500);
    }
    return frames;
  })();

  // Samples every 10 s: online streamers, events per second, each pod's memory; progress every 30 s,
  // with where the CPU went and how late the generator ran (cpu-split.ts).
  const samples: Sample[] = [];
  const cpu = new CpuSplit();
  const cpuWindows: CpuWindow[] = [];
  let lastLogged = 0;
  while (Date.now() < endAt) {
    await sleep(10_000);
    const rssMb: Record<string, number> = {};
    const heapMb: Record<string, number> = {};
    let online = 0;
    for (const [name, app] of slots.pods) {
      try {
        const text = await (await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
        const metric = (name_: string): number => Number(new RegExp(`^${name_}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
        rssMb[name] = metric('process_resident_memory_bytes') / 1e6;
        heapMb[name] = metric('nodejs_heap_size_used_bytes') / 1e6;
        online = metric('presence_online_streamers') || online;
      } catch {
        // Down (killed, restarting): no sample.
      }
    }
    // Some viewers drop their subscriptions and take them again, as a page that re-renders does.
    for (let i = 0; i < Math.ceil(VIEWERS / 100); i += 1) void viewers[Math.floor(random() * viewers.length)]!.resubscribe();
    const t = (Date.now() - startedAt) / 1000;
    samples.push({ t, online, eventsPerSecond: (logged.size - lastLogged) / 10, rssMb, heapMb });
    lastLogged = logged.size;
    if (samples.length % 3 === 0) {
      const away = viewers.filter((viewer) => viewer.isAway).length;
      const stuck = viewers.filter((viewer) => viewer.isAway).slice(0, 3);
      if (stuck.length > 0) log(`away, e.g.: ${stuck.map((viewer) => `${viewer.label} (${viewer.lastError ?? viewer.state}; follows ${viewer.streamerIds.join(',')})`).join('; ')}`);
      log(`${Math.round(t)} s: ${online} online, ${logged.size} transitions logged, ${receiver.acknowledged().length} webhooks acknowledged, ${away} viewers away, ${crashes.length} crashes`);
      const window = cpu.window();
      cpuWindows.push(window);
      log(describeWindow(window));
    }
  }

  // Wind down: streamers end their spans, what is due comes due, webhooks drain.
  await chaosDone;
  hostile = false;
  const hostileFrames = await hostileDone;
  await Promise.all(running);
  await sleep(TIMING.ttlMs + TIMING.graceMs + 3_000);
  receiver.answer(200);
  // One set per check: an hour's run logs ~50,000 transitions and the receiver records every attempt.
  const allAcknowledged = (): boolean => {
    const acked = new Set(receiver.acknowledged().map((d) => d.id));
    return [...logged.keys()].every((key) => acked.has(key.replace('/', ':')));
  };
  await waitUntil(allAcknowledged, 90_000, 1_000).catch(() => undefined);
  following = false;
  await follow;
  const judgedUntil = Date.now();
  // When each pod let go of each viewer and streamer socket: a starved client notices seconds later
  // (findings 22 and 24).
  const { viewers: closedAt, streamers: streamerClosedAt } = socketCloses(podRuns.flatMap(({ app }) => app.lines));
  const records = viewers.map((v) => awayFromPodSide(v.record(judgedUntil), v.socketIds.flatMap((id) => closedAt.get(id) ?? [])));
  const scripted = streamers.flatMap((s) => s.spans);
  const podClosed = cutAtPodClose(scripted, streamers.flatMap((s) => s.sessionEnds), streamerClosedAt, TIMING.graceMs);
  const cutAtClose = podClosed.flatMap((span, i) => (span.until === scripted[i]!.until ? [] : [`${span.streamerId} at ${span.until}, was ${scripted[i]!.until}`]));
  const spans = cutAtReconnects(
    podClosed,
    streamers.flatMap((s) => s.reconnects),
    streamerClosedAt,
    TIMING,
  );
  const verdict = judge(spans, records, [...logged.values()], { ttlMs: TIMING.ttlMs, slackMs: SLACK_MS }, judgedUntil);
  const acked = new Set(receiver.acknowledged().map((d) => d.id));
  const lostWebhooks = [...logged.keys()].filter((key) => !acked.has(key.replace('/', ':')));
  for (const viewer of viewers) viewer.close();
  turns.stop();
  for (const streamer of streamers) streamer.stop();
  cpu.stop();
  const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);

  // Memory after warm-up (the first fifth), per pod's latest run of at least 3 samples.
  const warm = samples.filter((s) => s.t > MINUTES * 12);
  const slopes = Object.fromEntries(
    [...new Set(warm.flatMap((s) => Object.keys(s.rssMb)))].map((pod) => [
      pod,
      { rss: slopePerMinute(warm.filter((s) => s.rssMb[pod] !== undefined).map((s) => ({ t: s.t, value: s.rssMb[pod]! }))), heap: slopePerMinute(warm.filter((s) => s.heapMb[pod] !== undefined).map((s) => ({ t: s.t, value: s.heapMb[pod]! }))) },
    ]),
  );
  const sample = (list: string[]): string => (list.length === 0 ? '0' : `${list.length} (e.g. ${list.slice(0, 2).join('; ')})`);
  const figures = table([
    { figure: 'false offline events', value: sample(verdict.falseOffline), bound: '0', ok: verdict.falseOffline.length === 0 },
    { figure: 'ghosts (online > TTL + 1 s after the end)', value: sample(verdict.ghosts), bound: '0', ok: verdict.ghosts.length === 0 },
    { figure: 'transitions lost to connected viewers', value: sample(verdict.lostToViewers), bound: '0', ok: verdict.lostToViewers.length === 0 },
    { figure: 'transitions never acknowledged by the receiver', value: sample(lostWebhooks), bound: '0', ok: lostWebhooks.length === 0 },
    { figure: 'duplicate distinct events for one version', value: sample(verdict.duplicateDistinct), bound: '0', ok: verdict.duplicateDistinct.length === 0 },
    { figure: 'ghost sightings excused: the generator read the offline late, after a stall begun in time (readFrom)', value: sample(verdict.readLate), bound: 'reported', ok: null },
    { figure: 'same-version repeats (redeliveries)', value: String(verdict.sameVersionRepeats), bound: 'reported', ok: null },
    { figure: 'same-version repeats per 30 s of the run (from 0 s)', value: perWindow(verdict.repeatTimes, startedAt, 30_000).join(', '), bound: 'reported', ok: null },
    { figure: 'process crashes besides the scheduled kills', value: sample(crashes), bound: '0', ok: crashes.length === 0 },
    { figure: 'transitions logged', value: String(logged.size), bound: '—', ok: null },
    { figure: 'live spans scripted', value: String(scripted.length), bound: '—', ok: null },
    { figure: "live spans ended at a pod's close of their socket + grace, before the driver's end (offline allowed)", value: sample(cutAtClose), bound: '—', ok: null },
    { figure: 'reconnects after the lost connection stopped keeping its streamer online (offline allowed)', value: String(spans.length - scripted.length), bound: '—', ok: null },
    { figure: "heartbeats the generator sent over a TTL late (lease lapsed: offline allowed)", value: String(streamers.reduce((n, s) => n + s.lapses, 0)), bound: '—', ok: null },
    { figure: 'garbage frames from the hostile client', value: String(hostileFrames), bound: '—', ok: null },
    {
      figure: 'CPU, mean of the 30 s windows (1.00 = one core)',
      value: `generator ${mean(cpuWindows.map((w) => w.cores.generator)).toFixed(2)}, pods ${mean(cpuWindows.map((w) => w.cores.pods)).toFixed(2)}, nginx ${mean(cpuWindows.map((w) => w.cores.nginx)).toFixed(2)}, redis ${mean(cpuWindows.map((w) => w.cores.redis)).toFixed(2)}; machine ${mean(cpuWindows.map((w) => w.machine)).toFixed(2)} of ${cpuWindows[0]?.cpus ?? '?'}`,
      bound: '—',
      ok: null,
    },
    {
      figure: "how late the generator's timers fired, worst 30 s window",
      value: `p99 ${Math.round(Math.max(0, ...cpuWindows.map((w) => w.loopDelayP99Ms)))} ms, max ${Math.round(Math.max(0, ...cpuWindows.map((w) => w.loopDelayMaxMs)))} ms`,
      bound: '—',
      ok: null,
    },
    ...Object.entries(slopes).map(([pod, slope]) => ({ figure: `${pod} memory slope after warm-up (MB/min)`, value: `RSS ${slope.rss.toFixed(2)}, heap ${slope.heap.toFixed(2)}`, bound: 'flat', ok: null })),
  ]);
  mkdirSync(OUTPUT, { recursive: true });
  writeFileSync(`${OUTPUT}soak.svg`, chartSvg(samples));
  writeFileSync(`${OUTPUT}soak.json`, JSON.stringify({ minutes: MINUTES, streamers: STREAMERS, viewers: VIEWERS, seed: SEED, chaos, verdict, lostWebhooks, crashes, slopes, samples, cpuWindows }, null, 1));
  // What the pods warned of, to explain a failure after the fact (the info lines are one per transition),
  // the steps of their recoveries (when each began and ended), and whatever they printed that is not a
  // log line (a crash's own words).
  const recoveryStep = /"msg":"(redis usable again|redis answering again|recovered from redis outage|settle waits|every live pod has re-asserted)/;
  const worthKeeping = (line: string): boolean => /"level":"(warn|error|fatal)"/.test(line) || recoveryStep.test(line) || !line.startsWith('{');
  writeFileSync(`${OUTPUT}pods.log`, podRuns.flatMap(({ label, app }) => app.lines.filter(worthKeeping).map((line) => `${label}: ${line}`)).join('\n'));
  // Each failure's own evidence, from every line the pods wrote (kept in memory by the app helper).
  // Taken in turn from each kind, so a run with thousands of one kind still keeps evidence of the others.
  const kinds = [verdict.falseOffline, verdict.ghosts, verdict.lostToViewers];
  const findings = Array.from({ length: Math.max(...kinds.map((kind) => kind.length)) }, (_, i) => kinds.flatMap((kind) => (i < kind.length ? [kind[i]!] : []))).flat();
  writeFileSync(
    `${OUTPUT}evidence.log`,
    evidence(findings, {
      viewers: viewers.map((v, i) => ({ ...records[i]!, socketIds: v.socketIds })),
      spans,
      logged: [...logged.values()],
      podLines: podRuns.map(({ label, app }) => ({ label, lines: app.lines })),
    }),
  );
  writeFileSync(`${OUTPUT}soak.md`, `${figures}\n\nChaos:\n${chaos.map((c) => `- ${c}`).join('\n')}\n`);
  log(`done\n${figures}\nchaos:\n${chaos.join('\n')}\nchart: ${OUTPUT}soak.svg${findings.length > 0 ? `; each failure's evidence: ${OUTPUT}evidence.log` : ''}`);

  expect({ falseOffline: verdict.falseOffline, ghosts: verdict.ghosts, lostToViewers: verdict.lostToViewers, lostWebhooks, duplicateDistinct: verdict.duplicateDistinct, crashes }).toEqual({
    falseOffline: [],
    ghosts: [],
    lostToViewers: [],
    lostWebhooks: [],
    duplicateDistinct: [],
    crashes: [],
  });
}, (MINUTES + 30) * 60_000);

/** How many of `times` fall in each `windowMs` from `from` on. */
function perWindow(times: readonly number[], from: number, windowMs: number): number[] {
  const counts: number[] = [];
  for (const at of times) {
    const window = Math.max(0, Math.floor((at - from) / windowMs));
    while (counts.length <= window) counts.push(0);
    counts[window]! += 1;
  }
  return counts;
}
