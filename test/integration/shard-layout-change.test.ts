// REDIS_SHARDS changed on a running deployment: two pods on 4 shards, streamers heartbeating, viewers
// watching; a third pod starts with 8. It moves the deployment's recorded layout, the others follow
// within a second and re-assert their connections under the new keys; nobody who kept heartbeating is
// reported offline, and transitions made around the change reach the viewers and the webhook receiver
// (the previous layout's logs are still read).
import type { Socket } from 'socket.io-client';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { keepBeating, streamer } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/timing.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { resyncingViewer } from '../helpers/resyncing-viewer.js';
import { endStream, FAILOVER_TIMING } from './support/failover-story.js';

useCleanup();

let redis: RedisServer;
let receiver: WebhookReceiver;
let env: Record<string, string>;
beforeAll(async () => {
  redis = await startRedis();
  receiver = await startWebhookReceiver();
  env = { ...FAILOVER_TIMING, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
});

test('a pod with another REDIS_SHARDS moves every pod to it: no false offline, every transition delivered, presence right everywhere', async () => {
  const pods: AppProcess[] = await Promise.all(['layout-a', 'layout-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, REDIS_SHARDS: '4', POD_NAME: name } })));
  const beating = Array.from({ length: 20 }, (_, i) => `layout-${i}`);
  const [endsBefore, endsAtChange, endsAfter, joinsAfter] = ['layout-ends-before', 'layout-ends-at-change', 'layout-ends-after', 'layout-joins-after'];
  const everyone = [...beating, endsBefore!, endsAtChange!, endsAfter!, joinsAfter!];
  const sockets = new Map<string, Socket>();
  const stops = new Map<string, () => void>();
  const connect = async (id: string, pod: AppProcess) => {
    const socket = await streamer(pod.url, id);
    sockets.set(id, socket);
    stops.set(id, keepBeating(socket, 1_000));
  };
  const end = (id: string) => {
    stops.get(id)!();
    return endStream(sockets.get(id)!);
  };
  const viewers = await Promise.all(pods.map((pod) => resyncingViewer(pod.url, everyone)));
  const listed = async (pod: AppProcess) => {
    const { items } = (await (await fetch(`${pod.url}/v1/streamers?status=online&limit=100`)).json()) as { items: Array<{ streamerId: string }> };
    return items.map((item) => item.streamerId).sort().join();
  };
  try {
    for (const [i, id] of [...beating, endsBefore!, endsAtChange!, endsAfter!].entries()) await connect(id, pods[i % 2]!);
    await waitUntil(async () => (await Promise.all(pods.map(listed))).every((list) => list === [...beating, endsBefore!, endsAtChange!, endsAfter!].sort().join()), 10_000, 100);
    await end(endsBefore!);

    const third = await startApp({ redisUrl: redis.url, env: { ...env, REDIS_SHARDS: '8', POD_NAME: 'layout-c' } });
    pods.push(third);
    viewers.push(await resyncingViewer(third.url, everyone));
    const movedAt = Date.now();
    await third.waitForLine(/shard layout moved by this pod/, 10_000);
    // The first of the old pods to follow; the other may still be writing the old layout for a moment.
    await Promise.race(pods.slice(0, 2).map((pod) => pod.waitForLine(/shard layout changed/, 5_000)));
    await end(endsAtChange!);
    for (const pod of pods.slice(0, 2)) await pod.waitForLine(/shard layout changed/, 5_000);
    await connect(joinsAfter!, pods[0]!);
    await end(endsAfter!);

    const expected = [...beating, joinsAfter!].sort().join();
    await waitUntil(async () => (await Promise.all(pods.map(listed))).every((list) => list === expected), 10_000, 100);
    const settledAfterMs = Date.now() - movedAt;
    console.log(`shard layout change 4 → 8: presence right on all 3 pods ${settledAfterMs} ms after the moving pod's line`);

    const transitions: Array<[string, string]> = [
      [endsBefore!, 'offline'],
      [endsAtChange!, 'offline'],
      [endsAfter!, 'offline'],
      [joinsAfter!, 'online'],
    ];
    const missing = (events: ReadonlyArray<{ streamerId: string; status: string }>) =>
      transitions.filter(([id, status]) => !events.some((e) => e.streamerId === id && e.status === status)).map(([id, status]) => `${id} ${status}`);
    // The third pod's viewer joined after the first end: it knows it from its snapshot, or not at all.
    // As events: an `end` sent while its pod re-asserts comes after the re-assert, not before it.
    await waitUntil(() => viewers.slice(0, 2).every((v) => missing(v.events.payloads()).length === 0), 10_000, 50).catch((error: Error) => {
      throw new Error(`${error.message}: viewers missed ${JSON.stringify(viewers.map((v) => missing(v.events.payloads())))}`);
    });
    const heard = () => receiver.acknowledged().map((d) => d.body!.data as { streamerId: string; status: string });
    await waitUntil(() => missing(heard()).length === 0, 15_000, 100).catch((error: Error) => {
      throw new Error(`${error.message}: the webhook receiver missed ${JSON.stringify(missing(heard()))}`);
    });
    // Under the contract's rule (highest version wins): a resync snapshot taken while a pod had not yet
    // re-asserted says "never seen" (version 0), which a client drops.
    for (const viewer of viewers) expect(viewer.wentOffline().filter((e) => beating.includes(e.streamerId))).toEqual([]);
    expect(heard().filter((e) => beating.includes(e.streamerId) && e.status === 'offline')).toEqual([]);

    // Redis holds the move, and presence lives under the new keys.
    expect(await redis.cli('HGET', 'presence:layout', 'shards')).toBe('8');
    expect(await redis.cli('HGET', 'presence:layout', 'previous')).toBe('4');
    const online8 = (await Promise.all(Array.from({ length: 8 }, (_, s) => redis.cli('ZRANGE', `presence:{s${s}/8}:online`, '0', '-1')))).join('\n').split('\n').filter(Boolean);
    expect(online8.sort().join()).toBe(expected);
  } finally {
    for (const stop of stops.values()) stop();
    for (const socket of sockets.values()) socket.close();
    for (const viewer of viewers) viewer.socket.close();
  }
}, 120_000);
