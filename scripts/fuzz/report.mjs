// What the run prints: the progress line every few seconds, the summary, and last the `fuzz-result {json}`
// line that scripts read (its first fields are the ones asked for; the rest help a reader of the JSON alone).
import { Counter } from './stats.mjs';

export const round1 = (x) => (x === null ? null : Math.round(x * 10) / 10);

/** Nearest-rank percentile; null for no values. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const list = (counter, n = 8) => counter.top(n).map(([key, count]) => `${key} × ${count}`).join(', ') || '-';

function outcomeTable(map, title) {
  const rows = [...map.entries()].sort((a, b) => (b[1].get('sent') ?? 0) - (a[1].get('sent') ?? 0));
  const lines = [`  ${title}`];
  const width = Math.max(...rows.map(([key]) => key.length), 10);
  for (const [key, counter] of rows) {
    const answers = new Counter([...counter.entries()].filter(([what]) => what !== 'sent'));
    lines.push(`    ${key.padEnd(width)} ${String(counter.get('sent') ?? 0).padStart(7)} sent → ${list(answers, 6)}`);
  }
  return lines.join('\n');
}

/** `'<route> <status>'` counts, one line per route, busiest first. */
function byRoute(counter) {
  const routes = new Map();
  for (const [key, count] of counter) {
    const [route, status] = key.split(' ');
    if (!routes.has(route)) routes.set(route, new Counter());
    routes.get(route).add(status, count);
  }
  return [...routes].sort((a, b) => b[1].total() - a[1].total()).map(([route, statuses]) => `    ${route.padEnd(10)} ${list(statuses, 10)}`);
}

const samples = (map) => [...map].map(([text, n]) => `\n    ×${n} ${text}`).join('');

export function startLines(options, pinning) {
  return [
    `fuzz: seed ${options.seed} (replay with --seed ${options.seed}), ${options.seconds} s, ${options.connections} WebSockets + ${options.pollingSessions} polling + ${options.httpClients} HTTP clients, ${options.redisUrl === null ? 'embedded' : `Redis ${options.redisUrl}`}`,
    `fuzz: ${pinning.note}`,
  ].join('\n');
}

/** The control's p99 over its last 200 acks: how the pod answers now, not on average. */
export function progressLine({ stats, control, peaks, crashes }) {
  const rtts = control.rtts.fuzz;
  return `${stats.framesSent} frames, ${stats.httpRequests} HTTP, server closed ${stats.serverClosed}; control p99 ${round1(percentile(rtts.slice(-200), 0.99))} ms, failures ${control.failures.total()}; RSS ${round1(peaks.lastRssMb)} MB, heap ${round1(peaks.lastHeapMb)} MB; crashes ${crashes.length}`;
}

/** Prints the summary and the `fuzz-result` line; returns the result. */
export function report({ options, pinning, stats, control, logs, crashes, peaks, wallSeconds, cpu }) {
  const rtts = control.rtts.fuzz;
  const result = {
    seconds: round1(wallSeconds),
    seed: options.seed,
    connections: options.connections,
    framesSent: stats.framesSent,
    serverClosedConnections: stats.serverClosed,
    crashes: crashes.length,
    controlAcks: rtts.length,
    controlAckFailures: control.failures.total(),
    controlP50Ms: round1(percentile(rtts, 0.5)),
    controlP99Ms: round1(percentile(rtts, 0.99)),
    controlMaxMs: round1(rtts.length === 0 ? null : rtts.reduce((a, b) => Math.max(a, b))),
    peakRssMb: round1(peaks.rssMb),
    peakHeapUsedMb: round1(peaks.heapUsedMb),
    errorLogLines: logs.errorLines,
    mode: options.redisUrl === null ? 'embedded' : 'redis',
    controlLost: control.lost.length,
    controlViewerEvents: control.viewerEvents,
    pollingSessions: options.pollingSessions,
    httpClients: options.httpClients,
    httpRequests: stats.httpRequests,
  };
  const baseline = control.rtts.baseline;
  const out = [
    '',
    `== fuzz summary: ${result.seconds} s, seed ${options.seed}, ${result.mode} mode ==`,
    `clients: ${options.connections} WebSockets, ${options.pollingSessions} polling sessions, ${options.httpClients} raw HTTP clients; ${pinning.note}`,
    `sent: ${stats.framesSent} frames (${stats.wsFrames} over WebSocket, ${stats.pollingFrames} over polling; ${(stats.bytesSent / 2 ** 20).toFixed(1)} MiB), ${stats.httpRequests} HTTP requests; ${Math.round(stats.framesSent / wallSeconds)} frames/s; skipped beats (send buffer full): ${stats.backoffs}`,
    `connections: ${stats.wsOpened} WebSockets and ${stats.pollingOpened} polling sessions opened (${list(stats.sessions)}); the server closed ${stats.serverClosed}`,
    `  closes: ${list(stats.closes, 10)}`,
    `  refused handshakes: ${list(stats.handshakeFailures)}`,
    `server frames received: ${list(stats.replies, 14)}`,
    `polling POSTs: ${list(stats.pollingPosts)}`,
    'HTTP answers by route:',
    ...byRoute(stats.http),
    '',
    'what each kind of frame got back (acks matched by id; CONNECT answers in order; "closed": the connection was closed and this was its last frame):',
    outcomeTable(stats.byKind, 'by frame kind'),
    outcomeTable(stats.byHostile, 'by hostile value put in a well-formed frame'),
    '',
    'pod log lines (structured), with the distinct sockets they name:',
    ...logs.tally.top(16).map(([key, count]) => `    ${String(count).padStart(7)} × ${key}${logs.sockets.has(key) ? ` (${logs.sockets.get(key).size} sockets)` : ''}`),
    `error-level log lines: ${logs.errorLines}${samples(logs.errorSamples)}`,
    `other (non-JSON) output lines: ${logs.plainLines}${samples(logs.plainSamples)}`,
    '',
    `control streamer: ${rtts.length} acks, p50 ${result.controlP50Ms} ms, p99 ${result.controlP99Ms} ms, max ${result.controlMaxMs} ms` +
      ` (before fuzzing: p50 ${round1(percentile(baseline, 0.5))} ms, p99 ${round1(percentile(baseline, 0.99))} ms over ${baseline.length} acks)`,
    `  failures: ${result.controlAckFailures}${result.controlAckFailures > 0 ? ` (${list(control.failures)})` : ''}; lost connection: ${control.lost.length}${control.lost.length > 0 ? ` (${control.lost.join(', ')})` : ''}`,
    `control viewer: ${control.viewerEvents} presence events; meta event delivery p50 ${round1(percentile(control.metaLatencies, 0.5))} ms, p99 ${round1(percentile(control.metaLatencies, 0.99))} ms`,
    `CPU while fuzzing: pod ${cpu.pod === null ? '?' : `${Math.round(cpu.pod * 100)} %`} of a core, fuzzer ${Math.round(cpu.fuzzer * 100)} %;` +
      ` fuzzer event-loop delay p99 ${round1(cpu.loopP99Ms)} ms, max ${round1(cpu.loopMaxMs)} ms` +
      (cpu.loopMaxMs > 1_000 ? ' (the fuzzer itself stalled: its readers may have looked slow to the pod)' : ''),
    `pod: peak RSS ${result.peakRssMb} MB (last ${round1(peaks.lastRssMb)}), peak V8 heap used ${result.peakHeapUsedMb} MB (last ${round1(peaks.lastHeapMb)}; ${peaks.heapMisses} /metrics samples missed)`,
    `crashes: ${crashes.length}`,
    ...crashes.map((crash) => `  at ${crash.at} s: ${crash.what}${crash.signs.length > 0 ? `\n    signs: ${crash.signs.join('\n    ')}` : ''}\n    last lines:\n      ${crash.tail.join('\n      ')}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(`fuzz-result ${JSON.stringify(result)}\n`);
  return result;
}
