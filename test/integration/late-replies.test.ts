// Redis answers late: a stall (DEBUG SLEEP, as a fork for a snapshot, a failover or a slow disk would
// cause) longer than the pods' command timeout, while deadlines pass and `end`s and closes are sent. The
// store applies those changes when it wakes up, after the pods have given up on the replies (or retried
// and found nothing left to do). Every one of them must still reach the viewers: the events come from
// the transition log, written with each change, not from the reply; the webhook receiver gets each too.
import type { Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { keepBeating, streamer, watch } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

useCleanup();

// A TTL long against the stall, so that the streamers that end or close during it cannot time out
// first: their reason is theirs. The silent ones' deadlines fall inside the stall.
const HEARTBEAT_MS = 1_000;
const TTL_MS = 3_000;
const TIMING = { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), PRESENCE_TTL_MS: String(TTL_MS), RECONNECT_GRACE_MS: '500', LB_IDLE_TIMEOUT_MS: '6000' };
/** Longer than the pods' command timeout (1 s): the first try of every call made during it times out. */
const STALL_S = 1.6;

let redis: RedisServer;
let a: AppProcess;
let b: AppProcess;
let receiver: WebhookReceiver;

beforeAll(async () => {
  redis = await startRedis({ extraArgs: ['--enable-debug-command', 'yes'] });
  receiver = await startWebhookReceiver();
  const env = { ...TIMING, REDIS_KEY_PREFIX: `late-replies-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  [a, b] = await Promise.all(['late-a', 'late-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  for (const app of [a, b]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}, 60_000);

const ids = (kind: string, n: number) => Array.from({ length: n }, (_, i) => `late-${kind}-${i}`);

async function ackedHeartbeat(socket: Socket): Promise<void> {
  expect(await socket.timeout(3_000).emitWithAck('heartbeat')).toMatchObject({ ok: true });
}

test('a stall past the command timeout: every timeout, end and close made during it reaches a viewer on the other pod, one version each', async () => {
  const silent = ids('silent', 20);
  const ended = ids('end', 10);
  const closed = ids('close', 10);
  const everyone = [...silent, ...ended, ...closed];
  // The viewer is on pod B; every streamer on pod A, whose calls are the ones that time out.
  const viewer = await watch(b.url, everyone);
  const sockets = new Map<string, Socket>();
  for (const id of everyone) sockets.set(id, await streamer(a.url, id));
  const beating = [...ended, ...closed].map((id) => keepBeating(sockets.get(id)!, HEARTBEAT_MS));
  await waitUntil(() => new Set(viewer.events.payloads().filter((e) => e.status === 'online').map((e) => e.streamerId)).size === everyone.length, 10_000);

  // The silent ones' last heartbeat: their deadlines (+ TTL) will pass while Redis sleeps.
  await Promise.all(silent.map((id) => ackedHeartbeat(sockets.get(id)!)));
  await sleep(TTL_MS - 600);
  // The others' last heartbeat just before the stall: they stay live through it, until they end or close.
  for (const stop of beating) stop();
  await Promise.all([...ended, ...closed].map((id) => ackedHeartbeat(sockets.get(id)!)));

  const stall = redis.cli('DEBUG', 'SLEEP', String(STALL_S));
  await sleep(150);
  const endAcks = ended.map((id) => sockets.get(id)!.timeout(5_000).emitWithAck('end'));
  for (const id of closed) sockets.get(id)!.close();
  await stall;
  // The pod answered `end` once its retry returned (`ok`, the change already made) or gave up (`unavailable`).
  for (const ack of await Promise.all(endAcks)) expect([{ ok: true }, { ok: false, error: { code: 'unavailable', message: expect.any(String) } }]).toContainEqual(ack);

  const offline = (id: string) => viewer.events.payloads().filter((e) => e.streamerId === id && e.status === 'offline');
  await waitUntil(() => everyone.every((id) => offline(id).length > 0), 10_000).catch(() => {
    throw new Error(`no offline event for ${everyone.filter((id) => offline(id).length === 0).join(', ')}`);
  });
  // Repeats of a delivery are allowed (same version); two different offline versions are not.
  await sleep(2 * 1_000);
  const seen = (id: string) => ({ id, versions: [...new Set(offline(id).map((e) => e.version))].length, reasons: [...new Set(offline(id).map((e) => e.reason))] });
  expect(silent.map(seen)).toEqual(silent.map((id) => ({ id, versions: 1, reasons: ['timeout'] })));
  expect(ended.map(seen)).toEqual(ended.map((id) => ({ id, versions: 1, reasons: ['ended'] })));
  expect(closed.map(seen)).toEqual(closed.map((id) => ({ id, versions: 1, reasons: ['disconnected'] })));
  // The backend's receiver got each of those offline transitions once (and acknowledged it once).
  await waitUntil(() => everyone.every((id) => receiver.acknowledged().some((d) => d.body?.data.streamerId === id && d.body.type === 'presence.offline')), 10_000);
  for (const id of everyone) {
    const hooks = receiver.acknowledged().filter((d) => d.body?.data.streamerId === id && d.body.type === 'presence.offline');
    expect({ id, versions: hooks.map((d) => d.body!.data.version) }).toEqual({ id, versions: [offline(id)[0]!.version] });
  }
  // The viewer's last word on each (the highest version, as clients keep it: the pods' recovery replays
  // the log since the outage, earlier events included) is that offline, and both pods agree with it.
  for (const id of everyone) {
    const last = viewer.events.payloads().filter((e: PresenceEvent) => e.streamerId === id).reduce((a, b) => (b.version > a.version ? b : a));
    expect({ id, status: last.status }).toEqual({ id, status: 'offline' });
    for (const app of [a, b]) {
      const state = (await (await fetch(`${app.url}/v1/streamers/${id}/presence`)).json()) as PresenceState;
      expect({ id, status: state.status, version: state.version }).toEqual({ id, status: 'offline', version: last.version });
    }
  }
}, 60_000);
