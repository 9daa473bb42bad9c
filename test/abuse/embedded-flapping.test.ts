// One streamer token flapping online/offline at the allowed message rate on all 10 of its connections,
// against a pod in embedded mode. In the issue's trials every offline transition was kept for 7 days:
// the 384 MB heap cap in 1–4 h. Now the in-memory transition log keeps at most EVENT_LOG_MAX_ENTRIES
// (100,000 by default; scaled down to 200 here so a few seconds of flapping wrap it several times), and
// a streamer's record and timeline are bounded by design, so memory follows the limit, not the attack.
import { useCleanup } from '../helpers/cleanup.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { type ProductionPod } from './support/production-pod.js';
import { openRawSocket, type RawSocket } from './support/raw-socket.js';
import { expectOthersServed, keepDoing, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

const LOG_ENTRIES = 200;

let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  ({ pod, control } = await startTarget({ env: { EVENT_LOG_MAX_ENTRIES: String(LOG_ENTRIES) } }));
});

interface FeedPage {
  items: unknown[];
  nextCursor: string;
}

async function feed(query: string): Promise<{ status: number; body: FeedPage }> {
  const response = await fetch(`${pod.app.url}/v1/events${query}`, {
    headers: { Authorization: `Bearer ${pod.token('operator', 'operator')}`, 'X-Forwarded-For': '198.51.100.30' },
  });
  return { status: response.status, body: (await response.json()) as FeedPage };
}

test(`heartbeat/end flapping on 10 connections of one token: the log keeps ${LOG_ENTRIES} transitions, an older cursor gets 410`, async () => {
  const token = pod.token('flapper', 'streamer');
  const first = await feed('?limit=1000');
  const startCursor = first.body.nextCursor;
  const sockets: RawSocket[] = [];
  for (let i = 0; i < 10; i += 1) {
    const socket = await openRawSocket(pod.app.port, `198.18.200.${i}`);
    socket.send(`40/streamer,${JSON.stringify({ token })}`);
    await socket.next(/^40\/streamer,\{"sid"/);
    sockets.push(socket);
  }
  let messages = 0;
  const { report } = await underAttack(pod, control, 'embedded flapping on one token', () =>
    // Each connection sends 9 messages a second (its budget is 10), alternating heartbeat and end, and
    // out of step with its neighbours, so that every message is a transition.
    keepDoing(6_000, async () => {
      sockets.forEach((socket, i) => socket.send((messages + i) % 2 === 0 ? '42/streamer,["heartbeat"]' : '42/streamer,["end"]'));
      messages += 1;
      await new Promise((resolve) => setTimeout(resolve, 111));
    }),
  );
  expectOthersServed(report);
  expect(sockets.every((socket) => !socket.frames.some((f) => f.includes('rate_limited')))).toBe(true);

  // The whole log, oldest first: at most LOG_ENTRIES, the newest of many more transitions.
  let held = 0;
  for (let cursor = ''; ; ) {
    const { status, body } = await feed(`?limit=1000${cursor === '' ? '' : `&after=${encodeURIComponent(cursor)}`}`);
    expect(status).toBe(200);
    if (body.items.length === 0) break;
    held += body.items.length;
    cursor = body.nextCursor;
  }
  expect(messages * sockets.length).toBeGreaterThan(2 * LOG_ENTRIES);
  expect(held).toBeGreaterThan(LOG_ENTRIES / 2);
  expect(held).toBeLessThanOrEqual(LOG_ENTRIES);
  // A reader that was at the start is told it missed events, rather than silently skipped past them.
  expect((await feed(`?after=${encodeURIComponent(startCursor)}`)).status).toBe(410);
  for (const socket of sockets) socket.ws.terminate();
}, 30_000);
