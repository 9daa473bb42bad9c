import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../../src/config/app-config.js';

/** Claims and signing options for {@link signToken}. */
export interface TokenOptions {
  /** The streamer or viewer id. */
  sub: string;
  /** `'streamer'` or `'viewer'`; any other string makes a token the app must refuse. */
  role: string;
  /** @default DEV_JWT_SECRET, the app's development secret (used when JWT_SECRET is unset) */
  secret?: string;
  /** Seconds from now until `exp`; negative makes an already expired token. @default 3600 */
  expiresInSec?: number;
  /** @default 'HS256' */
  algorithm?: jwt.Algorithm;
}

/**
 * HMAC keys by secret. Given a string, jsonwebtoken first tries to parse it as a PEM private key and
 * builds the error it throws, on every sign: a tenth of the soak generator's busy time at 12,000 clients.
 */
const secretKeys = new Map<string, KeyObject>();

/** A signed JWT as the app expects it: `{ sub, role, iat, exp }`. */
export function signToken(options: TokenOptions): string {
  const { sub, role, secret = DEV_JWT_SECRET, expiresInSec = 3600, algorithm = 'HS256' } = options;
  const iat = Math.floor(Date.now() / 1000);
  let key: string | KeyObject = secret;
  if (algorithm.startsWith('HS')) {
    key = secretKeys.get(secret) ?? createSecretKey(Buffer.from(secret, 'utf8'));
    secretKeys.set(secret, key);
  }
  // exp is set by hand rather than with `expiresIn`, so that a negative lifetime is possible.
  return jwt.sign({ sub, role, iat, exp: iat + expiresInSec }, key, { algorithm });
}

/** `Authorization` for the operators' routes (the event feed, the timeline), signed with the dev secret. */
export function operatorHeaders(sub = 'test-operator'): Record<string, string> {
  return { Authorization: `Bearer ${signToken({ sub, role: 'operator' })}` };
}
