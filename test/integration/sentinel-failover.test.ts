// Two pods behind Redis Sentinel (a primary, its replica, three sentinels, all real processes). The
// primary is SIGKILLed while 50 streamers heartbeat and viewers watch: the sentinels promote the
// replica, every pod finds it by itself and resyncs its viewers, nobody who kept heartbeating goes
// offline, and transitions made around the failover reach the viewers and the webhook receiver.
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { watch } from '../helpers/presence-clients.js';
import { startSentinelSet, type SentinelSet } from '../helpers/redis-sentinel.js';
import { waitUntil } from '../helpers/timing.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { FAILOVER_TIMING, runFailoverStory } from './support/failover-story.js';

const DOWN_AFTER_MS = 1_000;

useCleanup();

let set: SentinelSet;
let pods: AppProcess[];
let receiver: WebhookReceiver;
beforeAll(async () => {
  set = await startSentinelSet({ downAfterMs: DOWN_AFTER_MS });
  receiver = await startWebhookReceiver();
  const env = { ...FAILOVER_TIMING, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  pods = await Promise.all(['sentinel-a', 'sentinel-b'].map((name) => startApp({ redisUrl: set.url, env: { ...env, POD_NAME: name } })));
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 15_000, 100);
}, 90_000);

test('the primary SIGKILLed: readiness 503, the replica promoted, the pods follow it and resync their viewers, no false offline, no event lost', async () => {
  // A viewer of its own, to see the recovery's resync.
  const watcher = await watch(pods[1]!.url, ['sentinel-resync-probe']);
  let resyncs = 0;
  watcher.socket.on('resync', () => (resyncs += 1));
  const settleBoundMs = DOWN_AFTER_MS + Number(FAILOVER_TIMING.HEARTBEAT_INTERVAL_MS) + 2_000;
  const outcome = await runFailoverStory({
    name: 'sentinel',
    pods,
    receiver,
    kill: () => set.primary.kill9(),
    promoted: async () => (await set.primaryPort().catch(() => 0)) === set.replica.port,
    settleBoundMs,
  });
  console.log(`sentinel failover: presence right on every pod ${outcome.settledAfterMs} ms after the kill (bound ${settleBoundMs} ms); readiness seen: ${[...new Set(outcome.readiness)].join(', ')}`);
  expect(outcome.readiness).toContain(503);
  // Past the bound, what each pod still listed wrongly says which transition was late (or lost).
  expect({ settledAfterMs: outcome.settledAfterMs, wrongAtBound: outcome.wrongAtBound }).toEqual({ settledAfterMs: expect.any(Number), wrongAtBound: null });
  expect(outcome.settledAfterMs).toBeLessThanOrEqual(settleBoundMs);
  await waitUntil(() => resyncs > 0, 10_000, 50);
  // The failover is said once per connection in each pod's log, not once per reconnect attempt.
  for (const app of pods) expect(app.lines.filter((line) => line.includes('redis connection error')).length).toBeLessThanOrEqual(5);
  watcher.socket.close();
}, 180_000);
