// A reconnect and a heartbeat that reach a pod in time, but reach Redis only after a stall (DEBUG SLEEP,
// as a fork or a slow script would cause) in which their deadlines passed: the store judges them as of
// their receipt, so neither streamer flaps offline and online (RELIABILITY, finding 28). Margins of 1.6 s
// and more around every deadline, so a busy machine's late timers do not decide the outcome.
import type { Socket } from 'socket.io-client';
import type { PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { keepBeating, streamer, watch } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

const HEARTBEAT_MS = 1_000;
const TTL_MS = 4_000;
const GRACE_MS = 2_000;
const TIMING = { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), PRESENCE_TTL_MS: String(TTL_MS), RECONNECT_GRACE_MS: String(GRACE_MS), LB_IDLE_TIMEOUT_MS: '8000' };
const STALL_S = 3;

let redis: RedisServer;
let a: AppProcess;
let b: AppProcess;

beforeAll(async () => {
  redis = await startRedis({ extraArgs: ['--enable-debug-command', 'yes'] });
  const env = { ...TIMING, REDIS_KEY_PREFIX: `stall-receipt-${process.pid}:` };
  [a, b] = await Promise.all(['receipt-a', 'receipt-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  for (const app of [a, b]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}, 60_000);

/** Sleeps until `at` on this machine's clock (the one Redis reads too). */
const until = (at: number): Promise<void> => sleep(Math.max(0, at - Date.now()));

test('a reconnect and a heartbeat that came in time but waited out the stall: no offline, no flap', async () => {
  const viewer = await watch(b.url, ['receipt-moves', 'receipt-beats']);
  const moving = await streamer(a.url, 'receipt-moves');
  const beating: Socket = await streamer(b.url, 'receipt-beats');
  const stopBeating = keepBeating(beating, HEARTBEAT_MS);
  const keepMoving = keepBeating(moving, HEARTBEAT_MS);
  await waitUntil(() => viewer.events.payloads().filter((e) => e.status === 'online').length === 2, 10_000);
  const before = new Map(viewer.events.payloads().map((e) => [e.streamerId, e.version]));

  // The heartbeater's last answered heartbeat: its TTL deadline, on the store's clock, is `deadline`.
  stopBeating();
  const ack = (await beating.timeout(3_000).emitWithAck('heartbeat')) as { ok: boolean; serverTime: number };
  expect(ack.ok).toBe(true);
  const deadline = ack.serverTime + TTL_MS;
  // The mover leaves pod A: its grace runs out about 0.6 s before the TTL, inside the stall too.
  await until(deadline - 2_600);
  keepMoving();
  moving.close();
  await sleep(300);
  const stall = redis.cli('DEBUG', 'SLEEP', String(STALL_S));
  await sleep(100);
  // Both reach their pods in time (some 1.6 s before the grace, 2.2 s before the TTL runs out) and the
  // store only after both deadlines, when Redis wakes up.
  const sentAt = Date.now();
  const back = streamer(b.url, 'receipt-moves');
  const beat = beating.timeout(10_000).emitWithAck('heartbeat');
  await stall;
  expect(Date.now()).toBeGreaterThan(deadline);
  const again = keepBeating(beating, HEARTBEAT_MS);
  const moved = keepBeating(await back, HEARTBEAT_MS);
  await beat;
  await sleep(2_000);
  again();
  moved();

  // Without the receipt time, each went offline (disconnected, timeout) and online again (connected) at
  // once. (The pods' replay after the stall may repeat the online they had: the same version, no change.)
  expect(sentAt).toBeLessThan(deadline - 1_000);
  const changes = viewer.events.payloads().filter((e) => e.version > before.get(e.streamerId)!);
  expect(changes.map((e) => `${e.streamerId} ${e.status} ${e.reason}`)).toEqual([]);
  for (const id of ['receipt-moves', 'receipt-beats']) {
    const state = (await (await fetch(`${a.url}/v1/streamers/${id}/presence`)).json()) as PresenceState;
    expect({ id, status: state.status }).toEqual({ id, status: 'online' });
  }
}, 40_000);
