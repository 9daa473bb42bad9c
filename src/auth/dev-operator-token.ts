import { JwtService } from '@nestjs/jwt';

/** How long the development dashboard link's operator token lasts. */
export const DEV_OPERATOR_TOKEN_TTL_S = 12 * 3600;

/**
 * A short-lived operator token for the dashboard link printed at start in development, so that
 * `npm start` ends with one link to click. Never in production: there, operators mint their own
 * (`npm run token -- --role operator --sub <name>`).
 */
export function devOperatorToken(secret: string): Promise<string> {
  return new JwtService({ secret }).signAsync({ sub: 'dev-console', role: 'operator' }, { algorithm: 'HS256', expiresIn: DEV_OPERATOR_TOKEN_TTL_S });
}
