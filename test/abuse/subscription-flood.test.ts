// Anonymous viewers subscribing to as many distinct streamers as they can, from one address, against a
// pod in Redis mode: in the trials 400 sockets × 1000 ids made 200,000 SSUBSCRIBE channels and
// ran the pod out of heap. Now an address adds at most SUBSCRIBE_RATE_PER_ADDRESS (500/s, bursts of
// 1000) new subscriptions a second, answered `rate_limited` past it, and holds at most
// SUBSCRIPTIONS_PER_ADDRESS on the pod, answered `too_many_subscriptions` past it. The cap is scaled
// down from 10,000 to 3,000 so the attack reaches it in seconds at the allowed rate.
import type { Socket } from 'socket.io-client';
import { LINES_PER_SECOND } from '../../src/logging/throttled-log.js';
import { connectViewer } from '../helpers/clients.js';
import { waitUntil } from '../helpers/timing.js';
import { useCleanup } from '../helpers/cleanup.js';
import type { RedisServer } from '../helpers/redis-server.js';
import type { ControlStreamer } from './support/control-streamer.js';
import { ATTACKER, from, type ProductionPod } from './support/production-pod.js';
import { expectOthersServed, startServiceRedis, startTarget, underAttack } from './support/under-attack.js';

useCleanup();

const SOCKETS = 40; // the handshake burst one address gets (20/s, bursts of twice that)
const PER_ADDRESS = 3_000;

let redis: RedisServer;
let pod: ProductionPod;
let control: ControlStreamer;
beforeAll(async () => {
  redis = await startServiceRedis();
  ({ pod, control } = await startTarget({ redisUrl: redis.url, env: { SUBSCRIPTIONS_PER_ADDRESS: String(PER_ADDRESS) } }));
}, 30_000);

test(`${SOCKETS} anonymous sockets subscribing from one address: rate_limited past 500 a second, too_many_subscriptions past ${PER_ADDRESS}`, async () => {
  const sockets: Socket[] = await Promise.all(Array.from({ length: SOCKETS }, () => connectViewer(pod.app.url, undefined, { extraHeaders: from(ATTACKER) })));
  const answers = { accepted: 0, tooMany: 0, rateLimited: 0, other: [] as string[] };
  const { report } = await underAttack(pod, control, 'subscription flood (Redis)', () =>
    Promise.all(
      sockets.map(async (socket, s) => {
        // Requests of 100 new ids each (the per-request limit), at the message rate a socket is allowed, for 6 s.
        const until = Date.now() + 6_000;
        for (let r = 0; Date.now() < until; r += 1) {
          const streamerIds = Array.from({ length: 100 }, (_, i) => `flood-${s}-${r}-${i}`);
          const ack = await socket.timeout(5_000).emitWithAck('subscribe', { streamerIds });
          if (ack.ok) answers.accepted += streamerIds.length;
          else if (ack.error.code === 'too_many_subscriptions') answers.tooMany += 1;
          else if (ack.error.code === 'rate_limited') answers.rateLimited += 1;
          else answers.other.push(ack.error.code);
          await new Promise((resolve) => setTimeout(resolve, 120));
        }
      }),
    ),
  );
  expectOthersServed(report);
  expect(answers.other).toEqual([]);
  expect(answers.accepted).toBe(PER_ADDRESS);
  expect(answers.rateLimited).toBeGreaterThan(0);
  expect(answers.tooMany).toBeGreaterThan(0);
  // Redis holds a channel per subscribed streamer on this pod: no more than the address's budget.
  const shardChannels = Number(await redis.cli('EVAL', "return #redis.call('PUBSUB', 'SHARDCHANNELS')", '0'));
  expect(shardChannels).toBeLessThanOrEqual(PER_ADDRESS + 100);
  expect(shardChannels).toBeGreaterThanOrEqual(PER_ADDRESS);
  // Nor does the log hold a line per refusal: a budget per code, and the lines written say how many
  // were left out. (A line each cost the pod a fifth of a refused request's CPU.)
  const isRefusal = (line: string): boolean => line.includes('"msg":"refused"');
  const refusedLines = pod.app.lines.filter(isRefusal);
  const refusals = answers.rateLimited + answers.tooMany;
  const bound = 2 * (2 * LINES_PER_SECOND + LINES_PER_SECOND * Math.ceil(report.seconds + 1)); // two codes
  expect(refusals).toBeGreaterThan(10 * bound);
  expect(refusedLines.length).toBeGreaterThan(0);
  expect(refusedLines.length).toBeLessThanOrEqual(bound);
  expect(refusedLines.some((line) => /"notLogged":\d+/.test(line))).toBe(true);
  // ...yet every refusal is in it: the lines written, and the counts of those left out (the last ones
  // on a line of their own a second later).
  const CODES = /"(code|kind)":"(rate_limited|too_many_subscriptions)"/;
  const logged = (): number =>
    pod.app.lines
      .filter((line) => (isRefusal(line) || line.includes('"msg":"lines not logged"')) && CODES.test(line))
      .reduce((sum, line) => sum + (isRefusal(line) ? 1 : 0) + Number(/"notLogged":(\d+)/.exec(line)?.[1] ?? 0), 0);
  await waitUntil(() => logged() === refusals, 5_000).catch(() => undefined);
  expect(logged()).toBe(refusals);
  for (const socket of sockets) socket.close();
}, 60_000);
