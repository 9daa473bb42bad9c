// 16 clients of one attacker listing 1000 online streamers as fast as they can: in the issue's trials
// the pod sat at 100 % CPU and refused nothing. Now the listing is answered 429 rate_limited past 50
// requests a second from the address, and listings are served one at a time, each in its own turn of
// the event loop.
import { useCleanup } from '../helpers/cleanup.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/timing.js';
import { CONTROL_STREAMERS, type ControlStreamer } from './support/control-streamer.js';
import { ATTACKER, from, type ProductionPod } from './support/production-pod.js';
import { openRawSocket, type RawSocket } from './support/raw-socket.js';
import { expectOthersServed, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

const ONLINE = 1_000;

let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  ({ pod, control } = await startTarget());
});

test(`16 clients listing ${ONLINE} online streamers in a loop: 429 past the address's rate; others served`, async () => {
  const streamers: RawSocket[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < ONLINE) {
        const n = next++;
        const socket = await openRawSocket(pod.app.port, `198.19.${n >> 8}.${n & 255}`);
        socket.send(`40/streamer,${JSON.stringify({ token: pod.token(`listed-${n}`, 'streamer') })}`);
        await socket.next(/^40\/streamer,\{"sid"/);
        streamers.push(socket);
      }
    }),
  );
  const listing = await fetch(`${pod.app.url}/v1/streamers?status=online&limit=1000`, { headers: from('198.51.100.20') });
  expect(((await listing.json()) as { items: unknown[] }).items.length).toBe(ONLINE);

  const statuses: number[] = [];
  const { report } = await underAttack(pod, control, `listing flood (${ONLINE} online)`, async () => {
    const until = Date.now() + 5_000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const response = await fetch(`${pod.app.url}/v1/streamers?status=online&limit=1000`, { headers: from(ATTACKER) });
          await response.arrayBuffer();
          statuses.push(response.status);
        }
      }),
    );
  });
  expectOthersServed(report);
  const served = statuses.filter((s) => s === 200).length;
  expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
  // 50 a second, bursts of 100: at most 100 + 5 × 50 listings in 5 s (a little slack for the clock).
  expect(served).toBeLessThanOrEqual(100 + 5 * 50 + 10);
  expect(statuses.length - served).toBeGreaterThan(served);
  for (const socket of streamers) socket.ws.terminate();
  await waitUntil(async () => valueOf(parsePrometheus(await (await fetch(`${pod.app.url}/metrics`)).text()), 'presence_connections', { namespace: '/streamer' }) <= CONTROL_STREAMERS, 10_000, 100);
}, 60_000);
