import jwt from 'jsonwebtoken';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { DEV_JWT_SECRET } from '../../src/config/app-config.js';
import { connect, connectError, connectStreamer, connectViewer, EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamer, watch } from '../helpers/presence-clients.js';
import { rawHandshake } from '../helpers/raw-handshake.js';
import { signToken } from '../helpers/tokens.js';
import { sleep } from '../helpers/timing.js';

useCleanup();
let app: AppProcess;
beforeAll(async () => {
  // No clock leeway, so a token can expire on a live connection within seconds (the leeway itself is
  // tested in test/unit/auth/token-verifier.test.ts).
  app = await startApp({ env: { ...FAST_TIMING, JWT_CLOCK_LEEWAY_MS: '0' } });
});

/** A streamer token with exactly these claims (no `iat`/`exp` unless given). */
const rawToken = (claims: Record<string, unknown>) => jwt.sign({ sub: 'alice', role: 'streamer', ...claims }, DEV_JWT_SECRET, { algorithm: 'HS256', noTimestamp: true });
const nowS = () => Math.floor(Date.now() / 1000);

const noneAlgorithmToken = [
  Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
  Buffer.from(JSON.stringify({ sub: 'mallory', role: 'streamer', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url'),
  '',
].join('.');

describe('handshake on /streamer', () => {
  test.each([
    ['no token', undefined],
    ['an empty auth object', {}],
    ['a malformed token', { token: 'not.a.jwt' }],
    ['a token that is not a string', { token: 12345 }],
    ['an expired token', { token: signToken({ sub: 'alice', role: 'streamer', expiresInSec: -60 }) }],
    ['a token signed with another secret', { token: signToken({ sub: 'alice', role: 'streamer', secret: 'someone-elses-secret-0123456789abcdef' }) }],
    ['an unsigned (alg none) token', { token: noneAlgorithmToken }],
    ['a viewer token', { token: signToken({ sub: 'alice', role: 'viewer' }) }],
    ['a token with an unknown role', { token: signToken({ sub: 'alice', role: 'admin' }) }],
    ['a streamer token whose sub is not a valid id', { token: signToken({ sub: 'not valid!', role: 'streamer' }) }],
    ['a token without exp', { token: rawToken({}) }],
    ['a token that expires in the year 9999', { token: rawToken({ iat: nowS(), exp: 253_402_300_799 }) }],
    ['a token valid for 25 hours (TOKEN_MAX_LIFETIME_MS is 24 h)', { token: rawToken({ iat: nowS(), exp: nowS() + 25 * 3600 }) }],
    ['a token valid for 25 hours, without iat', { token: rawToken({ exp: nowS() + 25 * 3600 }) }],
    ['a token not valid before a minute from now (nbf)', { token: rawToken({ iat: nowS(), exp: nowS() + 600, nbf: nowS() + 60 }) }],
  ])('%s is refused with connect_error "unauthorized"', async (_name, auth) => {
    expect(await connectError(app.url, '/streamer', auth as Record<string, unknown> | undefined)).toBe('unauthorized');
  });

  test('a token in the query string is not read', async () => {
    const token = signToken({ sub: 'alice', role: 'streamer' });
    expect(await connectError(app.url, '/streamer', undefined, { query: { token } })).toBe('unauthorized');
  });
});

describe('handshake on /dashboard (every transition: operators only)', () => {
  test.each([
    ['no token', undefined],
    ['a viewer token', { token: signToken({ sub: 'v1', role: 'viewer' }) }],
    ['a streamer token', { token: signToken({ sub: 'alice', role: 'streamer' }) }],
  ])('%s is refused with connect_error "unauthorized"', async (_name, auth) => {
    expect(await connectError(app.url, '/dashboard', auth)).toBe('unauthorized');
  });

  test('an operator token connects', async () => {
    const socket = await connect(app.url, '/dashboard', { auth: { token: signToken({ sub: 'ops', role: 'operator' }) } });
    socket.close();
  });
});

describe('handshake on /viewer', () => {
  test('anonymous viewers, viewer tokens and streamer tokens connect', async () => {
    (await connectViewer(app.url)).close();
    (await connectViewer(app.url, signToken({ sub: 'v1', role: 'viewer' }))).close();
    (await connectViewer(app.url, signToken({ sub: 'alice', role: 'streamer' }))).close();
  });

  test.each([
    ['a malformed token', { token: 'garbage' }],
    ['an expired token', { token: signToken({ sub: 'v1', role: 'viewer', expiresInSec: -1 }) }],
    ['a token signed with another secret', { token: signToken({ sub: 'v1', role: 'viewer', secret: 'someone-elses-secret-0123456789abcdef' }) }],
  ])('%s is refused with connect_error "unauthorized"', async (_name, auth) => {
    expect(await connectError(app.url, '/viewer', auth)).toBe('unauthorized');
  });
});

describe('streamer messages', () => {
  test.each([
    ['a string payload', 'hello'],
    ['an array payload', [1, 2]],
    ['an unknown key', { meta: {}, streamerId: 'bob' }],
    ['meta that is not an object', { meta: 'title' }],
    ['a nested meta value', { meta: { nested: { a: 1 } } }],
    ['an array meta value', { meta: { tags: ['a'] } }],
  ])('heartbeat with %s gets invalid_payload and changes nothing', async (name, payload) => {
    const id = `refuse-shape-${name.replace(/[^a-z]/g, '')}`;
    const viewer = await watch(app.url, [id]);
    const socket = await streamer(app.url, id);
    await viewer.events.waitFor();
    const ack = await socket.timeout(5_000).emitWithAck('heartbeat', payload);
    expect(ack).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
    await viewer.events.expectNoneFor(200);
    const read = (await fetch(`${app.url}/v1/streamers/${id}/presence`).then((res) => res.json())) as { meta?: unknown };
    expect(read.meta).toBeUndefined();
    socket.close();
  });

  test('a heartbeat over 1 KiB gets payload_too_large; end with a payload gets invalid_payload', async () => {
    const socket = await streamer(app.url, 'refuse-size');
    const ack = await socket.timeout(5_000).emitWithAck('heartbeat', { meta: { title: 'x'.repeat(1100) } });
    expect(ack).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
    expect(await socket.timeout(5_000).emitWithAck('end', { now: true })).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    socket.close();
  });

  test('a heartbeat after the token expired gets unauthorized', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = jwt.sign({ sub: 'refuse-expiring', role: 'streamer', exp }, DEV_JWT_SECRET);
    const socket = await connectStreamer(app.url, token);
    expect(await socket.timeout(5_000).emitWithAck('heartbeat')).toMatchObject({ ok: true });
    await sleep(exp * 1000 - Date.now() + 100);
    expect(await socket.timeout(5_000).emitWithAck('heartbeat')).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    socket.close();
  });

  test('a heartbeat flood gets rate_limited, and the budget refills', async () => {
    const socket = await streamer(app.url, 'refuse-flood');
    const acks = await Promise.all(Array.from({ length: 60 }, () => socket.timeout(5_000).emitWithAck('heartbeat')));
    const limited = acks.filter((ack) => !ack.ok && ack.error.code === 'rate_limited');
    // 10 per second with bursts of 20 (the defaults): about 20 pass at once, the rest are refused.
    expect(limited.length).toBeGreaterThanOrEqual(30);
    expect(acks.filter((ack) => ack.ok).length).toBeGreaterThanOrEqual(20);
    await sleep(1_200);
    expect(await socket.timeout(5_000).emitWithAck('heartbeat')).toMatchObject({ ok: true });
    socket.close();
  });

  test('a frame over 64 KiB closes only that socket; everyone else keeps being served', async () => {
    const viewer = await watch(app.url, ['refuse-big-bystander']);
    const bystander = await streamer(app.url, 'refuse-big-bystander');
    await viewer.events.waitFor();
    const offender = await streamer(app.url, 'refuse-big');
    const disconnected = new Promise<string>((resolve) => offender.on('disconnect', resolve));
    offender.emit('heartbeat', { meta: { blob: 'x'.repeat(70 * 1024) } });
    expect(await disconnected).toMatch(/transport (close|error)/);

    expect(await bystander.timeout(5_000).emitWithAck('heartbeat')).toMatchObject({ ok: true });
    expect(await viewer.socket.timeout(5_000).emitWithAck('subscribe', { streamerIds: ['refuse-big'] })).toMatchObject({ ok: true });
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    bystander.close();
  });
});

describe('viewer messages', () => {
  test.each([
    ['no payload', 'invalid_payload', undefined],
    ['streamerIds missing', 'invalid_payload', {}],
    ['streamerIds not an array', 'invalid_payload', { streamerIds: 'alice' }],
    ['an empty list', 'invalid_payload', { streamerIds: [] }],
    ['an invalid id', 'invalid_payload', { streamerIds: ['ok', 'not ok'] }],
    ['a number among the ids', 'invalid_payload', { streamerIds: [42] }],
    ['an unknown key', 'invalid_payload', { streamerIds: ['ok'], all: true }],
    ['101 ids', 'too_many_ids', { streamerIds: Array.from({ length: 101 }, (_, i) => `id${i}`) }],
  ])('subscribe with %s gets %s', async (_name, code, payload) => {
    const viewer = await connectViewer(app.url);
    const ack = await viewer.timeout(5_000).emitWithAck('subscribe', payload);
    expect(ack).toEqual({ ok: false, error: { code, message: expect.any(String) } });
    viewer.close();
  });

  test('more than 1000 subscriptions on one socket gets too_many_subscriptions and subscribes none of them', async () => {
    const viewer = await connectViewer(app.url);
    for (let batch = 0; batch < 10; batch += 1) {
      const ids = Array.from({ length: 100 }, (_, i) => `many-${batch}-${i}`);
      expect(await viewer.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids })).toMatchObject({ ok: true });
    }
    const over = await viewer.timeout(5_000).emitWithAck('subscribe', { streamerIds: ['many-extra-1', 'many-extra-2'] });
    expect(over).toMatchObject({ ok: false, error: { code: 'too_many_subscriptions' } });

    // Nothing of the refused request was subscribed: its streamer's events do not arrive.
    const events = new EventRecorder(viewer, 'presence');
    const socket = await streamer(app.url, 'many-extra-1');
    await events.expectNoneFor(400);
    // Already-subscribed ids do not count twice.
    expect(await viewer.timeout(5_000).emitWithAck('subscribe', { streamerIds: ['many-0-0'] })).toMatchObject({ ok: true });
    socket.close();
    viewer.close();
  });
});

describe('Origin', () => {
  let guarded: AppProcess;
  beforeAll(async () => {
    guarded = await startApp({ env: { ...FAST_TIMING, ALLOWED_ORIGINS: 'https://good.example, http://localhost:8080' } });
  });

  const handshake = (origin?: string) =>
    fetch(`${guarded.url}/socket.io/?EIO=4&transport=polling`, { headers: origin === undefined ? {} : { Origin: origin } });

  test('a listed Origin connects; an unlisted one gets HTTP 403; no Origin (a native app) is not refused for it', async () => {
    expect((await handshake('https://good.example')).status).toBe(200);
    expect((await handshake('https://evil.example')).status).toBe(403);
    expect((await handshake()).status).toBe(200);

    // A client that skips long-polling and upgrades at once is refused with 403 too.
    expect((await rawHandshake(guarded.port, 'websocket', { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await rawHandshake(guarded.port, 'websocket', { Origin: 'https://good.example' })).status).toBe(101);

    (await connectViewer(guarded.url, undefined, { extraHeaders: { Origin: 'http://localhost:8080' } })).close();
    await expect(connectViewer(guarded.url, undefined, { extraHeaders: { Origin: 'https://evil.example' } })).rejects.toThrow();
  });
});
