// PresenceService's note of this pod's connections, against the memory store: what a re-assert after a
// Redis outage renews, and for how long.
import type { AppConfig } from '../../../src/config/app-config.js';
import { MetricsService } from '../../../src/metrics/metrics.service.js';
import { PresenceService } from '../../../src/presence/application/presence.service.js';
import { MAX_OPEN_CONNECTIONS } from '../../../src/presence/domain/streamer-record.js';
import { MemoryPresenceStore } from '../../../src/presence/infrastructure/memory-presence.store.js';

const TTL_MS = 10_000;
const config = { podId: 'unit-pod', presenceTtlMs: TTL_MS, reconnectGraceMs: 1_000 } as AppConfig;

function service(): { store: MemoryPresenceStore; presence: PresenceService } {
  const store = new MemoryPresenceStore({ presenceTtlMs: TTL_MS, reconnectGraceMs: 1_000 });
  return { store, presence: new PresenceService(store, new MetricsService(config), config) };
}

test('connects refused over the cap leave nothing behind: a re-assert renews only the admitted ones', async () => {
  const { presence } = service();
  for (let i = 0; i < MAX_OPEN_CONNECTIONS; i += 1) expect((await presence.connect('capped', `ok-${i}`)).refused).toBeUndefined();
  // A client that keeps reconnecting past the cap: each refused, none kept in the pod's memory.
  for (let i = 0; i < 50; i += 1) expect((await presence.connect('capped', `over-${i}`)).refused).toBe('too_many_connections');
  expect(await presence.reassertLocal()).toBe(MAX_OPEN_CONNECTIONS);
});

test("a re-assert keeps the connection's deadline (last heartbeat + TTL), not a fresh TTL", async () => {
  const { store, presence } = service();
  const before = Date.now();
  await presence.connect('quiet', 'c');
  const answered = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await presence.reassertLocal()).toBe(1);
  const [lease] = await store.connections('quiet');
  expect(lease!.liveUntil).toBeGreaterThanOrEqual(before + TTL_MS);
  expect(lease!.liveUntil).toBeLessThanOrEqual(answered + TTL_MS);
});

test('with the memory store a heartbeat is answered before heartbeat() returns, not through a promise', async () => {
  const { presence } = service();
  await presence.connect('quick', 'c');
  const before = Date.now();
  const answer = presence.heartbeat('quick', 'c', undefined);
  expect(answer).not.toBeInstanceOf(Promise);
  expect(answer).toMatchObject({ events: [] });
  expect((answer as { serverTime: number }).serverTime).toBeGreaterThanOrEqual(before);
});

test('a heartbeat that arrives while an end of its connection is still in the store waits for it: the stream starts again', async () => {
  // The store takes the `end` a moment later (as Redis would); the heartbeat that follows it on the same
  // connection must not be answered at once, ahead of it, or the end would land last and the streamer
  // who heartbeated after ending would be shown offline.
  let storeTakesEnd = (): void => undefined;
  class SlowEnds extends MemoryPresenceStore {
    override async end(streamerId: string, sentAt?: number) {
      await new Promise<void>((resolve) => (storeTakesEnd = resolve));
      return super.end(streamerId, sentAt);
    }
  }
  const store = new SlowEnds({ presenceTtlMs: TTL_MS, reconnectGraceMs: 1_000 });
  const presence = new PresenceService(store, new MetricsService(config), config);
  await presence.connect('again', 'c');
  const ended = presence.end('again', 'c');
  const renewed = presence.heartbeat('again', 'c', undefined);
  storeTakesEnd();
  await Promise.all([ended, renewed]);
  expect((await store.getMany(['again']))[0]).toMatchObject({ status: 'online' });
  expect((await store.timeline('again', 10)).map((entry) => entry.reason)).toEqual(['connected', 'ended', 'connected']);
});
