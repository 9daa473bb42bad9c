// The Chrome DevTools Protocol of a Node server started with --inspect=127.0.0.1:<port>: used to
// collect garbage and read process.memoryUsage() the same way in the service and the baseline (so
// heap figures compare), and to take a CPU profile of a pod during the heartbeat phase.
import WebSocket from 'ws';

async function session(inspectPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`, { signal: AbortSignal.timeout(5_000) })).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map();
  const listeners = new Map();
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (message.method !== undefined) {
      listeners.get(message.method)?.(message.params);
      return;
    }
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  return {
    on(method, listener) {
      listeners.set(method, listener);
    },
    send(method, params = {}, timeoutMs = 60_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`inspector: ${method} timed out`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close() {
      ws.close();
    },
  };
}

/** Full GC (twice, so weak and finalized objects go too), then process.memoryUsage() of the server. */
export async function gcAndMemoryUsage(server) {
  const cdp = await session(server.inspectPort);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
    const { result } = await cdp.send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    return JSON.parse(result.value);
  } finally {
    cdp.close();
  }
}

/** Starts the V8 sampling profiler in the server; `stop()` resolves with the .cpuprofile object. */
export async function startCpuProfile(server, samplingIntervalUs = 500) {
  const cdp = await session(server.inspectPort);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await cdp.send('Profiler.start');
  return {
    async stop() {
      try {
        const { profile } = await cdp.send('Profiler.stop');
        await cdp.send('Profiler.disable');
        return profile;
      } finally {
        cdp.close();
      }
    },
  };
}

/**
 * A heap snapshot (after a full GC), reduced to self size and count per constructor / kind:
 * Map 'kind:name' → { count, bytes }.
 */
export async function heapByConstructor(server) {
  const cdp = await session(server.inspectPort);
  try {
    const chunks = [];
    cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => chunks.push(chunk));
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false }, 300_000);
    const snapshot = JSON.parse(chunks.join(''));
    chunks.length = 0;
    const fields = snapshot.snapshot.meta.node_fields;
    const types = snapshot.snapshot.meta.node_types[0];
    const width = fields.length;
    const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
    const { nodes, strings } = snapshot;
    const byName = new Map();
    for (let i = 0; i < nodes.length; i += width) {
      const kind = types[nodes[i + typeAt]];
      // Strings and numbers are grouped by kind only: their "name" is their content.
      const name = kind === 'string' || kind === 'number' || kind === 'concatenated string' || kind === 'sliced string' ? '' : strings[nodes[i + nameAt]];
      const key = `${kind}:${name.length > 80 ? `${name.slice(0, 77)}...` : name}`;
      const entry = byName.get(key) ?? { count: 0, bytes: 0 };
      entry.count++;
      entry.bytes += nodes[i + sizeAt];
      byName.set(key, entry);
    }
    return byName;
  } finally {
    cdp.close();
  }
}
