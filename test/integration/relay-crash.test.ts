// A pod dies while it holds events it took from the transition log, before it acknowledged them (the
// test-only fault point FAULT_INJECTION=relay-exit-before-ack: the pod SIGKILLs itself right there).
// Another pod's relay takes them over and delivers them: viewers see every transition.
import type { PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, keepBeating, streamer, watch } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

/** The relay takes over entries left unacknowledged for 2 s, checking every second; "a few seconds". */
const DELIVERED_WITHIN_MS = 5_000;

let doomed: AppProcess;
let survivor: AppProcess;

beforeAll(async () => {
  const redis = await startRedis();
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `relay-crash-${process.pid}:` };
  doomed = await startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: 'doomed', FAULT_INJECTION: 'relay-exit-before-ack' } });
  survivor = await startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: 'survivor' } });
  for (const app of [doomed, survivor]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}, 60_000);

test('a pod that dies holding events it took from the log: another pod delivers them within a few seconds', async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `crash-relay-${i}`);
  const viewer = await watch(survivor.url, ids);
  const exited = doomed.waitForExit();
  let died = false;
  void exited.then(() => (died = true));

  // Both pods' relays compete for each new entry; one streamer at a time until the doomed pod takes one
  // (each goes to it with even odds) and dies holding it.
  const connectedAt = new Map<string, number>();
  const stops: Array<() => void> = [];
  for (const id of ids) {
    connectedAt.set(id, Date.now());
    stops.push(keepBeating(await streamer(survivor.url, id)));
    await sleep(200);
    if (died) break;
  }
  expect(await exited).toBeNull(); // SIGKILLed by itself, at the fault point
  expect(doomed.lines.some((line) => line.includes('fault injection: exiting before acknowledging'))).toBe(true);

  // Every streamer connected so far reaches the viewer online, the one the dead pod held included.
  const connected = [...connectedAt.keys()];
  const onlineAt = (id: string) => viewer.events.all().find((e) => e.payload.streamerId === id && e.payload.status === 'online')?.at;
  await waitUntil(() => connected.every((id) => onlineAt(id) !== undefined), DELIVERED_WITHIN_MS + 2_000).catch(() => {
    throw new Error(`never delivered: ${connected.filter((id) => onlineAt(id) === undefined).join(', ')}`);
  });
  const late = connected.map((id) => ({ id, ms: onlineAt(id)! - connectedAt.get(id)! }));
  expect(late.filter(({ ms }) => ms > DELIVERED_WITHIN_MS)).toEqual([]);
  // The survivor says it took them over, and each delivered event is the streamer's current version.
  expect(survivor.lines.some((line) => line.includes('took over stalled entries'))).toBe(true);
  for (const id of connected) {
    const state = (await (await fetch(`${survivor.url}/v1/streamers/${id}/presence`)).json()) as PresenceState;
    const versions = viewer.events.payloads().filter((e) => e.streamerId === id).map((e) => e.version);
    expect({ id, seen: versions.includes(state.version) }).toEqual({ id, seen: true });
  }
  for (const stop of stops) stop();
}, 60_000);
