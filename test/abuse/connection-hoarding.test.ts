// One address opening connections and keeping them, as fast as the handshake rate lets it: at 20 a
// second it would fill a pod's MAX_CONNECTIONS within the hour. Now it holds at most
// CONNECTIONS_PER_ADDRESS open connections on a pod (1000 by default; scaled down to 100 here), and each
// handshake past that is answered HTTP 429 `too_many_connections`; a closed one frees a place.
import { useCleanup } from '../helpers/cleanup.js';
import { rawHandshake } from '../helpers/raw-handshake.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { ATTACKER, from, type ProductionPod } from './support/production-pod.js';
import { HandshakeRefused, openRawSocket, type RawSocket } from './support/raw-socket.js';
import { expectOthersServed, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

const PER_ADDRESS = 100;

let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  ({ pod, control } = await startTarget({ env: { CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS) } }));
});

test(`one address keeping every connection it opens: ${PER_ADDRESS} at most, then 429 too_many_connections`, async () => {
  const held: RawSocket[] = [];
  const refusals: number[] = [];
  const { report } = await underAttack(pod, control, 'connection hoarding from one address', async () => {
    const until = Date.now() + 7_000;
    while (Date.now() < until) {
      try {
        // Each joins /viewer, as a client would, so no connect timeout closes it.
        const socket = await openRawSocket(pod.app.port, ATTACKER);
        socket.send('40/viewer,');
        await socket.next(/^40\/viewer,\{"sid"/);
        held.push(socket);
      } catch (err) {
        if (!(err instanceof HandshakeRefused)) throw err;
        refusals.push(err.status);
        await sleep(20);
      }
    }
  });
  expectOthersServed(report);
  expect(held.filter((socket) => !socket.closed)).toHaveLength(PER_ADDRESS);
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals.every((status) => status === 429)).toBe(true);
  const answer = await rawHandshake(pod.app.port, 'polling', from(ATTACKER));
  expect({ status: answer.status, body: answer.body }).toEqual({ status: 429, body: '{"code":4,"message":"too_many_connections"}' });
  // Another address is not affected; a closed connection frees a place.
  expect((await rawHandshake(pod.app.port, 'polling', from('198.51.100.70'))).status).toBe(200);
  held.pop()!.ws.terminate();
  await waitUntil(async () => (await rawHandshake(pod.app.port, 'websocket', from(ATTACKER))).status === 101, 5_000, 100);
  for (const socket of held) socket.ws.terminate();
}, 30_000);
