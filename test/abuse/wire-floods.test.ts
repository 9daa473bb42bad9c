// One attacker's connections doing what the wire allows but no client needs: ping-frame floods,
// refused CONNECTs and handshakes by the hundred, hundreds of namespace sockets on one WebSocket, a
// message flood, binary packets whose attachments never come. Each costs the attacker its connection
// (or an HTTP 429), the pod logs a bounded amount about it, and a control streamer on the same pod is
// answered within 100 ms throughout. See support/under-attack.ts for how it is measured.
import { useCleanup } from '../helpers/cleanup.js';
import { rawHandshake } from '../helpers/raw-handshake.js';
import { sleep } from '../helpers/timing.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { rssMbNow } from './support/pod-watch.js';
import { ATTACKER, from, type ProductionPod } from './support/production-pod.js';
import { sustainFromOneAddress } from './support/raw-socket.js';
import { expectOthersServed, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  ({ pod, control } = await startTarget());
});

/** Lines the pod has logged so far. */
const logLines = (): number => pod.app.lines.length;

test('ping-frame floods: every flooding connection is cut within a second; the log says so once per connection', async () => {
  const logged = logLines();
  const { report, result } = await underAttack(pod, control, 'ping-frame flood', () =>
    sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 4_000,
      concurrency: 10,
      abuse: async (socket, stop) => {
        const until = Date.now() + 1_000;
        while (!stop() && Date.now() < until) {
          for (let i = 0; i < 20; i += 1) socket.ws.ping();
          await sleep(5);
        }
      },
    }),
  );
  expectOthersServed(report);
  expect(result.opened).toBeGreaterThan(0);
  expect(result.cut).toBeGreaterThan(0);
  expect(result.cut).toBeGreaterThanOrEqual(result.opened - 10); // the last ones may be mid-flood when time is up
  expect(Math.max(...result.livedMs)).toBeLessThan(2_000);
  // A few lines per cut connection, and connections bounded by the handshake rate; before the fix,
  // ~2 MB of log in 5 s.
  expect(logLines() - logged).toBeLessThanOrEqual(3 * result.opened + 10);
}, 30_000);

test('refused CONNECTs by the hundred on one WebSocket: cut after 10; handshakes by the thousand: HTTP 429', async () => {
  const logged = logLines();
  const { report, result } = await underAttack(pod, control, 'refused CONNECT and handshake flood', async () => {
    const connects = sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 4_000,
      concurrency: 5,
      abuse: async (socket, stop) => {
        while (!stop()) {
          socket.send('40/streamer,{"token":"forged"}');
          await sleep(2);
        }
      },
    });
    const handshakes: number[] = [];
    const until = Date.now() + 4_000;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) handshakes.push((await rawHandshake(pod.app.port, 'polling', from(ATTACKER))).status);
      }),
    );
    return { connects: await connects, handshakes };
  });
  expectOthersServed(report);
  expect(result.connects.cut).toBeGreaterThan(0);
  expect(result.connects.cut).toBeGreaterThanOrEqual(result.connects.opened - 5); // the last may be mid-flood when time is up
  expect(Math.max(...result.connects.livedMs)).toBeLessThan(2_000);
  expect(result.handshakes.filter((s) => s === 429).length).toBeGreaterThan(result.handshakes.length * 0.9);
  // A line per refused CONNECT (at most 20 are taken from a connection) and one for the cut: bounded
  // per connection, and connections by the handshake rate.
  const said = pod.app.lines.slice(logged);
  expect(said.filter((line) => line.includes('"connection cut"')).length).toBeLessThanOrEqual(result.connects.opened + 5);
  expect(said.length).toBeLessThanOrEqual(22 * result.connects.opened + 10);
}, 30_000);

test('a thousand /viewer and hundreds of /streamer CONNECTs on one WebSocket: one socket each, the rest too_many_sockets, then the cut', async () => {
  const token = pod.token('stolen-streamer', 'streamer');
  const { report, result } = await underAttack(pod, control, 'namespace sockets on one connection', () => {
    const sockets = { viewer: 0, streamer: 0, tooMany: 0 };
    return sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 3_000,
      concurrency: 4,
      abuse: async (socket) => {
        for (let i = 0; i < 1_000; i += 1) socket.send('40/viewer,');
        for (let i = 0; i < 320; i += 1) socket.send(`40/streamer,{"token":"${token}"}`);
        await socket.untilClosed();
        sockets.viewer = Math.max(sockets.viewer, socket.frames.filter((f) => f.startsWith('40/viewer,{"sid"')).length);
        sockets.streamer = Math.max(sockets.streamer, socket.frames.filter((f) => f.startsWith('40/streamer,{"sid"')).length);
        sockets.tooMany += socket.frames.filter((f) => f.includes('too_many_sockets')).length;
      },
    }).then((tally) => ({ tally, sockets }));
  });
  expectOthersServed(report);
  expect(result.tally.cut).toBe(result.tally.opened);
  expect(result.sockets.viewer).toBe(1);
  expect(result.sockets.streamer).toBeLessThanOrEqual(1);
  expect(result.sockets.tooMany).toBeGreaterThan(0);
}, 30_000);

test('a message flood on a stolen streamer token: rate_limited, then the connection is cut', async () => {
  const token = pod.token('flooding-streamer', 'streamer');
  let rateLimited = 0;
  const { report, result } = await underAttack(pod, control, 'message flood', () =>
    sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 4_000,
      concurrency: 3,
      abuse: async (socket, stop) => {
        socket.send(`40/streamer,{"token":"${token}"}`);
        await socket.next(/^4[04]\/streamer,/);
        while (!stop()) {
          for (let i = 0; i < 10; i += 1) socket.send(`42/streamer,${i}["heartbeat"]`);
          await sleep(10);
        }
        rateLimited += socket.frames.filter((f) => f.includes('rate_limited')).length;
      },
    }),
  );
  expectOthersServed(report);
  expect(rateLimited).toBeGreaterThan(0);
  // At ten times the rate a connection is cut within about a second; those still flooding when the
  // attack ended were younger than that.
  expect(result.cut).toBeGreaterThan(0);
  expect(Math.max(...result.livedMs)).toBeLessThan(2_500);
  expect(result.survived).toBeLessThanOrEqual(3);
}, 30_000);

test('100 binary packets whose attachments never come: each connection closed at once, nothing held outside the heap', async () => {
  const rssBefore = rssMbNow(pod.app.pid);
  const attachment = Buffer.alloc(60 * 1024, 7);
  const { report, result } = await underAttack(pod, control, 'half-sent binary packets', async () => {
    const tally = { sent: 0, closed: 0 };
    await sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 10_000,
      connections: 100,
      concurrency: 10,
      abuse: async (socket) => {
        tally.sent += 1;
        socket.send('40/viewer,');
        await socket.next(/^40\/viewer,/);
        socket.send('452-/viewer,["subscribe",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
        socket.send(attachment);
        await socket.untilClosed(2_000);
        tally.closed += 1;
      },
    });
    return tally;
  });
  expectOthersServed(report);
  expect(result).toEqual({ sent: 100, closed: 100 });
  expect(report.pod.rssMb - rssBefore).toBeLessThan(30);
}, 30_000);
