// The run's results as JSON (bench/results/<stamp>.json), as a markdown report (bench/results/latest.md),
// and in BENCHMARKS.md (the latest table, the machine, the command to reproduce).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineLine } from './machine.mjs';
import { median, ratio } from './stats.mjs';

const TARGETS = Object.freeze({
  heartbeatVsBare: 1.0,
  idleMemoryVsBare: 1.0,
  onlineP99Ms: 100,
  offlineP99Ms: 1000,
  adapterReceivedPerDelivered: 1.5,
});

const num = (value, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? '—'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (value) => (value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}×`);
const met = (ok) => (ok === null || ok === undefined ? '—' : ok ? 'yes' : '**no**');
const get = (object, path) => path.split('.').reduce((value, key) => (value === null || value === undefined ? undefined : value[key]), object);

/** The headline rows: { metric, value, baseline, ratio, target, met, unit }. */
export function headlineRows(r) {
  const rows = [];
  const add = (metric, value, baseline, unit, target = '—', ok = null, digits = 0, baselineName = '') =>
    rows.push({ metric, value, baseline, baselineName, ratio: ratio(value, baseline), unit, target, met: ok, digits });

  // Each mode against its own bare server: the median of the rounds' ratios (run interleaved).
  const rounds = get(r, 'config.hbRounds');
  // Runs from before the turns (bench/phases/throughput.mjs alternatingThroughput) ran whole windows.
  const slice = get(r, 'config.hbSliceMs');
  let hbService = get(r, 'throughput.service.medianAcksPerSecond') ?? get(r, 'throughput.service.acksPerSecond');
  for (const [mode, path, bareName] of [['Redis mode', 'throughput', 'bare Socket.IO + SET PX'], ['embedded mode', 'throughput.embedded', 'bare Socket.IO + a Map']]) {
    // The rates shown are the median round's own (of an even count, the nearer of the middle two), so
    // value ÷ baseline is the ratio beside them; each series' own median, shown before, paired rounds
    // that never ran side by side (20,804 against 19,409 beside 0.97×). Runs saved without per-round
    // ratios keep the series' medians.
    const ratios = get(r, `${path}.perRoundRatios`) ?? [];
    const hbRatio = get(r, `${path}.ratio`) ?? ratio(get(r, `${path}.service.medianAcksPerSecond`), get(r, `${path}.bare.medianAcksPerSecond`));
    const at = ratios.reduce((best, x, i) => (Math.abs(x - hbRatio) < Math.abs(ratios[best] - hbRatio) ? i : best), 0);
    const serviceRounds = get(r, `${path}.service.perRoundAcksPerSecond`);
    const bareRounds = get(r, `${path}.bare.perRoundAcksPerSecond`);
    const paired = ratios.length > 1 && serviceRounds?.length === ratios.length && bareRounds?.length === ratios.length;
    const value = paired ? serviceRounds[at] : get(r, `${path}.service.medianAcksPerSecond`);
    const baseline = paired ? bareRounds[at] : get(r, `${path}.bare.medianAcksPerSecond`);
    if (path === 'throughput' && value !== undefined) hbService = value; // the ceiling and Cluster rows compare the same figure
    rows.push({
      metric: `Heartbeat acks/s, one pod, ${mode} (closed loop, median of ${rounds} interleaved rounds${slice ? `, the two servers taking ${slice / 1000} s turns` : ''}: ${ratios.map(times).join(', ')}` +
        `${paired ? `; the rates of round ${at + 1}` : ''})`,
      value, baseline, baselineName: bareName, ratio: hbRatio, unit: '/s', target: `≥ ${TARGETS.heartbeatVsBare.toFixed(1)}× bare`,
      met: hbRatio === null || hbRatio === undefined ? null : hbRatio >= TARGETS.heartbeatVsBare, digits: 0,
    });
    add(`Pod CPU per heartbeat, ${mode}`, get(r, `${path}.service.cpuMicrosPerAck`), get(r, `${path}.bare.cpuMicrosPerAck`), 'µs', '—', null, 1, 'bare server');
  }
  add('Heartbeat acks/s, one pod, vs the Redis ceiling', hbService, get(r, 'ceiling.batchedHeartbeatsPerSecond'), '/s', '—', null, 0,
    `redis-benchmark -P 16 EVALSHA heartbeat, ${get(r, 'ceiling.batch') ?? '—'} a call`);

  const rssRatio = ratio(get(r, 'memory.service.rssPerConnection'), get(r, 'memory.bare.rssPerConnection'));
  add('Idle memory per connection, RSS', get(r, 'memory.service.rssPerConnection'), get(r, 'memory.bare.rssPerConnection'), 'B',
    `≤ ${TARGETS.idleMemoryVsBare}× bare`, rssRatio === null ? null : rssRatio <= TARGETS.idleMemoryVsBare, 0, 'bare server');
  const heapRatio = ratio(get(r, 'memory.service.heapPerConnection'), get(r, 'memory.bare.heapPerConnection'));
  add('Idle memory per connection, heap (after GC)', get(r, 'memory.service.heapPerConnection'), get(r, 'memory.bare.heapPerConnection'), 'B',
    `≤ ${TARGETS.idleMemoryVsBare}× bare`, heapRatio === null ? null : heapRatio <= TARGETS.idleMemoryVsBare, 0, 'bare server');

  // What a pod holds before any connection: the fixed part of its memory (docs/SCALING.md sizes pods with it).
  add('Idle server before its connections, RSS', get(r, 'memory.service.before.rss'), get(r, 'memory.bare.before.rss'), 'B', '—', null, 0, 'bare server');
  add('Idle server before its connections, heap (after GC)', get(r, 'memory.service.before.heapUsed'), get(r, 'memory.bare.before.heapUsed'), 'B', '—', null, 0, 'bare server');

  add('Idle CPU per connection (Socket.IO pings, timers), per second open', get(r, 'memory.service.cpu.microsPerConnectionSecond'), get(r, 'memory.bare.cpu.microsPerConnectionSecond'), 'µs', '—', null, 3, 'bare server');

  const online = get(r, 'service.online.otherPods');
  const bareLatency = get(r, 'broadcast.latency.otherPods');
  const pods = get(r, 'config.pods');
  const viewers = get(r, 'config.viewers');
  add('connect→online p50, viewers on other pods', online?.p50, bareLatency?.p50, 'ms', '—', null, 1, 'bare adapter broadcast');
  add('connect→online p99, viewers on other pods', online?.p99, bareLatency?.p99, 'ms', `≤ ${TARGETS.onlineP99Ms} ms (${num(viewers)} viewers, ${pods} pods)`,
    online?.p99 === null || online?.p99 === undefined ? null : online.p99 <= TARGETS.onlineP99Ms && (get(r, 'service.online.missing') ?? 0) === 0, 1, 'bare adapter broadcast');
  add('connect→online max, viewers on other pods', online?.max, bareLatency?.max, 'ms', '—', null, 1, 'bare adapter broadcast');

  const offline = get(r, 'service.offline.otherPods');
  add('deadline→offline p50, viewers on other pods', offline?.p50, bareLatency?.p50, 'ms', '—', null, 1, 'bare adapter broadcast');
  add('deadline→offline p99, viewers on other pods', offline?.p99, bareLatency?.p99, 'ms', `≤ ${TARGETS.offlineP99Ms} ms`,
    offline?.p99 === null || offline?.p99 === undefined ? null : offline.p99 <= TARGETS.offlineP99Ms && (get(r, 'service.offline.missing') ?? 0) === 0, 1, 'bare adapter broadcast');
  add('deadline→offline max, viewers on other pods', offline?.max, bareLatency?.max, 'ms', '—', null, 1, 'bare adapter broadcast');
  const early = get(r, 'service.offline.arrivedBeforeDeadline');
  add(`offline events before their deadline (min ${num(get(r, 'service.offline.minMsAfterDeadline'))} ms after it)`, early, null, '', '0',
    early === undefined ? null : early === 0 && get(r, 'service.offline.arrivedBeforeClientBound') === 0, 0);

  // The same loop and deliveries on a Redis Cluster (3 primaries), beside one Redis of this run.
  if (get(r, 'redisCluster') !== undefined) {
    add('Heartbeat acks/s, one pod, Redis Cluster of 3 primaries (not pinned: six Redis processes)', get(r, 'redisCluster.throughput.acksPerSecond'), hbService, '/s', '—', null, 0, 'the same pod on one Redis, pinned');
    const clusterOnline = get(r, 'redisCluster.service.online.otherPods');
    add('connect→online p99, viewers on other pods, Redis Cluster', clusterOnline?.p99, online?.p99, 'ms', `≤ ${TARGETS.onlineP99Ms} ms`,
      clusterOnline?.p99 === null || clusterOnline?.p99 === undefined ? null : clusterOnline.p99 <= TARGETS.onlineP99Ms && (get(r, 'redisCluster.service.online.missing') ?? 0) === 0, 1, 'the same pods on one Redis');
    const clusterOffline = get(r, 'redisCluster.service.offline.otherPods');
    add('deadline→offline p99, viewers on other pods, Redis Cluster', clusterOffline?.p99, get(r, 'service.offline.otherPods')?.p99, 'ms', `≤ ${TARGETS.offlineP99Ms} ms`,
      clusterOffline?.p99 === null || clusterOffline?.p99 === undefined ? null : clusterOffline.p99 <= TARGETS.offlineP99Ms && (get(r, 'redisCluster.service.offline.missing') ?? 0) === 0, 1, 'the same pods on one Redis');
  }

  // One streamer, many viewers: transition → the last viewer's delivery, against one bare broadcast.
  if (get(r, 'hot') !== undefined) {
    const hotViewers = get(r, 'hot.viewers');
    const bareLast = get(r, 'hot.bare.last');
    add(`hot streamer online → last of ${num(hotViewers)} viewers (median of ${get(r, 'hot.service.online.cycles') ?? '—'})`, get(r, 'hot.service.online.last'), bareLast, 'ms', '—', null, 1, 'bare broadcast to the room');
    add('hot streamer online → viewer p99', get(r, 'hot.service.online.p99'), get(r, 'hot.bare.p99'), 'ms', '—', null, 1, 'bare broadcast to the room');
    add('hot streamer offline (grace deadline) → last viewer', get(r, 'hot.service.offline.last'), bareLast, 'ms', '—', null, 1, 'bare broadcast to the room');
  }

  // A pod SIGKILLed with its clients: how fast the survivors take them, against a burst on bare servers.
  if (get(r, 'storm') !== undefined) {
    const clients = num((get(r, 'storm.viewers') ?? 0) + (get(r, 'storm.streamers') ?? 0));
    add(`reconnect storm: ${clients} clients of a SIGKILLed pod, 99 % back`, get(r, 'storm.service.msTo99Percent'), null, 'ms', '—', null, 0);
    add('reconnect storm: connections/s per surviving pod (clients back off; bare: all at once)', get(r, 'storm.service.acceptPerPod'), get(r, 'storm.bare.acceptPerPod'), '/s', '—', null, 0, 'bare servers, a burst of plain connections');
    const offline = get(r, 'storm.service.offlineEvents');
    add(`reconnect storm: offline events at viewers (PRESENCE_TTL_MS ${num(get(r, 'storm.ttlMs'))})`, offline, null, '', '0', offline === undefined || offline === null ? null : offline === 0, 0);
  }

  add('Redis memory per online streamer', get(r, 'memory.service.redisBytesPerConnection'), get(r, 'memory.bare.redisBytesPerConnection'), 'B', '—', null, 0, 'one SET … PX key');
  add('Redis commands per heartbeat (Lua calls included)', get(r, 'throughput.service.redis.commandsPerHeartbeat'), get(r, 'throughput.bare.redis.commandsPerHeartbeat'), '', '—', null, 2, 'SET PX');
  add('Redis top-level commands per heartbeat', get(r, 'throughput.service.redis.topLevelCommandsPerHeartbeat'), get(r, 'throughput.bare.redis.topLevelCommandsPerHeartbeat'), '', '—', null, 2, 'SET PX');
  add('Redis CPU per heartbeat', get(r, 'throughput.service.redis.redisCpuMicrosPerHeartbeat'), get(r, 'throughput.bare.redis.redisCpuMicrosPerHeartbeat'), 'µs', '—', null, 1, 'SET PX');
  // Measured with both servers connected and idle, just before the loop, and subtracted from it: the pod's own (sweeper, probes).
  add('Redis commands per second, servers idle (the pod\'s sweeper and probes)', get(r, 'throughput.service.redis.backgroundCommandsPerSecond'), null, '/s', '—', null, 0);

  const meanCores = (cpu, prefix) => {
    const cores = Object.entries(cpu ?? {}).filter(([name]) => name.startsWith(prefix)).map(([, { cores }]) => cores);
    return cores.length === 0 ? undefined : cores.reduce((a, b) => a + b, 0) / cores.length;
  };
  add('Pod CPU in the online phase, mean per pod', meanCores(get(r, 'service.cpu.online'), 'pod-'), meanCores(get(r, 'broadcast.cpu'), 'bare-broadcast-'), '', '—', null, 2, 'bare broadcast servers');
  add('Pod CPU in the offline phase, mean per pod', meanCores(get(r, 'service.cpu.offline'), 'pod-'), null, '', '—', null, 2);

  const adapter = get(r, 'service.adapter.total') ?? [];
  const worst = adapter.reduce((max, pod) => (pod.ratio !== null && (max === null || pod.ratio > max) ? pod.ratio : max), null);
  const bareAdapter = (get(r, 'broadcast.adapter') ?? []).reduce((max, pod) => (pod.ratio !== null && (max === null || pod.ratio > max) ? pod.ratio : max), null);
  add('Adapter messages received per delivery, worst pod', worst, bareAdapter, '', `≤ ${TARGETS.adapterReceivedPerDelivered}`,
    worst === null ? null : worst <= TARGETS.adapterReceivedPerDelivered, 3, 'bare adapter broadcast');
  return rows;
}

function tableMarkdown(rows) {
  const lines = ['| metric | value | baseline | ratio | target | met? |', '| --- | ---: | ---: | ---: | --- | --- |'];
  for (const row of rows) {
    const unit = row.unit ? ` ${row.unit}` : '';
    const value = row.value === undefined || row.value === null ? '—' : `${num(row.value, row.digits)}${unit}`;
    const baseline = row.baseline === undefined || row.baseline === null ? '—' : `${num(row.baseline, row.digits)}${unit} (${row.baselineName})`;
    lines.push(`| ${row.metric} | ${value} | ${baseline} | ${times(row.ratio)} | ${row.target} | ${met(row.met)} |`);
  }
  return lines.join('\n');
}

function cpuTable(r) {
  const phases = [
    ['heartbeat loop, bare (Redis)', get(r, 'throughput.bare.cpu')],
    ['heartbeat loop, service (Redis mode)', get(r, 'throughput.service.cpu')],
    ['heartbeat loop, bare (a Map)', get(r, 'throughput.embedded.bare.cpu')],
    ['heartbeat loop, service (embedded mode)', get(r, 'throughput.embedded.service.cpu')],
    ['broadcast baseline', get(r, 'broadcast.cpu')],
    ['service online phase', get(r, 'service.cpu.online')],
    ['service offline phase', get(r, 'service.cpu.offline')],
  ].filter(([, cpu]) => cpu);
  if (phases.length === 0) return '';
  const lines = ['| phase | CPU by process (1.00 = one core busy) |', '| --- | --- |'];
  for (const [phase, cpu] of phases) {
    lines.push(`| ${phase} | ${Object.entries(cpu).map(([name, { cores }]) => `${name} ${num(cores, 2)}`).join(', ')} |`);
  }
  return lines.join('\n');
}

function profileText(profile) {
  if (!profile) return '';
  const parts = [];
  for (const [name, summary] of Object.entries(profile)) {
    if (!summary) continue;
    parts.push(`**${name}** (${num(summary.acksPerSecondWhileProfiling)} acks/s while profiled; ${num(summary.busyMs)} ms busy of ${num(summary.totalMs)} ms sampled)`);
    parts.push('', 'Self time by origin (native and Node-internal frames charged to the package that called them, so a socket write counts for ws or ioredis): ' +
      summary.byOrigin.slice(0, 10).map((o) => `${o.origin} ${o.pctOfBusy}%`).join(', ') + '.', '');
    if (summary.byOriginInclusive) {
      parts.push('On the stack (inclusive): ' + summary.byOriginInclusive.filter((o) => !o.origin.startsWith('node:')).slice(0, 10).map((o) => `${o.origin} ${o.pctOfBusy}%`).join(', ') + '.', '');
    }
    parts.push('| top self-time frames | origin | % of busy |', '| --- | --- | ---: |');
    for (const frame of summary.topFunctions.slice(0, 12)) parts.push(`| \`${frame.frame}\` | ${frame.origin} | ${frame.pctOfBusy} |`);
    parts.push('');
  }
  return parts.join('\n');
}

/** Origins that take a larger share of the pod's busy time than of the bare server's. */
function profileDifferences(profile) {
  if (!profile?.service || !profile?.bare) return [];
  const bare = new Map(profile.bare.byOrigin.map((o) => [o.origin, o.pctOfBusy]));
  return profile.service.byOrigin
    .map((o) => ({ origin: o.origin, service: o.pctOfBusy, bare: bare.get(o.origin) ?? 0 }))
    .filter((o) => o.service - o.bare >= 1.5)
    .sort((a, b) => b.service - b.bare - (a.service - a.bare));
}

/** Heap kinds an idle service connection keeps more of than a bare one (bytes per connection). */
function heapDifferences(heapDiff) {
  if (!heapDiff?.service || !heapDiff?.bare) return [];
  const bare = new Map(heapDiff.bare.top.map((row) => [row.what, row]));
  return heapDiff.service.top
    .map((row) => ({ ...row, bytes: row.bytesPerConnection - (bare.get(row.what)?.bytesPerConnection ?? 0), objects: row.objectsPerConnection - (bare.get(row.what)?.objectsPerConnection ?? 0) }))
    .filter((row) => row.bytes >= 100)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
}

/** Whether a server was CPU-bound during the loop (its first CPU entry is the server). */
function boundBy(run, who) {
  const [name, { cores }] = Object.entries(run.cpu)[0];
  if (cores >= 0.9) return `${who[0].toUpperCase()}${who.slice(1)} was CPU-bound (${name} ${num(cores, 2)} core).`;
  return `${who[0].toUpperCase()}${who.slice(1)} was not CPU-bound (${num(cores, 2)} core): the generator or the machine's other load limited it, so its figure is a floor.`;
}

const cpuList = (cpu) => Object.entries(cpu).map(([n, { cores }]) => `${n} ${num(cores, 2)}`).join(', ');

/** The closing note: for each missed target, by how much, and what the run shows about why. */
function closingNotes(r, rows) {
  const notes = [];
  const pct = (value) => `${Math.round(value * 100)} %`;
  const row = (prefix) => rows.find((candidate) => candidate.metric.startsWith(prefix));
  for (const [mode, t, profile] of [['Redis mode', r.throughput, r.profile], ['embedded mode', r.throughput?.embedded, r.profileEmbedded]]) {
    const hb = row(`Heartbeat acks/s, one pod, ${mode}`);
    if (hb?.met !== false) continue;
    const service = t.service;
    const bare = t.bare;
    const diffs = profileDifferences(profile);
    const redisCpu = service.redis === null ? '' : `, and Redis ${num(service.redis.redisCpuMicrosPerHeartbeat, 1)} µs ` +
      `against ${num(bare.redis.redisCpuMicrosPerHeartbeat, 1)} µs (${num(service.redis.commandsPerHeartbeat, 2)} commands per heartbeat with the script's own calls, against ` +
      `${num(bare.redis.commandsPerHeartbeat, 2)})`;
    notes.push(`- **Heartbeat throughput, ${mode},** is ${times(hb.ratio)} the bare server's (median round; ${num(hb.value)} vs ${num(hb.baseline)} acks/s): ` +
      `${pct(1 - hb.ratio)} short of the 1.0× target. Per heartbeat the pod spends ${num(service.cpuMicrosPerAck, 1)} µs of CPU against the bare server's ` +
      `${num(bare.cpuMicrosPerAck, 1)} µs (${times(ratio(service.cpuMicrosPerAck, bare.cpuMicrosPerAck))})${redisCpu}. CPU during the loop: ${cpuList(service.cpu)} (bare: ${cpuList(bare.cpu)}). ` +
      boundBy(service, 'the pod') + ' ' + boundBy(bare, 'the bare server') +
      (diffs.length > 0 ? ` The profiles (below) show what the pod does that the bare server does not: ${diffs.map((d) => `${d.origin} ${d.service}% of busy time (bare ${d.bare}%)`).join(', ')}.` : '') +
      (profile?.service?.byOrigin?.some((o) => o.origin === 'rxjs') ? ' rxjs runs in NestJS\'s IoAdapter.bindMessageHandlers: every message goes through an Observable pipeline (fromEvent → mergeMap → defer/filter/map/catchError → takeUntil) before the gateway method.' : ''));
  }
  for (const [memoryRow, what] of [[row('Idle memory per connection, RSS'), 'RSS'], [row('Idle memory per connection, heap'), 'heap']]) {
    if (memoryRow.met === false) {
      notes.push(`- **Idle memory (${what})** is ${times(memoryRow.ratio)} the bare server's (${num(memoryRow.value)} vs ${num(memoryRow.baseline)} B per connection): ` +
        `${pct(memoryRow.ratio / TARGETS.idleMemoryVsBare - 1)} over the ${TARGETS.idleMemoryVsBare}× target, ${num(memoryRow.value - memoryRow.baseline)} B more per connection.`);
    }
  }
  const heap = heapDifferences(r.heapDiff);
  if (heap.length > 0 && [row('Idle memory per connection, RSS'), row('Idle memory per connection, heap')].some((m) => m.met === false)) {
    notes.push(`  Heap snapshots (${num(r.heapDiff.service.connections)} idle connections, after GC): the service keeps ${num(r.heapDiff.service.bytesPerConnection)} B per connection, ` +
      `the bare server ${num(r.heapDiff.bare.bytesPerConnection)} B. The largest differences per connection: ` +
      heap.map((h) => `${h.what} +${num(h.bytes)} B (+${num(h.objects, 1)} objects)`).join(', ') + '.' +
      (heap.some((h) => h.what.includes('OperatorSubscriber')) ? ' OperatorSubscriber objects are rxjs subscriptions: NestJS\'s IoAdapter.bindMessageHandlers keeps an Observable pipeline per socket and per message type (`heartbeat`, `end`) for the life of the socket, with the closures and contexts that come with it.' : ''));
  }
  const onlineRow = row('connect→online p99');
  if (onlineRow?.met === false) {
    const online = r.service.online;
    notes.push(`- **connect→online p99** is ${num(onlineRow.value, 1)} ms against ${TARGETS.onlineP99Ms} ms` +
      (onlineRow.value > TARGETS.onlineP99Ms ? ` (${num(onlineRow.value - TARGETS.onlineP99Ms, 1)} ms over)` : '') +
      (online.missing > 0 ? `; ${online.missing} expected events did not arrive` : '') +
      `. Split in two: the streamer's connect start → its \`session\` (WebSocket handshake, JWT check, connect script) p50 ${num(online.connectToSession?.p50, 1)} ms, ` +
      `p99 ${num(online.connectToSession?.p99, 1)} ms; the store's decision → arrival at viewers on other pods p50 ${num(online.decisionToArrivalOtherPods.p50, 1)} ms, ` +
      `p99 ${num(online.decisionToArrivalOtherPods.p99, 1)} ms (the bare adapter broadcast: p99 ${num(r.broadcast?.latency?.otherPods?.p99, 1)} ms). ` +
      `Per second of the connect wave (p99): ${(online.overTime ?? []).map((b) => `${num(b.p99)} ms`).join(', ')}. ` +
      `CPU during the phase: ${cpuList(r.service.cpu.online)}; the pods, generators and Redis share ${r.machine.nproc} cores.`);
  }
  const offlineRow = row('deadline→offline p99');
  if (offlineRow?.met === false) {
    const offline = r.service.offline;
    notes.push(`- **deadline→offline p99** is ${num(offlineRow.value, 1)} ms against ${TARGETS.offlineP99Ms} ms` +
      (offline.missing > 0 ? `; ${offline.missing} expected events did not arrive` : '') +
      `. CPU during the phase: ${cpuList(r.service.cpu.offline)}.`);
  }
  const earlyRow = row('offline events before');
  if (earlyRow?.met === false) {
    notes.push(`- **${r.service.offline.arrivedBeforeDeadline} offline events arrived before their deadline** (${r.service.offline.arrivedBeforeClientBound} before the ` +
      `client-side bound); the earliest ${num(r.service.offline.minMsAfterDeadline)} ms after it.`);
  }
  const adapterRow = row('Adapter messages');
  if (adapterRow?.met === false) {
    notes.push(`- **Adapter messages received per delivery** reach ${num(adapterRow.value, 3)} on the worst pod against ${TARGETS.adapterReceivedPerDelivered}: ` +
      r.service.adapter.total.map((pod) => `${pod.pod} ${pod.received} received / ${pod.delivered} delivered`).join(', ') + '.');
  }
  if (r.service && r.service.eventsPublished !== r.service.transitions) {
    notes.push(`- **Events published cluster-wide: ${r.service.eventsPublished}, for ${r.service.transitions} transitions** (one each expected).`);
  }
  // Rows missed that no note above explains (the Redis Cluster's, the storm's): at least their figure and target.
  const explained = new Set([row('Heartbeat acks/s, one pod, Redis mode'), row('Heartbeat acks/s, one pod, embedded mode'), row('Idle memory per connection, RSS'),
    row('Idle memory per connection, heap'), onlineRow, offlineRow, earlyRow, adapterRow]);
  for (const missed of rows.filter((candidate) => candidate.met === false && !explained.has(candidate))) {
    const unit = missed.unit ? ` ${missed.unit}` : '';
    notes.push(`- **${missed.metric}** is ${num(missed.value, missed.digits)}${unit} against the target ${missed.target}` +
      (missed.baseline !== null && missed.baseline !== undefined ? ` (${missed.baselineName || 'baseline'}: ${num(missed.baseline, missed.digits)}${unit})` : '') + '.');
  }
  if (notes.length === 0) notes.push('- Every target with a measured value was met.');
  return notes.join('\n');
}

function heapText(heapDiff) {
  if (!heapDiff?.service) return '';
  const lines = [`Heap growth per idle connection after GC, by kind:constructor (${num(heapDiff.service.connections)} connections each).`, '',
    '| kind:constructor | service B (objects) | bare B (objects) |', '| --- | ---: | ---: |'];
  const bare = new Map((heapDiff.bare?.top ?? []).map((row) => [row.what, row]));
  for (const row of heapDiff.service.top.slice(0, 15)) {
    const b = bare.get(row.what);
    lines.push(`| \`${row.what}\` | ${num(row.bytesPerConnection)} (${num(row.objectsPerConnection, 1)}) | ${b ? `${num(b.bytesPerConnection)} (${num(b.objectsPerConnection, 1)})` : '—'} |`);
  }
  lines.push(`| total | ${num(heapDiff.service.bytesPerConnection)} | ${num(heapDiff.bare?.bytesPerConnection)} |`);
  return lines.join('\n');
}

/** With --before-entry: connect→online and deadline→offline p99 of the two builds, round by round. */
function compareMarkdown(r) {
  const c = r.compare;
  if (!c) return [];
  const p99 = (run, path) => get(run, `${path}.otherPods.p99`);
  const rows = ['online', 'offline'].map((path) => {
    const before = c.before.map((run) => p99(run, path));
    const after = c.after.map((run) => p99(run, path));
    const [b, a] = [median(before), median(after)];
    const name = path === 'online' ? 'connect→online p99' : 'deadline→offline p99';
    return `| ${name} | ${before.map((v) => num(v, 1)).join(' / ')} ms | ${after.map((v) => num(v, 1)).join(' / ')} ms | ${b === null || a === null ? '—' : `${a - b >= 0 ? '+' : ''}${num(a - b, 1)} ms`} |`;
  });
  return [
    `## Before / after (\`--before-entry ${c.beforeEntry}\`, rounds alternating)`,
    '',
    '| metric | before, per round | after, per round | after − before (medians) |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ];
}

export function markdown(r) {
  const rows = headlineRows(r);
  const scale = r.config.small ? 'small scale' : 'full scale';
  const c = r.config;
  const parts = [
    `# Presence benchmark — ${r.startedAt} (${scale})`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    `Reproduce: \`${r.command}\` (${Math.round(r.durationSeconds)} s, build excluded).`,
    '',
    `Scale: heartbeat loop ${c.hbClients} connections × ${c.hbSeconds} s per server (${r.pinning ?? 'not pinned'}); ${num(c.idleConnections)} idle connections; ` +
      `${c.pods} pods, ${num(c.viewers)} viewers following ${c.follows} streamers each, ${num(c.streamers)} SDK streamers connecting at ${c.connectRate}/s ` +
      `then closing (grace), ${num(c.silent)} silent streamers (TTL). Delivery pods run with HEARTBEAT_INTERVAL_MS 2000, PRESENCE_TTL_MS 5000, ` +
      'RECONNECT_GRACE_MS 1000; the heartbeat and memory pod with the service defaults. All processes share this machine\'s cores; the CPU split is below.' +
      (c.podNodeArgs ? ` Every service pod ran with \`node ${c.podNodeArgs}\` (the baselines without).` : ''),
    '',
    tableMarkdown(rows),
    '',
    ...compareMarkdown(r),
    '## CPU split',
    '',
    cpuTable(r),
    '',
    '## Closing note',
    '',
    closingNotes(r, rows),
  ];
  if (r.service?.online) {
    const o = r.service.online;
    const f = r.service.offline;
    parts.push('', '## Details', '',
      `- connect→online, viewers on the streamer's own pod: p50 ${num(o.samePod.p50, 1)} ms, p99 ${num(o.samePod.p99, 1)} ms; store decision→arrival at other pods p50 ${num(o.decisionToArrivalOtherPods.p50, 1)} ms, p99 ${num(o.decisionToArrivalOtherPods.p99, 1)} ms; ` +
        `streamer connect start→\`session\` p50 ${num(o.connectToSession?.p50, 1)} ms, p99 ${num(o.connectToSession?.p99, 1)} ms.`,
      `- online events received ${num(o.received.otherPods + o.received.samePod)} of ${num(o.expected.otherPods + o.expected.samePod)} expected; offline ${num(f.received)} of ${num(f.expected.otherPods + f.expected.samePod)} (${Object.entries(f.reasons).map(([k, v]) => `${k} ${v}`).join(', ')}).`,
      `- deadline→offline at all viewers: p50 ${num(f.allViewers.p50, 1)} ms, p99 ${num(f.allViewers.p99, 1)} ms, max ${num(f.allViewers.max, 1)} ms; earliest ${num(f.minMsAfterDeadline)} ms after the store's deadline, ${num(f.minMsAfterClientBound)} ms after the client-side bound.`,
      `- adapter per pod (online + offline phases): ${r.service.adapter.total.map((p) => `${p.pod} ${p.received} received / ${p.delivered} delivered (${p.published} published)`).join('; ')}.`,
      ...offlineStagesText('one Redis', f),
      ...offlineStagesText('Redis Cluster', r.redisCluster?.service?.offline),
      `- events published cluster-wide: ${num(r.service.eventsPublished)} for ${num(r.service.transitions)} transitions.`,
      `- Redis memory per online streamer measured on the ${c.pods}-pod cluster too: ${num(r.service.redisBytesPerOnlineStreamer)} B.`);
  }
  if (r.ceiling) parts.push(`- Redis ceiling: \`${r.ceiling.command}\` → ${num(r.ceiling.heartbeatScriptsPerSecond)} heartbeat scripts/s of one heartbeat; ${num(r.ceiling.batchedHeartbeatsPerSecond)} heartbeats/s in calls of ${r.ceiling.batch}; SET … PX → ${num(r.ceiling.setPxPerSecond)}/s.`);
  if (r.profile) parts.push('', '## CPU profiles under the heartbeat loop, Redis mode', '', profileText(r.profile));
  if (r.profileEmbedded) parts.push('', '## CPU profiles under the heartbeat loop, embedded mode', '', profileText(r.profileEmbedded));
  if (r.heapDiff) parts.push('', '## What an idle connection keeps', '', heapText(r.heapDiff));
  if (r.errors?.length) parts.push('', '## Errors', '', ...r.errors.map((e) => `- ${e}`));
  return `${parts.join('\n')}\n`;
}

const STAGE_NAMES = {
  sweep: 'deadline→log (the sweeper)',
  fanout: 'log→emit at a viewer socket (relay, adapter)',
  expireCall: 'each expire-due store call (the due-ids read of every tick, each shard\'s expiry)',
};

/** The offline phase split by stage, from the pods' histograms (share of events at or under each bound). */
function offlineStagesText(label, offline) {
  if (offline?.stages === undefined) return [];
  const stages = Object.entries(offline.stages).map(([stage, { shares }]) =>
    `${STAGE_NAMES[stage] ?? stage}: ${Object.entries(shares).filter(([, share]) => share !== null && share < 1).map(([le, share]) => `${le} ${num(share * 100, 1)} %`).join(', ')}`);
  const loops = Object.entries(offline.loopDelayMs ?? {}).map(([pod, d]) => `${pod} ${num(d.p99, 1)} / ${num(d.max, 1)} ms`).join(', ');
  return [`- offline stages, ${label}: ${stages.join('; ')}; the pods' event-loop delay over the phase (p99 / max): ${loops}.`];
}

export function writeReports(r, { resultsDir, stamp, benchmarksFile, updateDoc }) {
  mkdirSync(resultsDir, { recursive: true });
  const jsonFile = join(resultsDir, `${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify({ ...r, headline: headlineRows(r) }, null, 2)}\n`);
  const md = markdown(r);
  writeFileSync(join(resultsDir, 'latest.md'), md);
  if (updateDoc) {
    writeFileSync(benchmarksFile, [
      '# Benchmarks',
      '',
      '`npm run bench` builds the service, starts its own Redis, pods and baseline servers on free loopback ports, drives',
      'them with the SDK and plain Socket.IO clients, and writes `bench/results/<timestamp>.json` and `bench/results/latest.md`.',
      'It stops by itself (every phase has a timeout; Ctrl-C kills every process it started). `npm run bench -- --small` is',
      'a light run for development; `npm run bench -- --help` lists every setting (each also an env variable).',
      'What each figure means and how it is measured: `bench/README.md`.',
      '',
      '## Latest run',
      '',
      md.replace(/^# /, '### ').replace(/^## /gm, '#### '),
    ].join('\n'));
  }
  return { jsonFile, mdFile: join(resultsDir, 'latest.md') };
}

// `node bench/report.mjs bench/results/<stamp>.json [--no-doc]`: renders latest.md (and BENCHMARKS.md) again
// from a saved run, e.g. after a change to this file.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/report.mjs bench/results/<stamp>.json [--no-doc]\n');
    process.exit(2);
  }
  const { headline, ...saved } = JSON.parse(readFileSync(file, 'utf8'));
  const out = writeReports(saved, {
    resultsDir: dirname(file),
    stamp: basename(file, '.json'),
    benchmarksFile: fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url)),
    updateDoc: !process.argv.includes('--no-doc'),
  });
  process.stderr.write(`rendered ${out.mdFile}\n`);
}
