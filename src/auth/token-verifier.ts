import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { isStreamerId } from '../presence/domain/streamer-id.js';
import type { Identity } from './identity.js';

/**
 * Verifies HS256 tokens (signature, `exp`) and the claims this service reads. Only HS256 is accepted, so
 * a token cannot pick its own algorithm (`none`, or an asymmetric one keyed by our secret).
 */
@Injectable()
export class TokenVerifier {
  constructor(private readonly jwt: JwtService) {}

  /** The identity a token proves, or null for any token that is missing, malformed, expired or forged. */
  async verify(token: unknown): Promise<Identity | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return null;
    let claims: Record<string, unknown>;
    try {
      claims = await this.jwt.verifyAsync<Record<string, unknown>>(token, { algorithms: ['HS256'] });
    } catch {
      return null;
    }
    const { sub, role, exp } = claims;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) return null;
    const expiresAt = typeof exp === 'number' ? exp * 1000 : null;
    if (role === 'streamer' && isStreamerId(sub)) return { role, id: sub, expiresAt };
    if (role === 'viewer' || role === 'operator') return { role, id: sub, expiresAt };
    return null;
  }
}
