// Summarises a V8 .cpuprofile: where the samples' self time went, by function and by origin (a
// package in node_modules, Node's internals, the service's own dist/ code, GC, idle).

function origin(url, functionName) {
  if (functionName === '(garbage collector)') return '(garbage collector)';
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(program)') return '(program: V8/native, unattributed)';
  if (url === '') return '(native / V8 builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist) return `service dist/${dist[1].split('/').slice(0, -1).join('/') || '.'}`;
  return url.split('/').slice(-2).join('/');
}

function shortUrl(url) {
  const pkg = /node_modules\/(.+)$/.exec(url);
  if (pkg) return pkg[1];
  const dist = /\/(dist\/.+)$/.exec(url);
  if (dist) return dist[1];
  return url.replace(/^file:\/\//, '');
}

const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

/**
 * { totalMs, busyMs, byOrigin, byOriginInclusive, topFunctions }:
 * - byOrigin: self time by origin; native frames and Node's own count for the nearest package or
 *   service frame that called them, so a socket write is charged to ws, ioredis or the logger;
 * - byOriginInclusive: share of busy samples with that origin anywhere on the stack;
 * - topFunctions: self time by frame (a native frame is named with its JS caller).
 */
export function summarizeProfile(profile, top = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the gap after a sample to it.
    const us = timeDeltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, us));
  }
  const frameName = (callFrame) =>
    `${callFrame.functionName || '(anonymous)'} ${shortUrl(callFrame.url)}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`.trim();
  // The nearest caller that is neither native nor Node's own code: who asked for the write, the timer…
  const userCaller = (id) => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const { url } = byId.get(at).callFrame;
      if (url !== '' && !url.startsWith('node:')) return byId.get(at);
    }
    return null;
  };
  const functions = new Map();
  const origins = new Map();
  const inclusive = new Map();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    totalUs += us;
    if (callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    let from = origin(callFrame.url, callFrame.functionName);
    let frame = frameName(callFrame);
    if ((callFrame.url === '' || callFrame.url.startsWith('node:')) && !SPECIAL.has(callFrame.functionName)) {
      const caller = userCaller(id);
      if (caller !== null) {
        from = origin(caller.callFrame.url, caller.callFrame.functionName);
        frame = `${frame} ← ${frameName(caller.callFrame)}`;
      }
    }
    const entry = functions.get(frame) ?? { frame, origin: from, us: 0 };
    entry.us += us;
    functions.set(frame, entry);
    origins.set(from, (origins.get(from) ?? 0) + us);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node.callFrame.url === '') continue;
      seen.add(origin(node.callFrame.url, node.callFrame.functionName));
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us) => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  const list = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ origin: name, ms: Math.round(us / 1000), pctOfBusy: pct(us) }));
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    byOrigin: list(origins),
    byOriginInclusive: list(inclusive),
    topFunctions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map(({ frame, origin: from, us }) => ({ frame, origin: from, ms: Math.round(us / 1000), pctOfBusy: pct(us) })),
  };
}
