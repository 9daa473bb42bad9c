// Forged and overlong tokens by the hundred, and everything an anonymous client could learn about the
// inside: in the issue's trials tokens without `exp` (or `exp` in the year 9999) were accepted for ever,
// the public timeline named the deciding pod, Redis's error text reached anonymous clients, responses
// said `X-Powered-By: Express`, and a 30,000-deep `meta` logged a stack overflow and was echoed back.
// Against a pod in Redis mode, so that a Redis outage is part of it.
import jwt from 'jsonwebtoken';
import { useCleanup } from '../helpers/cleanup.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { connectViewer } from '../helpers/clients.js';
import { waitUntil } from '../helpers/timing.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { ATTACKER, from, type ProductionPod } from './support/production-pod.js';
import { openRawSocket, sustainFromOneAddress } from './support/raw-socket.js';
import { expectOthersServed, startServiceRedis, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

let redis: RedisServer;
let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  redis = await startServiceRedis();
  ({ pod, control } = await startTarget({ redisUrl: redis.url }));
}, 30_000);

const now = (): number => Math.floor(Date.now() / 1000);

test('200 forged or overlong tokens from 50 addresses: every one refused unauthorized; others served', async () => {
  const forged = [
    jwt.sign({ sub: 'x', role: 'streamer', iat: now() }, pod.secret), // no exp
    jwt.sign({ sub: 'x', role: 'streamer', iat: now(), exp: 253402300799 }, pod.secret), // year 9999
    jwt.sign({ sub: 'x', role: 'streamer', iat: now(), exp: now() + 2 * 86_400 }, pod.secret), // 48 h
    jwt.sign({ sub: 'x', role: 'streamer', iat: now() - 7_200, exp: now() - 3_600 }, pod.secret), // expired
    jwt.sign({ sub: 'x', role: 'streamer', iat: now(), exp: now() + 600 }, 'not the secret, but long enough to sign'),
    jwt.sign({ sub: 'x', role: 'streamer', iat: now(), exp: now() + 600 }, pod.secret, { algorithm: 'HS384' }),
    `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(`{"sub":"x","role":"streamer","exp":${now() + 600}}`).toString('base64url')}.`,
    jwt.sign({ sub: 'x', role: 'admin', iat: now(), exp: now() + 600 }, pod.secret),
  ];
  const answers: string[] = [];
  const { report } = await underAttack(pod, control, '200 forged tokens', async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 200) {
          const n = next++;
          const socket = await openRawSocket(pod.app.port, `198.18.100.${n % 50}`);
          socket.send(`40/streamer,${JSON.stringify({ token: forged[n % forged.length] })}`);
          answers.push(await socket.next(/^4[04]\/streamer,/));
          socket.ws.terminate();
        }
      }),
    );
  });
  expectOthersServed(report);
  expect(answers).toHaveLength(200);
  expect(answers.filter((a) => a !== '44/streamer,{"message":"unauthorized"}')).toEqual([]);
}, 30_000);

test('30,000-deep metas from a stolen token, again and again: each connection closed at the first, nothing logged as an error; others served', async () => {
  const token = pod.token('deep-meta', 'streamer');
  const deep = `${'['.repeat(30_000)}1${']'.repeat(30_000)}`;
  const lines = pod.app.lines.length;
  const { report, result } = await underAttack(pod, control, '30,000-deep metas', () =>
    sustainFromOneAddress(pod.app.port, ATTACKER, {
      ms: 3_000,
      concurrency: 5,
      abuse: async (socket) => {
        socket.send(`40/streamer,${JSON.stringify({ token })}`);
        await socket.next(/^4[04]\/streamer,/);
        socket.send(`42/streamer,1["heartbeat",{"meta":{"title":${deep}}}]`);
        await socket.untilClosed(2_000);
      },
    }),
  );
  expectOthersServed(report);
  expect(result.opened).toBeGreaterThan(0);
  expect(result.cut).toBe(result.opened);
  expect(pod.app.lines.slice(lines).filter((line) => /RangeError|call stack|"level":"error"|exception/i.test(line))).toEqual([]);
}, 30_000);

test('nothing names the stack or the pod: no X-Powered-By, no pod in public answers or events', async () => {
  for (const path of ['/healthz', '/v1/streamers?status=online', '/v1/streamers/leak-check/presence', '/nowhere']) {
    const response = await fetch(`${pod.app.url}${path}`, { headers: from('198.51.100.40') });
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(await response.text()).not.toMatch(/"pod"|express|nestjs|ioredis/i);
  }
  // The timeline, which names pods, is for operators only.
  expect((await fetch(`${pod.app.url}/v1/streamers/control-streamer/timeline`, { headers: from('198.51.100.40') })).status).toBe(401);
  const viewer = await connectViewer(pod.app.url, undefined, { extraHeaders: from('198.51.100.41') });
  const events: unknown[] = [];
  viewer.on('presence', (event: unknown) => events.push(event));
  const ack: unknown = await viewer.timeout(5_000).emitWithAck('subscribe', { streamerIds: ['leak-streamer'] });
  const streamer = await openRawSocket(pod.app.port, '198.51.100.42');
  streamer.send(`40/streamer,${JSON.stringify({ token: pod.token('leak-streamer', 'streamer') })}`);
  await waitUntil(() => events.length > 0, 5_000);
  expect(JSON.stringify([ack, events])).not.toMatch(/"pod"|connectionId/);
  streamer.ws.terminate();
  viewer.close();
});

test('while Redis hangs, anonymous clients get a generic unavailable, never Redis error text', async () => {
  const viewer = await connectViewer(pod.app.url, undefined, { extraHeaders: from('198.51.100.50') });
  redis.freeze();
  try {
    const http = await fetch(`${pod.app.url}/v1/streamers/anyone/presence`, { headers: from('198.51.100.50') });
    expect(http.status).toBe(503);
    const body = await http.text();
    expect(JSON.parse(body)).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    // Answered once the subscription fence and the read have each given up (about 5 s in all).
    const ack: unknown = await viewer.timeout(10_000).emitWithAck('subscribe', { streamerIds: ['anyone'] });
    expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(JSON.stringify([body, ack])).not.toMatch(/redis|ECONN|connection|stream|ioredis|127\.0\.0\.1/i);
  } finally {
    redis.thaw();
    viewer.close();
  }
}, 30_000);
