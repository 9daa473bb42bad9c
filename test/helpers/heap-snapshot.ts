import WebSocket from 'ws';

/**
 * Objects of each of `constructors` in the heap of a Node process started with
 * `--inspect=127.0.0.1:<inspectPort>`, after a full GC: a heap snapshot taken through the DevTools
 * protocol, counted by the constructor name V8 records for each object.
 */
export async function countHeapObjects(inspectPort: number, constructors: readonly string[]): Promise<Record<string, number>> {
  const chunks: string[] = [];
  await withInspector(inspectPort, async (send, onEvent) => {
    onEvent('HeapProfiler.addHeapSnapshotChunk', (params) => chunks.push(params.chunk as string));
    await send('HeapProfiler.collectGarbage');
    await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  });
  const snapshot = JSON.parse(chunks.join('')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const objectType = snapshot.snapshot.meta.node_types[0].indexOf('object');
  const counts: Record<string, number> = Object.fromEntries(constructors.map((name) => [name, 0]));
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    if (snapshot.nodes[i + typeAt] !== objectType) continue;
    const name = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    if (name in counts) counts[name]! += 1;
  }
  return counts;
}

/** Bytes of the V8 heap in use in the process after a full GC (`--inspect=127.0.0.1:<inspectPort>`). */
export async function heapUsedAfterGc(inspectPort: number): Promise<number> {
  return withInspector(inspectPort, async (send) => {
    await send('HeapProfiler.collectGarbage');
    const usage = await send('Runtime.getHeapUsage');
    return usage.usedSize as number;
  });
}

type Send = (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;
type OnEvent = (method: string, listener: (params: Record<string, unknown>) => void) => void;

/** Runs `session` on a DevTools protocol connection to the process's first target, then closes it. */
async function withInspector<T>(inspectPort: number, session: (send: Send, onEvent: OnEvent) => Promise<T>): Promise<T> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  const listeners = new Map<string, (params: Record<string, unknown>) => void>();
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown> };
    if (message.method !== undefined) listeners.get(message.method)?.(message.params ?? {});
    else if (message.id !== undefined) pending.get(message.id)?.(message.result ?? {});
  });
  let nextId = 1;
  const send: Send = (method, params = {}) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    return await session(send, (method, listener) => listeners.set(method, listener));
  } finally {
    ws.close();
  }
}
