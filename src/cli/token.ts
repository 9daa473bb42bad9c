// Mints a token for a streamer app or viewer client, signed with the secret the service itself would use
// for this environment. stdout carries the token and nothing else, so `TOKEN=$(npm run -s token -- ...)`
// works; everything else (warnings, errors, usage) goes to stderr.
// Exit codes: 0 token printed, 1 invalid configuration, 2 invalid arguments.
import { parseArgs } from 'node:util';
import { JwtService } from '@nestjs/jwt';
import { parseConfig } from '../config/app-config.js';
import { isStreamerId } from '../presence/domain/streamer-id.js';

const USAGE = `usage: npm run -s token -- --role streamer|viewer|operator --sub <id> [--ttl <seconds>]
       node dist/cli/token.js --role streamer|viewer|operator --sub <id> [--ttl <seconds>]

Prints one HS256 JWT with claims sub, role and exp, signed with JWT_SECRET
(outside production, the public development secret when JWT_SECRET is unset).

  --role  streamer, viewer, or operator (the event feed, the timeline)
  --sub   the streamer, viewer or operator id; streamer ids match ^[A-Za-z0-9_.:-]{1,64}$
  --ttl   lifetime in seconds (default 86400, 24 hours)`;

/** @default 24 hours */
const DEFAULT_TTL_SECONDS = 86_400;
// A longer-lived token is almost certainly a typo, and one that leaks can never be taken back.
const MAX_TTL_SECONDS = 366 * 86_400;
// The service refuses viewer tokens whose sub is longer (src/auth/token-verifier.ts).
const MAX_VIEWER_ID_LENGTH = 256;

interface TokenRequest {
  readonly role: 'streamer' | 'viewer' | 'operator';
  readonly sub: string;
  readonly ttlSeconds: number;
}

type ArgsResult =
  | { readonly kind: 'help' }
  | { readonly kind: 'bad'; readonly problem: string }
  | { readonly kind: 'ok'; readonly request: TokenRequest };

function parseTokenArgs(argv: string[]): ArgsResult {
  let values: { role?: string; sub?: string; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        role: { type: 'string' },
        sub: { type: 'string' },
        ttl: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { kind: 'bad', problem: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: 'help' };

  const { role, sub, ttl } = values;
  if (role !== 'streamer' && role !== 'viewer' && role !== 'operator') {
    return { kind: 'bad', problem: `--role must be streamer, viewer or operator, got ${JSON.stringify(role ?? '')}` };
  }
  if (sub === undefined || sub === '') return { kind: 'bad', problem: '--sub is required' };
  if (role === 'streamer' && !isStreamerId(sub)) {
    return { kind: 'bad', problem: `--sub must match ^[A-Za-z0-9_.:-]{1,64}$ for a streamer, got ${JSON.stringify(sub)}` };
  }
  if (sub.length > MAX_VIEWER_ID_LENGTH) {
    return { kind: 'bad', problem: `--sub must be at most ${MAX_VIEWER_ID_LENGTH} characters` };
  }

  let ttlSeconds = DEFAULT_TTL_SECONDS;
  if (ttl !== undefined) {
    ttlSeconds = /^\d+$/.test(ttl) ? Number(ttl) : 0;
    if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      return { kind: 'bad', problem: `--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}, got ${JSON.stringify(ttl)}` };
    }
  }
  return { kind: 'ok', request: { role, sub, ttlSeconds } };
}

async function main(): Promise<number> {
  const args = parseTokenArgs(process.argv.slice(2));
  if (args.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.kind === 'bad') {
    process.stderr.write(`token: ${args.problem}\n\n${USAGE}\n`);
    return 2;
  }

  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    for (const error of parsed.errors) process.stderr.write(`token: ${error}\n`);
    return 1;
  }
  for (const warning of parsed.warnings) process.stderr.write(`token: warning: ${warning}\n`);

  const { role, sub, ttlSeconds } = args.request;
  // The service refuses tokens valid for longer: better to say so here than mint a useless one.
  const maxSeconds = Math.floor(parsed.config.tokenMaxLifetimeMs / 1000);
  if (ttlSeconds > maxSeconds) {
    process.stderr.write(`token: --ttl ${ttlSeconds} is longer than TOKEN_MAX_LIFETIME_MS allows (${maxSeconds} s)\n`);
    return 2;
  }
  const jwt = new JwtService({ secret: parsed.config.jwtSecret });
  const token = await jwt.signAsync({ sub, role }, { algorithm: 'HS256', expiresIn: ttlSeconds });
  process.stdout.write(`${token}\n`);
  return 0;
}

// exitCode rather than exit(): stdout may be a pipe, and exit() could cut the token short.
process.exitCode = await main();
