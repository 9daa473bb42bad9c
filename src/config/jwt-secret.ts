/**
 * The secret used outside production when JWT_SECRET is unset. It is public (it is in this file), so anyone
 * can forge tokens signed with it: it exists only so a developer can start the service with no setup.
 */
export const DEV_JWT_SECRET = 'dev-only-insecure-presence-secret-change-me';

/** HS256 keys should carry at least 256 bits; 32 characters is the floor we can check without knowing the encoding. */
export const MIN_PRODUCTION_SECRET_LENGTH = 32;

export interface JwtSecretResolution {
  /** Absent when the secret is unusable; then `errors` says why. */
  readonly secret?: string;
  readonly isDevDefault: boolean;
  readonly errors: string[];
  readonly warnings: string[];
}

/**
 * Picks the signing secret. Messages never contain the secret itself, since they end up in logs.
 * `raw` is JWT_SECRET with '' already read as unset.
 */
export function resolveJwtSecret(raw: string | undefined, production: boolean): JwtSecretResolution {
  // A key in PEM form is a mistake for an asymmetric setup, and a dangerous one: tokens are verified with
  // HS256 and this text as the HMAC key, so anyone holding it (a public key is public) could mint them.
  if (raw !== undefined && raw.trimStart().startsWith('-----BEGIN')) {
    return refused('JWT_SECRET is a PEM key or certificate; it must be a shared HS256 secret (this service does not verify RS256 or ES256 tokens)');
  }
  if (production) {
    if (raw === undefined) {
      return refused('JWT_SECRET is required when NODE_ENV=production (an HS256 secret of at least 32 characters)');
    }
    if (raw === DEV_JWT_SECRET) {
      return refused('JWT_SECRET must not be the built-in development secret when NODE_ENV=production: it is public');
    }
    if (raw.length < MIN_PRODUCTION_SECRET_LENGTH) {
      return refused(
        `JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when NODE_ENV=production (HS256 wants a key of 256 bits or more), got ${raw.length}`,
      );
    }
    return { secret: raw, isDevDefault: false, errors: [], warnings: [] };
  }

  if (raw === undefined || raw === DEV_JWT_SECRET) {
    return {
      secret: DEV_JWT_SECRET,
      isDevDefault: true,
      errors: [],
      warnings: [
        'INSECURE: JWT_SECRET is not set, so the built-in development secret is in use. It is public: anyone can forge ' +
          'tokens signed with it, for any streamer. Production needs JWT_SECRET (at least 32 characters); ' +
          'NODE_ENV=production refuses to start without it.',
      ],
    };
  }

  const warnings =
    raw.length < MIN_PRODUCTION_SECRET_LENGTH
      ? [`JWT_SECRET is shorter than ${MIN_PRODUCTION_SECRET_LENGTH} characters; NODE_ENV=production would refuse it`]
      : [];
  return { secret: raw, isDevDefault: false, errors: [], warnings };
}

function refused(error: string): JwtSecretResolution {
  return { isDevDefault: false, errors: [error], warnings: [] };
}
