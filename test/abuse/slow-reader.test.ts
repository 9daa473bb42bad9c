// Viewers that subscribe to 100 streamers and then stop reading, while those streamers all change their
// meta at the allowed rate (900 events a second of about 1 KiB): the pod must not keep every event for
// them. Once more than 1000 packets wait for a stuck socket its connection is cut, once, with one log
// line and its backlog discarded (a WebSocket whose TCP reads stopped; a long poll that never comes
// back). A control viewer on the same streamers gets every event meanwhile.
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { useCleanup } from '../helpers/cleanup.js';
import { watch } from '../helpers/presence-clients.js';
import { waitUntil } from '../helpers/timing.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { rssMbNow } from './support/pod-watch.js';
import { from, type ProductionPod } from './support/production-pod.js';
import { openRawSocket, type RawSocket } from './support/raw-socket.js';
import { expectOthersServed, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

const SOURCES = 100;
/** What a stuck socket may add to the pod's resident memory: its 1000 packets and the kernel's buffers. */
const GROWTH_BOUND_MB = 64;

let pod: ProductionPod;
let control: ControlStreamer;
let sources: RawSocket[];
const ids = Array.from({ length: SOURCES }, (_, i) => `storm-${i}`);
beforeAll(async () => {
  ({ pod, control } = await startTarget());
  sources = [];
  for (const [i, id] of ids.entries()) {
    const socket = await openRawSocket(pod.app.port, `198.18.70.${i}`);
    socket.send(`40/streamer,${JSON.stringify({ token: pod.token(id, 'streamer') })}`);
    await socket.next(/^40\/streamer,\{"sid"/);
    sources.push(socket);
  }
}, 60_000);

let sent = 0;
/**
 * Every source changes its meta 9 times a second (its budget is 10), each ~1 KiB, until `done()` or
 * 30 s: a tenth of them every 11 ms, as independent clients would, rather than all in one burst.
 */
async function metaStorm(done: () => boolean): Promise<void> {
  const padding = 'x'.repeat(900);
  const until = Date.now() + 30_000;
  for (let tick = 0; !done() && Date.now() < until; tick += 1) {
    for (const socket of sources.filter((_, i) => i % 10 === tick % 10)) {
      socket.send(`42/streamer,["heartbeat",{"meta":{"n":${++sent},"padding":"${padding}"}}]`);
    }
    await new Promise((resolve) => setTimeout(resolve, 11));
  }
}

const cutsOf = (socketId: string): number => pod.app.lines.filter((line) => line.includes('slow reader cut') && line.includes(socketId)).length;

test('a WebSocket viewer that stops reading is cut once 1000 packets wait for it; a control viewer gets every event', async () => {
  const watcher = await watch(pod.app.url, ids);
  const stuck = await openRawSocket(pod.app.port, '198.51.100.80', { silent: true });
  stuck.send('40/viewer,');
  const socketId = JSON.parse((await stuck.next(/^40\/viewer,\{"sid"/)).slice('40/viewer,'.length)).sid as string;
  stuck.send(`42/viewer,1${JSON.stringify(['subscribe', { streamerIds: ids }])}`);
  await stuck.next(/^43\/viewer,1/);
  (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const rssBefore = rssMbNow(pod.app.pid);
  const first = sent;

  const { report } = await underAttack(pod, control, 'stuck WebSocket viewer in a meta storm', () => metaStorm(() => cutsOf(socketId) > 0));
  expectOthersServed(report);
  expect(cutsOf(socketId)).toBe(1);
  expect(report.pod.rssMb - rssBefore).toBeLessThan(GROWTH_BOUND_MB);
  // The control viewer, reading normally, got every meta change.
  const metas = (): number => watcher.events.payloads().filter((e: PresenceEvent) => e.reason === 'meta' && Number(e.meta?.n) > first).length;
  await waitUntil(() => metas() >= sent - first, 15_000, 50);
  stuck.ws.terminate();
  watcher.socket.close();
}, 60_000);

test('a long-polling viewer that stops polling is cut once, its session gone at once, with one log line', async () => {
  const base = `${pod.app.url}/socket.io/?EIO=4&transport=polling`;
  const headers = from('198.51.100.81');
  const sid = /"sid":"([^"]+)"/.exec(await (await fetch(base, { headers })).text())![1]!;
  const session = `${base}&sid=${sid}`;
  await fetch(session, { method: 'POST', body: '40/viewer,', headers });
  const socketId = /"sid":"([^"]+)"/.exec(await (await fetch(session, { headers })).text())![1]!;
  await fetch(session, { method: 'POST', body: `42/viewer,1${JSON.stringify(['subscribe', { streamerIds: ids }])}`, headers });
  expect(await (await fetch(session, { headers })).text()).toContain('43/viewer,1');
  const rssBefore = rssMbNow(pod.app.pid);

  // It never polls again; the storm goes on past the cut, so a second line would show, and for 5 s: the
  // control then has 200-odd acks, so its p99 is not simply the slowest one (95 acks made it the max).
  let cutAt = Infinity;
  const { report } = await underAttack(pod, control, 'long-polling viewer that stopped polling, in a meta storm', () =>
    metaStorm(() => {
      if (cutAt === Infinity && cutsOf(socketId) > 0) cutAt = Date.now();
      return Date.now() > cutAt + 5_000;
    }),
  );
  expectOthersServed(report);
  expect(cutsOf(socketId)).toBe(1);
  expect(report.pod.rssMb - rssBefore).toBeLessThan(GROWTH_BOUND_MB);
  expect((await fetch(session, { headers })).status).toBe(400); // gone, not waiting for a poll to flush to
}, 60_000);
