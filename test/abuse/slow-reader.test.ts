// A viewer that subscribes and then stops reading, while the streamer it follows changes meta as fast
// as it can: the pod must not keep every event for it. Once more than 1000 packets wait for the stuck
// socket its connection is cut; a control viewer on the same streamer gets everything meanwhile, and
// the pod's memory stays bounded.
import type { Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, keepBeating, streamer, watch } from '../helpers/presence-clients.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/timing.js';

useCleanup();

let app: AppProcess;
beforeAll(async () => {
  // No message budget, so one streamer can produce events as fast as the pod takes them; and Socket.IO
  // pings as in production (25 s), so that it is the slow-reader cut, not a missed pong, that ends the
  // stuck socket even on a slow machine.
  app = await startApp({ env: { ...FAST_TIMING, LB_IDLE_TIMEOUT_MS: '60000', MESSAGE_RATE_LIMIT: '0' } });
});

const rss = async (): Promise<number> => valueOf(parsePrometheus(await (await fetch(`${app.url}/metrics`)).text()), 'process_resident_memory_bytes');

/** Meta changes of about 1 KiB each, as fast as the pod acks them, until `done()` (or 30,000); returns how many. */
async function metaStorm(source: Socket, done: () => boolean): Promise<number> {
  const padding = 'x'.repeat(900);
  let sent = 0;
  while (!done() && sent < 30_000) {
    const batch = Array.from({ length: 50 }, () => source.timeout(10_000).emitWithAck('heartbeat', { meta: { n: ++sent, padding } }));
    await Promise.all(batch);
  }
  return sent;
}

/** A raw /viewer socket subscribed to `id` that then stops reading (its TCP socket paused). */
async function stuckViewer(id: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${app.port}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  ws.on('error', () => undefined);
  await waitUntil(() => frames.some((f) => f.startsWith('0{')), 5_000, 10);
  ws.send('40/viewer,');
  await waitUntil(() => frames.some((f) => f.startsWith('40/viewer,')), 5_000, 10);
  ws.send(`42/viewer,1${JSON.stringify(['subscribe', { streamerIds: [id] }])}`);
  await waitUntil(() => frames.some((f) => f.startsWith('43/viewer,1')), 5_000, 10);
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return ws;
}

test('a viewer that stops reading is cut once 1000 packets wait for it; a control viewer gets every event; memory stays bounded', async () => {
  const id = 'abuse-meta-storm';
  const source = await streamer(app.url, id);
  const stop = keepBeating(source);
  const control = await watch(app.url, [id]);
  const stuck = await stuckViewer(id);
  const rssBefore = await rss();

  const cutLine = () => app.lines.some((line) => line.includes('slow reader cut'));
  const sent = await metaStorm(source, cutLine);
  stop();
  expect(cutLine()).toBe(true);

  // The control viewer, reading normally, got every meta change, in order.
  await waitUntil(() => control.events.payloads().filter((e) => e.reason === 'meta').length >= sent, 15_000, 50);
  const metas = control.events.payloads().filter((e) => e.reason === 'meta').map((e) => Number(e.meta?.n));
  expect(metas.slice(-5)).toEqual([sent - 4, sent - 3, sent - 2, sent - 1, sent]);
  // A stuck socket holds at most its cut-off's worth of packets, not the whole storm.
  const grown = (await rss()) - rssBefore;
  console.log(`slow reader: cut after ${sent} events of ~1 KiB; pod RSS grew ${Math.round(grown / 1e6)} MB`);
  expect(grown).toBeLessThan(Math.max(64e6, sent * 1_000));
  stuck.terminate();
  source.close();
}, 90_000);

test('a long-polling viewer that stops polling is cut once, its session gone at once, with one log line', async () => {
  const id = 'abuse-stuck-poller';
  const source = await streamer(app.url, id);
  const stop = keepBeating(source);
  const base = `${app.url}/socket.io/?EIO=4&transport=polling`;
  const sid = /"sid":"([^"]+)"/.exec(await (await fetch(base)).text())![1]!;
  const session = `${base}&sid=${sid}`;
  await fetch(session, { method: 'POST', body: '40/viewer,' });
  const socketId = /"sid":"([^"]+)"/.exec(await (await fetch(session)).text())![1]!;
  await fetch(session, { method: 'POST', body: `42/viewer,1${JSON.stringify(['subscribe', { streamerIds: [id] }])}` });
  expect(await (await fetch(session)).text()).toContain('43/viewer,1');
  // It never polls again.
  const cuts = () => app.lines.filter((line) => line.includes('slow reader cut') && line.includes(socketId)).length;
  await metaStorm(source, () => cuts() > 0);
  await metaStorm(source, (() => {
    const until = Date.now() + 1_000; // events keep coming for it a while: no second line
    return () => Date.now() > until;
  })());
  stop();
  expect(cuts()).toBe(1);
  expect((await fetch(session)).status).toBe(400); // the session is gone, not waiting for a poll to flush to
  source.close();
}, 90_000);
