// A viewer's subscribe answered before the pod's channel subscription for it was in force (the pod's
// subscriber connection slow, as after a Redis restart while thousands of viewers resubscribe): a
// transition published meanwhile misses that pod. The pod tells the socket `resync` once the channel is
// in force, and the viewer's fresh snapshot has it (RELIABILITY, finding 25).
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { FAST_TIMING, keepBeating, streamer } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { resyncingViewer } from '../helpers/resyncing-viewer.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

test("a subscribe answered before its channel was in force: once it is, the viewer is told resync and its snapshot has the transition it missed", async () => {
  const redis = await startRedis();
  // Pod A's subscriber connection is held back, and its relay too, so that pod B's relay is the one to
  // deliver the transition (through Redis, which A's channel does not yet hear). The rest reaches Redis.
  const proxy = await startTcpProxy(redis.port);
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `late-channel-${process.pid}:` };
  const [a, b]: AppProcess[] = await Promise.all([
    startApp({ redisUrl: `redis://127.0.0.1:${proxy.port}`, env: { ...env, POD_NAME: 'late-a' } }),
    startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: 'late-b' } }),
  ]);
  for (const app of [a, b]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);

  proxy.hold(['presence-subscribe', 'presence-relay']);
  // Answered after the pod's 1 s wait for the channel, with the snapshot it read: offline.
  const viewer = await resyncingViewer(a.url, ['late-channel']);
  expect(viewer.snapshot).toMatchObject([{ streamerId: 'late-channel', status: 'offline' }]);
  expect(a.lines.some((line) => line.includes('subscribe answered before its channels were in force'))).toBe(true);
  // It goes online through pod B while pod A's channel subscription is still held back: the event misses A.
  const stop = keepBeating(await streamer(b.url, 'late-channel'));
  await sleep(500);
  expect(viewer.seen()).toEqual([]);
  proxy.release();

  // Without the resync its view stayed offline for good (the transition was published before the channel).
  await waitUntil(() => viewer.seen().some((state) => state.streamerId === 'late-channel' && state.status === 'online'), 5_000).catch(() => {
    throw new Error(`the viewer never saw late-channel online; it saw ${JSON.stringify(viewer.seen())}`);
  });
  stop();
}, 60_000);
