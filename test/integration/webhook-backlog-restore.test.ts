// Redis restarted empty during a receiver outage: the pods append the webhook backlog to the log again
// (webhook-log-mirror.ts), and the receiver gets all of it. The viewers had those transitions long
// before; appended again, they went to every viewer of their streamers three more times: the viewer
// relay's delivery, and each of the two replays after the outage. In the soak, the 30 s after such a
// restart held 17,709 of a run's 18,748 same-version repeats, and at full scale 184,466 (RELIABILITY,
// finding 21). The replays now leave out what was decided before the outage, and the relays what they
// had delivered before the loss (finding 27: 175,000 repeats at full scale).
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { RESTORED_REPLAY_MARGIN_MS } from '../../src/redis/redis-recovery.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamerSession, watch, type Watcher } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

useCleanup();

/** How many times the viewer was sent each transition of `id`, by version. */
function timesSent(viewer: Watcher, id: string): number[] {
  const counts = new Map<number, number>();
  for (const event of viewer.events.payloads().filter((e: PresenceEvent) => e.streamerId === id)) counts.set(event.version, (counts.get(event.version) ?? 0) + 1);
  return [...counts.values()];
}

test('Redis restarted empty while the receiver is down: every webhook delivered; viewers are not replayed what was decided before the outage', async () => {
  const redis = await startRedis();
  const receiver = await startWebhookReceiver();
  receiver.answer(503);
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `backlog-restore-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  const pods: AppProcess[] = await Promise.all(['backlog-a', 'backlog-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  const old = ['backlog-old-0', 'backlog-old-1', 'backlog-old-2'];
  const mid = 'backlog-mid';
  const recent = 'backlog-recent';
  const viewers = await Promise.all(pods.map((app) => watch(app.url, [...old, mid, recent])));

  for (const [i, id] of old.entries()) await streamerSession(pods[i % 2]!.url, id);
  await waitUntil(() => viewers.every((viewer) => old.every((id) => timesSent(viewer, id).length === 3)), 5_000);
  // Decided well before the outage: older than what the replays take of the entries appended again.
  await sleep(RESTORED_REPLAY_MARGIN_MS + 1_000);
  // Decided within what the replays take of a restored backlog, but delivered by the relays seconds
  // before the outage (the copy reads how far they got every second): the replays leave it out too.
  await streamerSession(pods[1]!.url, mid);
  await waitUntil(() => viewers.every((viewer) => timesSent(viewer, mid).length === 3), 5_000);
  await sleep(RESTORED_REPLAY_MARGIN_MS - 3_000);
  await streamerSession(pods[0]!.url, recent);
  await waitUntil(() => viewers.every((viewer) => timesSent(viewer, recent).length === 3), 5_000);

  await redis.kill9();
  await sleep(300);
  await redis.restart();
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 15_000, 100);
  // The old streamers' first webhooks have been retried for some 20 s: the next try may be 32 s away.
  const backlogWaitMs = receiver.backlogWaitMs(30_000);
  receiver.answer(200);
  const acknowledged = (): Set<string> => new Set(receiver.acknowledged().map((d) => d.id));
  await waitUntil(() => acknowledged().size === (old.length + 2) * 3, backlogWaitMs, 250).catch(() => {
    throw new Error(`${acknowledged().size} of ${(old.length + 2) * 3} acknowledged within ${backlogWaitMs} ms of the receiver answering 200`);
  });
  // Past the second replay (2 s after the recovery) and any relay's redelivery.
  await sleep(3_000);

  for (const [i, viewer] of viewers.entries()) {
    // Once: the relays had delivered them before the loss, and the copy appended again says so.
    expect({ viewer: i, old: old.map((id) => timesSent(viewer, id)), mid: timesSent(viewer, mid) }).toEqual({ viewer: i, old: old.map(() => [1, 1, 1]), mid: [1, 1, 1] });
    // The seconds before the outage are replayed as well (a pod whose subscriptions went down first
    // missed them): once, and by at least one of the two replays.
    expect({ viewer: i, recent: timesSent(viewer, recent).map((times) => times >= 2) }).toEqual({ viewer: i, recent: [true, true, true] });
  }
}, 150_000);
