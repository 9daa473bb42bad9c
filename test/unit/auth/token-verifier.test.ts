import { JwtService } from '@nestjs/jwt';
import jwt from 'jsonwebtoken';
import { type AppConfig, parseConfig } from '../../../src/config/app-config.js';
import { TokenVerifier } from '../../../src/auth/token-verifier.js';

const SECRET = 'unit-test-secret-'.padEnd(40, 'x');
const now = () => Math.floor(Date.now() / 1000);

function verifier(env: Record<string, string> = {}): TokenVerifier {
  const parsed = parseConfig({ JWT_SECRET: SECRET, ...env }, { hostname: 'unit', pid: 1 });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return new TokenVerifier(new JwtService({ secret: SECRET }), parsed.config as AppConfig);
}

const token = (claims: Record<string, unknown>) => jwt.sign({ sub: 'alice', role: 'streamer', ...claims }, SECRET, { algorithm: 'HS256', noTimestamp: true });

test.each([
  ['valid for an hour', { iat: now(), exp: now() + 3600 }, true],
  ['expired 20 s ago: inside the 30 s leeway', { iat: now() - 3600, exp: now() - 20 }, true],
  ['expired 40 s ago', { iat: now() - 3600, exp: now() - 40 }, false],
  ['without exp', { iat: now() }, false],
  ['valid for exactly 24 h', { iat: now(), exp: now() + 24 * 3600 }, true],
  ['valid for 24 h and 2 min', { iat: now(), exp: now() + 24 * 3600 + 120 }, false],
  ['without iat, expiring in 25 h', { exp: now() + 25 * 3600 }, false],
  ['not valid before 20 s from now: inside the leeway', { iat: now(), exp: now() + 600, nbf: now() + 20 }, true],
  ['not valid before 2 min from now', { iat: now(), exp: now() + 600, nbf: now() + 120 }, false],
])('a token %s: accepted %s', async (_name, claims, accepted) => {
  expect((await verifier().verify(token(claims))) !== null).toBe(accepted);
});

test('the identity expires at exp plus the leeway: a live connection is refused only then', async () => {
  const exp = now() + 60;
  expect((await verifier().verify(token({ iat: now(), exp })))!.expiresAt).toBe((exp + 30) * 1000);
  expect((await verifier({ JWT_CLOCK_LEEWAY_MS: '0' }).verify(token({ iat: now(), exp })))!.expiresAt).toBe(exp * 1000);
});

test('TOKEN_MAX_LIFETIME_MS and JWT_ISSUER / JWT_AUDIENCE, when set, are required of every token', async () => {
  const strict = verifier({ TOKEN_MAX_LIFETIME_MS: '600000', JWT_ISSUER: 'https://auth.example', JWT_AUDIENCE: 'presence' });
  const good = { iat: now(), exp: now() + 300, iss: 'https://auth.example', aud: 'presence' };
  expect(await strict.verify(token(good))).toMatchObject({ role: 'streamer', id: 'alice' });
  expect(await strict.verify(token({ ...good, exp: now() + 900 }))).toBeNull();
  expect(await strict.verify(token({ ...good, iss: 'https://evil.example' }))).toBeNull();
  expect(await strict.verify(token({ ...good, aud: 'billing' }))).toBeNull();
  const { iss: _iss, ...noIssuer } = good;
  expect(await strict.verify(token(noIssuer))).toBeNull();
});
