import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { isStreamerId } from '../presence/domain/streamer-id.js';
import type { Identity } from './identity.js';

/**
 * Verifies HS256 tokens and the claims this service reads. Only HS256 is accepted, so a token cannot
 * pick its own algorithm (`none`, or an asymmetric one keyed by our secret). `exp` is required and
 * honoured with JWT_CLOCK_LEEWAY_MS of leeway (as is `nbf` when present); a token valid for longer than
 * TOKEN_MAX_LIFETIME_MS is refused, so a leaked one cannot live for ever; `iss` and `aud` must match
 * when JWT_ISSUER / JWT_AUDIENCE are set.
 */
@Injectable()
export class TokenVerifier {
  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The identity a token proves, or null for any token that is missing, malformed, expired, too long-lived or forged. */
  async verify(token: unknown): Promise<Identity | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return null;
    const leewayS = Math.floor(this.config.jwtClockLeewayMs / 1000);
    let claims: Record<string, unknown>;
    try {
      claims = await this.jwt.verifyAsync<Record<string, unknown>>(token, {
        algorithms: ['HS256'],
        clockTolerance: leewayS,
        ...(this.config.jwtIssuer === null ? {} : { issuer: this.config.jwtIssuer }),
        ...(this.config.jwtAudience === null ? {} : { audience: this.config.jwtAudience }),
      });
    } catch {
      return null;
    }
    const { sub, role, exp, iat } = claims;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) return null;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return null;
    const issuedAt = typeof iat === 'number' && Number.isFinite(iat) ? iat * 1000 : Date.now();
    if (exp * 1000 - issuedAt > this.config.tokenMaxLifetimeMs + this.config.jwtClockLeewayMs) return null;
    // Refused once past `exp` plus the leeway, on live connections too (see `hasExpired`).
    const expiresAt = exp * 1000 + leewayS * 1000;
    if (role === 'streamer' && isStreamerId(sub)) return { role, id: sub, expiresAt };
    if (role === 'viewer' || role === 'operator') return { role, id: sub, expiresAt };
    return null;
  }
}
