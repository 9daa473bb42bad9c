// Webhooks from the transition log to a real HTTP receiver that verifies each delivery with the
// `standardwebhooks` package: a receiver down for 30 s gets everything afterwards, each webhook-id
// acknowledged once, per streamer in version order, while the pods hold a bounded window in memory (the
// log is the buffer); a receiver that never says 2xx sees its events dead-lettered after the retention.
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { operatorHeaders } from '../helpers/tokens.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamerSession } from '../helpers/presence-clients.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

useCleanup();

/** WINDOW in src/webhooks/webhook-dispatcher.ts: what one pod may hold in memory. */
const WINDOW = 500;

async function metric(app: AppProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const samples = parsePrometheus(await (await fetch(`${app.url}/metrics`)).text());
  return valueOf(samples, name, labels);
}

/** Runs `work` on `ids` with at most `parallel` at a time. */
async function inParallel(ids: string[], parallel: number, work: (id: string) => Promise<void>): Promise<void> {
  const queue = [...ids];
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await work(id);
  }));
}

/** A streamer's latest webhook outcome per transition, as the operators' console reads it. */
async function webhookOutcomes(app: AppProcess, id: string): Promise<Array<{ reason: string; status: string; attempts: number; pod: string }>> {
  const response = await fetch(`${app.url}/v1/console/streamers/${id}`, { headers: operatorHeaders() });
  expect(response.status).toBe(200);
  return ((await response.json()) as { webhooks: Array<{ reason: string; status: string; attempts: number; pod: string }> }).webhooks;
}

describe('two pods on Redis, a receiver down for 30 s', () => {
  let receiver: WebhookReceiver;
  let pods: AppProcess[];
  beforeAll(async () => {
    const redis = await startRedis();
    receiver = await startWebhookReceiver();
    const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `webhooks-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
    pods = await Promise.all(['hook-a', 'hook-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
    for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  }, 60_000);

  test('every transition arrives once it is back, each webhook-id acknowledged once, per streamer in version order; memory bounded', async () => {
    receiver.answer(503);
    const downAt = Date.now();
    // Sessions on both pods; 2,400 transitions in all, far more than a pod's window.
    const ids = Array.from({ length: 800 }, (_, i) => `hook-${i}`);
    await inParallel(ids, 16, (id) => streamerSession(pods[Number(id.split('-')[1]) % 2]!.url, id));
    const transitions = ids.length * 3;

    // While it is down: the log holds the backlog, the pods at most their window each.
    let maxHeld = 0;
    let maxBacklog = 0;
    while (Date.now() - downAt < 30_000) {
      const held = await Promise.all(pods.map((app) => metric(app, 'presence_webhook_held_entries')));
      maxHeld = Math.max(maxHeld, ...held);
      maxBacklog = Math.max(maxBacklog, await metric(pods[0]!, 'presence_webhook_backlog'));
      await sleep(1_000);
    }
    expect(receiver.deliveries.length).toBeGreaterThan(0);
    expect(receiver.acknowledged()).toEqual([]);
    expect(maxHeld).toBeLessThanOrEqual(WINDOW);
    expect(maxBacklog).toBeGreaterThanOrEqual(transitions);
    expect(await metric(pods[0]!, 'presence_webhook_oldest_undelivered_seconds')).toBeGreaterThan(20);
    // The console shows, from either pod, a streamer's first webhook being retried.
    const outcomes = await webhookOutcomes(pods[1]!, 'hook-0');
    const first = outcomes.find(({ reason }) => reason === 'connected')!;
    expect(first.status).toBe('retrying');
    expect(first.attempts).toBeGreaterThanOrEqual(2);
    expect(['hook-a', 'hook-b']).toContain(first.pod);

    // Retries of a chain are at most doubling (1, 2, 4 … 32 s apart after a 30 s outage).
    const backlogWaitMs = receiver.backlogWaitMs(60_000);
    receiver.answer(200);
    await waitUntil(() => new Set(receiver.acknowledged().map((d) => d.id)).size >= transitions, backlogWaitMs, 500).catch(() => {
      throw new Error(`only ${new Set(receiver.acknowledged().map((d) => d.id)).size} of ${transitions} acknowledged`);
    });
    await sleep(1_000);

    const acked = receiver.acknowledged();
    expect(receiver.deliveries.filter((d) => d.body === null)).toEqual([]); // every signature verified
    const seen = new Set<string>();
    const twice = acked.filter((d) => seen.has(d.id) || !seen.add(d.id)).map((d) => d.id);
    // On a failure, what the pods said about their shards tells whether a lease changed hands meanwhile.
    if (twice.length > 0) console.log(`acknowledged twice: ${twice.join(', ')}\n${pods.flatMap((app) => app.lines.filter((l) => /webhook shard|lease/.test(l))).join('\n')}`);
    expect(acked).toHaveLength(transitions); // none twice
    for (const id of ids) {
      const mine = acked.filter((d) => d.body!.data.streamerId === id);
      const versions = mine.map((d) => d.body!.data.version);
      expect({ id, types: mine.map((d) => d.body!.type), ordered: versions.every((v, i) => i === 0 || v > versions[i - 1]!) }).toEqual({
        id,
        types: ['presence.online', 'presence.meta', 'presence.offline'],
        ordered: true,
      });
      for (const d of mine) expect(d.id).toBe(`${id}:${d.body!.data.version}`);
    }
    expect(await metric(pods[0]!, 'presence_webhook_backlog')).toBe(0);
    expect(await metric(pods[0]!, 'presence_webhook_oldest_undelivered_seconds')).toBe(0);
    const attempts = (await Promise.all(pods.map((app) => metric(app, 'presence_webhook_attempts_total', { outcome: 'delivered' })))).reduce((a, b) => a + b);
    expect(attempts).toBe(transitions);
    expect((await webhookOutcomes(pods[0]!, 'hook-1')).map(({ reason, status }) => `${reason} ${status}`).sort()).toEqual([
      'connected delivered',
      'ended delivered',
      'meta delivered',
    ]);
  }, 150_000);
});

test('a receiver that never answers 2xx: first retry within 2 s, dead-lettered after the (scaled-down) retention', async () => {
  const receiver = await startWebhookReceiver();
  receiver.answer(500);
  const retentionMs = 4_000;
  const app = await startApp({
    env: { ...FAST_TIMING, EVENT_LOG_RETENTION_MS: String(retentionMs), WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret },
  });
  const startedAt = Date.now();
  await streamerSession(app.url, 'hook-dead');
  await waitUntil(async () => (await metric(app, 'presence_webhook_dead_letters_total')) === 3, retentionMs + 5_000, 200);
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(retentionMs);
  expect(app.lines.filter((line) => line.includes('webhook dead-lettered'))).toHaveLength(3);

  // The first of the three was tried, then retried within 2 s, then on a growing schedule, never acknowledged.
  const first = receiver.deliveries.filter((d) => d.body?.type === 'presence.online').map((d) => d.at);
  expect(first.length).toBeGreaterThanOrEqual(3);
  expect(first[1]! - first[0]!).toBeLessThanOrEqual(2_000);
  expect(receiver.acknowledged()).toEqual([]);
  expect((await webhookOutcomes(app, 'hook-dead')).map(({ status }) => status)).toEqual(['dead_lettered', 'dead_lettered', 'dead_lettered']);
  // Nothing more once dead-lettered.
  const count = receiver.deliveries.length;
  await sleep(1_500);
  expect(receiver.deliveries.length).toBe(count);
}, 30_000);

test('a pod dies holding undelivered webhooks: the other takes its shards over and delivers them, per streamer in order', async () => {
  const redis = await startRedis();
  const receiver = await startWebhookReceiver();
  receiver.answer(503);
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `webhooks-crash-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  const [doomed, survivor] = await Promise.all(['hook-doomed', 'hook-survivor'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  for (const app of [doomed!, survivor!]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  // Both pods register and settle on about half the shards each (leases are refreshed every second).
  await sleep(2_500);
  const ids = Array.from({ length: 100 }, (_, i) => `crash-hook-${i}`);
  await inParallel(ids, 8, (id) => streamerSession(survivor!.url, id));
  await waitUntil(async () => (await metric(doomed!, 'presence_webhook_held_entries')) > 0, 10_000, 200);

  await doomed!.kill9();
  const backlogWaitMs = receiver.backlogWaitMs(30_000);
  receiver.answer(200);
  await waitUntil(() => new Set(receiver.acknowledged().map((d) => d.id)).size >= 3 * ids.length, backlogWaitMs, 250).catch(() => {
    throw new Error(`only ${new Set(receiver.acknowledged().map((d) => d.id)).size} of ${3 * ids.length} acknowledged`);
  });
  expect(survivor!.lines.some((line) => line.includes('webhook shard taken'))).toBe(true);
  for (const id of ids) {
    // First acknowledgement of each event, in the order they came: the streamer's versions ascending.
    const firsts = [...new Map(receiver.acknowledged().filter((d) => d.body!.data.streamerId === id).map((d) => [d.id, d.body!.data.version])).values()];
    expect({ id, firsts: firsts.length, ordered: firsts.every((v, i) => i === 0 || v > firsts[i - 1]!) }).toEqual({ id, firsts: 3, ordered: true });
  }
}, 60_000);

// Found by the soak (RELIABILITY.md): Redis restarted empty while the receiver was down. Every shard lease
// was gone with Redis's data; the first pod to refresh took them all (it saw no other pod), and the other
// dropped the webhooks it held, taken from a log that no longer had them.
test('Redis restarted empty while the receiver is down, webhooks held on two pods: all still delivered', async () => {
  const redis = await startRedis();
  const receiver = await startWebhookReceiver();
  receiver.answer(503);
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `hook-restart-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  const pods = await Promise.all(['restart-a', 'restart-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  // Both pods hold shards once each has refreshed its leases with the other registered.
  await sleep(3_000);
  const ids = Array.from({ length: 12 }, (_, i) => `held-${i}`);
  // The last one is live long enough for the pods following the log (every 500 ms) to know it online,
  // and Redis is killed within milliseconds of its end: their copies lack the end, and only the
  // dispatchers that hold it can append it again (without, it was settled offline a second time).
  for (const [i, id] of ids.entries()) await streamerSession(pods[i % 2]!.url, id, i === ids.length - 1 ? 1_200 : 0);
  const held = async (): Promise<number[]> => Promise.all(pods.map((app) => metric(app, 'presence_webhook_held_entries')));
  await waitUntil(async () => (await held()).reduce((a, b) => a + b) === ids.length * 3, 10_000, 5);
  await redis.kill9();
  expect((await held()).every((count) => count > 0)).toBe(true);
  await sleep(300);
  await redis.restart();
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 15_000, 100);
  // Down a while longer: the leases are refreshed (every second) and move meanwhile.
  await sleep(4_000);
  const backlogWaitMs = receiver.backlogWaitMs(45_000);
  receiver.answer(200);
  const acknowledged = (): Set<string> => new Set(receiver.acknowledged().map((d) => d.id));
  await waitUntil(() => acknowledged().size === ids.length * 3, backlogWaitMs, 250).catch(() => {
    throw new Error(`${acknowledged().size} of ${ids.length * 3} acknowledged (${receiver.acknowledged().map((d) => `${d.id}=${d.body?.data.reason}`).filter((x, i, a) => a.indexOf(x) === i).sort().join(" ")}); pods said: ${pods.flatMap((app) => app.lines.filter((line) => /shard lost|appended again/.test(line))).join(' | ')}`);
  });
  // Nothing more comes: no streamer that ended is settled offline a second time.
  await sleep(1_500);
  expect(receiver.acknowledged().filter((d) => d.body?.data.reason === 'timeout').map((d) => d.id)).toEqual([]);
  expect(acknowledged().size).toBe(ids.length * 3);
}, 120_000);

// Found by the soak (RELIABILITY.md, finding 4): a pod SIGKILLed while the receiver was down, and Redis
// restarted empty seconds later. What the killed pod held was in no other pod's memory, and the log no
// longer had it. Every pod now keeps a copy of what the webhook group has not acknowledged
// (webhook-log-mirror.ts) and appends again what the log lost, before re-asserting anything.
test('a pod SIGKILLed holding webhooks, then Redis restarted empty, receiver down: the pod left delivers them all', async () => {
  const redis = await startRedis();
  const receiver = await startWebhookReceiver();
  receiver.answer(503);
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `hook-kill-restart-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  const pods = await Promise.all(['kept', 'killed'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  const [kept, killed] = pods as [AppProcess, AppProcess];
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  await sleep(3_000);
  const ids = Array.from({ length: 12 }, (_, i) => `killed-held-${i}`);
  for (const [i, id] of ids.entries()) await streamerSession(pods[i % 2]!.url, id);
  const held = async (app: AppProcess): Promise<number> => metric(app, 'presence_webhook_held_entries');
  await waitUntil(async () => (await held(kept)) + (await held(killed)) === ids.length * 3, 10_000, 100);
  expect(await held(killed)).toBeGreaterThan(0);
  // The copy is read every half second.
  await sleep(1_500);
  await killed.kill9();
  await redis.kill9();
  await sleep(300);
  await redis.restart();
  await waitUntil(async () => (await fetch(`${kept.url}/readyz`)).status === 200, 15_000, 100);
  await sleep(2_000);
  const backlogWaitMs = receiver.backlogWaitMs(45_000);
  receiver.answer(200);
  const acknowledged = (): Set<string> => new Set(receiver.acknowledged().map((d) => d.id));
  await waitUntil(() => acknowledged().size === ids.length * 3, backlogWaitMs, 250).catch(() => {
    throw new Error(`${acknowledged().size} of ${ids.length * 3} acknowledged; the pod left said: ${kept.lines.filter((line) => /shard|appended again/.test(line)).join(' | ')}`);
  });
}, 120_000);
