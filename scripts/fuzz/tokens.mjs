// Tokens: HS256 with the pod's secret, as the app expects them, plus every kind it must refuse.
import jwt from 'jsonwebtoken';
import { FUZZ_STREAMERS } from './identities.mjs';

const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `lifetimeSec` must outlast the run, or the fuzzers' own tokens expire under them. */
export function makeTokens(secret, lifetimeSec) {
  const now = Math.floor(Date.now() / 1000);
  const claims = (sub, role, life = lifetimeSec) => ({ sub, role, iat: now, exp: now + life });
  const sign = (payload, key = secret, algorithm = 'HS256') => jwt.sign(payload, key, { algorithm });
  return {
    mint: (sub, role) => sign(claims(sub, role)),
    streamer: FUZZ_STREAMERS.map((id) => sign(claims(id, 'streamer'))),
    viewer: [sign(claims('fz-viewer', 'viewer')), sign(claims('fz-s0', 'streamer')), sign(claims('fz-ops', 'operator'))],
    operator: sign(claims('fz-ops', 'operator')),
    bad: [
      sign({ ...claims('fz-s0', 'streamer'), iat: now - 7_200, exp: now - 3_600 }), // expired well past the leeway
      sign(claims('fz-s0', 'streamer'), 'not-the-secret-'.repeat(4)),
      sign(claims('fz-s0', 'streamer'), secret, 'HS512'),
      `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims('fz-s0', 'streamer'))}.`,
      sign(claims('fz-s0', 'streamer', 48 * 3_600)), // longer than TOKEN_MAX_LIFETIME_MS
      sign(claims('fz-s0', 'admin')),
      sign(claims('a b/../c', 'streamer')),
      sign(claims('x'.repeat(300), 'viewer')),
      sign({ ...claims('fz-s0', 'streamer'), pad: 'p'.repeat(5_000) }), // over 4096 characters
      sign({ sub: 'fz-s0', role: 'streamer', iat: now }), // no exp
      sign({ ...claims('fz-s0', 'streamer'), nbf: now + 3_600 }),
      sign(claims('', 'viewer')),
      sign({ ...claims('fz-s0', 'streamer'), sub: 42 }),
      sign({ ...claims('fz-s0', 'streamer'), role: ['streamer'] }),
      'not.a.jwt', '', 'Bearer x', `eyJ${'A'.repeat(50)}`, 'a.b.c', '..', '\u0000',
    ],
  };
}
