// The operators' dashboard as an attacker meets it. In the issue's trials /dashboard needed no
// credential: 1500 dashboard sockets on one TCP connection that stopped reading got every event and
// grew the heap 126 MB in 20 s. Now it takes an operator token (anything else: unauthorized, and the
// connection is cut after 10 refusals), a connection carries one socket per namespace, and the firehose
// is volatile: an operator's socket that stops reading drops events instead of holding them.
import { useCleanup } from '../helpers/cleanup.js';
import { sleep } from '../helpers/timing.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { rssMbNow } from './support/pod-watch.js';
import { ATTACKER, type ProductionPod } from './support/production-pod.js';
import { openRawSocket, type RawSocket, sustainFromOneAddress } from './support/raw-socket.js';
import { expectOthersServed, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  ({ pod, control } = await startTarget());
});

test('1500 dashboard CONNECTs on one connection, anonymous or with a viewer token: unauthorized, then the cut', async () => {
  const viewerToken = pod.token('curious-viewer', 'viewer');
  let refusals = 0;
  let accepted = 0;
  const { report, result } = await underAttack(pod, control, 'dashboard CONNECT flood', () =>
    sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 3_000,
      concurrency: 4,
      abuse: async (socket) => {
        for (let i = 0; i < 1_500; i += 1) socket.send(i % 2 === 0 ? '40/dashboard,' : `40/dashboard,{"token":"${viewerToken}"}`);
        await socket.untilClosed();
        refusals += socket.frames.filter((f) => f === '44/dashboard,{"message":"unauthorized"}').length;
        accepted += socket.frames.filter((f) => f.startsWith('40/dashboard,{"sid"')).length;
      },
    }),
  );
  expectOthersServed(report);
  expect(accepted).toBe(0);
  expect(result.cut).toBe(result.opened);
  // The flood is cut before its refusals are sent (past 20 CONNECTs); one CONNECT at a time is told why.
  expect(refusals).toBeLessThanOrEqual(20 * result.opened);
  for (const auth of ['', `{"token":"${viewerToken}"}`]) {
    const socket = await openRawSocket(pod.app.port, '198.51.100.61');
    socket.send(`40/dashboard,${auth}`);
    expect(await socket.next(/^4[04]\/dashboard,/)).toBe('44/dashboard,{"message":"unauthorized"}');
    socket.ws.terminate();
  }
}, 30_000);

test("an operator's dashboard that stops reading during an event storm holds nothing: memory stays flat", async () => {
  const dashboard = await openRawSocket(pod.app.port, '198.51.100.60');
  dashboard.send(`40/dashboard,${JSON.stringify({ token: pod.token('ops', 'operator') })}`);
  await dashboard.next(/^40\/dashboard,\{"sid"/);
  (dashboard.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  // 30 streamers changing a ~900-byte meta at 9 a second each: 270 events a second for the firehose.
  const sources: RawSocket[] = [];
  for (let i = 0; i < 30; i += 1) {
    const socket = await openRawSocket(pod.app.port, `198.18.60.${i}`);
    socket.send(`40/streamer,${JSON.stringify({ token: pod.token(`storm-${i}`, 'streamer') })}`);
    await socket.next(/^40\/streamer,\{"sid"/);
    sources.push(socket);
  }
  const rssBefore = rssMbNow(pod.app.pid);
  const padding = 'x'.repeat(900);
  let sent = 0;
  const { report } = await underAttack(pod, control, 'stuck operator dashboard in an event storm', async () => {
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      for (const socket of sources) socket.send(`42/streamer,["heartbeat",{"meta":{"n":${++sent},"padding":"${padding}"}}]`);
      await sleep(111);
    }
  });
  expectOthersServed(report);
  expect(sent).toBeGreaterThan(1_000);
  // ~1.3 MB of events went by; what a stuck socket may hold is what the kernel and one write take.
  expect(report.pod.rssMb - rssBefore).toBeLessThan(30);
  for (const socket of [dashboard, ...sources]) socket.ws.terminate();
}, 30_000);
