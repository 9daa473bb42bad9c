import { checkAllowedOrigins } from './allowed-origins.js';
import { EnvReader, type Env, type IntegerSpec } from './env-reader.js';
import { resolveJwtSecret } from './jwt-secret.js';
import { currentProcessIdentity, type ProcessIdentity } from './process-identity.js';
import { checkRedisUrl, type RedisTopology } from './redis-url.js';
import { checkTiming, defaultPingIntervalMs, defaultPingTimeoutMs } from './timing-rules.js';
import { checkWebhookSecret, checkWebhookUrl } from './webhook-settings.js';

export { DEV_JWT_SECRET } from './jwt-secret.js';
export type { Env } from './env-reader.js';
export type { ProcessIdentity } from './process-identity.js';

/** The service's whole configuration, read from the environment once at start-up. Frozen. */
export interface AppConfig {
  /** NODE_ENV === 'production': turns the missing or weak JWT_SECRET cases into errors. */
  readonly production: boolean;
  /** PORT, 0..65535; 0 picks any free port. @default 3000 */
  readonly port: number;
  /** HOST, the interface to listen on. @default '0.0.0.0' */
  readonly host: string;
  /** POD_NAME, this process's id in the cluster. @default `${os.hostname()}-${process.pid}` */
  readonly podId: string;
  /** REDIS_URL as given; null selects the embedded single-node mode. Never logged (credentials). @default null */
  readonly redisUrl: string | null;
  /** What REDIS_URL names: one primary, a Sentinel set, or a Cluster; null in embedded mode. */
  readonly redis: RedisTopology | null;
  /** REDIS_KEY_PREFIX, prepended to every Redis key and channel. @default 'presence:' */
  readonly redisKeyPrefix: string;
  /**
   * REDIS_SHARDS, how many shards (hash tags) presence keys and the transition log are spread over: on
   * a Cluster, at least 4 per primary (docs/OPERATIONS.md "Redis Cluster"). @default 16
   */
  readonly redisShards: number;
  /** JWT_SECRET, the HS256 key. Required in production. @default DEV_JWT_SECRET outside production */
  readonly jwtSecret: string;
  /** True when `jwtSecret` is the public development secret. */
  readonly jwtSecretIsDevDefault: boolean;
  /** HEARTBEAT_INTERVAL_MS, the interval streamers are told to heartbeat at. @default 50000 */
  readonly heartbeatIntervalMs: number;
  /** PRESENCE_TTL_MS, how long a connection stays live without a heartbeat. @default 110000 */
  readonly presenceTtlMs: number;
  /** RECONNECT_GRACE_MS, how long a closed connection still counts as live; 0 allowed. @default 10000 */
  readonly reconnectGraceMs: number;
  /** LB_IDLE_TIMEOUT_MS, the idle timeout of the load balancer in front; only used to check timing. @default 60000 */
  readonly lbIdleTimeoutMs: number;
  /** PING_INTERVAL_MS, Socket.IO's pingInterval. @default min(25000, floor(LB_IDLE_TIMEOUT_MS * 5 / 12)) */
  readonly pingIntervalMs: number;
  /** PING_TIMEOUT_MS, Socket.IO's pingTimeout. @default min(20000, floor(LB_IDLE_TIMEOUT_MS / 3)) */
  readonly pingTimeoutMs: number;
  /** ALLOWED_ORIGINS, in Origin-header form; null allows every origin. @default null */
  readonly allowedOrigins: readonly string[] | null;
  /** MESSAGE_RATE_LIMIT, messages per second per connection; 0 turns the limit off. @default 10 */
  readonly messageRateLimit: number;
  /** DRAIN_MS, the time over which SIGTERM closes this pod's sockets; 0 allowed. @default 10000 */
  readonly drainMs: number;
  /** EVENT_LOG_RETENTION_MS, how long the transition log keeps an event (and webhooks retry it). @default 86400000 */
  readonly eventLogRetentionMs: number;
  /** EVENT_LOG_MAX_ENTRIES, embedded mode: transitions the in-memory log keeps at most, whatever their age. @default 100000 */
  readonly eventLogMaxEntries: number;
  /** WEBHOOK_URL, where every transition is POSTed; null turns webhooks off. @default null */
  readonly webhookUrl: string | null;
  /** WEBHOOK_SECRET's key bytes (the base64 after `whsec_`); required with WEBHOOK_URL. @default null */
  readonly webhookSecret: Buffer | null;
  /** JWT_CLOCK_LEEWAY_MS, how far past `exp` (and before `nbf`) a token still counts, for clock skew. @default 30000 */
  readonly jwtClockLeewayMs: number;
  /** TOKEN_MAX_LIFETIME_MS, the longest a token may be valid for (`exp` − `iat`, or − now without `iat`). @default 86400000 */
  readonly tokenMaxLifetimeMs: number;
  /** JWT_ISSUER, when set the `iss` every token must carry. @default null */
  readonly jwtIssuer: string | null;
  /** JWT_AUDIENCE, when set the `aud` every token must carry. @default null */
  readonly jwtAudience: string | null;
  /** HTTP_FIRST_REQUEST_TIMEOUT_MS, how long a new TCP connection has to send a complete request or upgrade. @default 10000 */
  readonly httpFirstRequestTimeoutMs: number;
  /** CONNECTIONS_PER_ADDRESS, open Socket.IO connections one client address may hold on a pod; 0 = off. @default 1000 */
  readonly connectionsPerAddress: number;
  /**
   * MAX_CONNECTIONS, open TCP connections per pod at most. An idle Socket.IO connection holds ~12 KB of
   * heap (npm run bench): 20,000 of them is ~240 MB of the 384 MB heap the manifests give a pod, where
   * 50,000 would not fit. @default 20000
   */
  readonly maxConnections: number;
  /** TRUSTED_PROXY_HOPS, proxies in front that append to X-Forwarded-For (the ingress: 1); 0 = the TCP peer is the client. @default 0 */
  readonly trustedProxyHops: number;
  /** HANDSHAKE_RATE_PER_ADDRESS, new Socket.IO handshakes per second per client address (bursts of twice); over it HTTP 429. 0 = off. @default 20 */
  readonly handshakeRatePerAddress: number;
  /** HTTP_RATE_PER_ADDRESS, HTTP API requests per second per client address (bursts of twice); over it 429. 0 = off. @default 50 */
  readonly httpRatePerAddress: number;
  /** SUBSCRIPTIONS_PER_ADDRESS, distinct viewer subscriptions one client address may hold on a pod. @default 10000 */
  readonly subscriptionsPerAddress: number;
  /** SUBSCRIBE_RATE_PER_ADDRESS, new viewer subscriptions per second per client address (bursts of twice); over it `rate_limited`. 0 = off. @default 500 */
  readonly subscribeRatePerAddress: number;
  /**
   * FAULT_INJECTION, for tests only: a named point where the process stops on purpose, e.g.
   * `relay-exit-before-ack` (a relay dies after taking events from the log, before acknowledging them).
   * @default null (none)
   */
  readonly faultInjection: FaultPoint | null;
}

/** The fault-injection points; each is off unless FAULT_INJECTION names it. */
export const FAULT_POINTS = ['relay-exit-before-ack'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export type ConfigResult =
  | { ok: true; config: AppConfig; warnings: string[] }
  | { ok: false; errors: string[] };

// Node's timers fire at once for delays above 2^31 - 1 ms, so a longer duration would silently become ~0.
const MAX_DURATION_MS = 2_147_483_647;

const POSITIVE_MS: IntegerSpec = {
  min: 1,
  max: MAX_DURATION_MS,
  expected: 'a whole number of milliseconds',
  tooSmall: 'greater than 0 ms',
  tooLarge: `at most ${MAX_DURATION_MS} ms (Node.js timers overflow beyond it)`,
};
const ZERO_OK_MS: IntegerSpec = { ...POSITIVE_MS, min: 0 };
const PORT: IntegerSpec = { min: 0, max: 65535, expected: 'a whole number from 0 to 65535' };
const RATE: IntegerSpec = {
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  expected: 'a whole number of messages per second (0 turns the limit off)',
};

/** REDIS_SHARDS' default: room for 4 primaries at 4 shards per primary. */
const DEFAULT_REDIS_SHARDS = 16;

/**
 * Parses and validates the environment. Every invalid variable and every broken timing rule is reported,
 * one message each, naming the variable(s). Pure: the caller passes the environment and, for the default
 * pod id, the process identity (read from the live process only when omitted).
 */
export function parseConfig(env: Env, host: ProcessIdentity = currentProcessIdentity()): ConfigResult {
  const read = new EnvReader(env);
  const production = read.raw('NODE_ENV') === 'production';

  const port = read.integer('PORT', 3000, PORT);
  const listenHost = read.string('HOST', '0.0.0.0');
  const podId = read.string('POD_NAME', `${host.hostname}-${host.pid}`);
  const redis = read.checked<RedisTopology | null>('REDIS_URL', null, checkRedisUrl);
  const redisUrl = redis === undefined ? undefined : redis === null ? null : (read.raw('REDIS_URL') ?? null);
  const redisKeyPrefix = read.string('REDIS_KEY_PREFIX', 'presence:');
  const redisShards = read.integer('REDIS_SHARDS', DEFAULT_REDIS_SHARDS, { min: 1, max: 1024, expected: 'a whole number of shards from 1 to 1024' });

  const heartbeatIntervalMs = read.integer('HEARTBEAT_INTERVAL_MS', 50_000, POSITIVE_MS);
  const presenceTtlMs = read.integer('PRESENCE_TTL_MS', 110_000, POSITIVE_MS);
  const reconnectGraceMs = read.integer('RECONNECT_GRACE_MS', 10_000, ZERO_OK_MS);
  const lbIdleTimeoutMs = read.integer('LB_IDLE_TIMEOUT_MS', 60_000, POSITIVE_MS);
  // The ping defaults follow the LB timeout; an invalid LB timeout leaves them none (its error is reported).
  const lb = lbIdleTimeoutMs;
  const pingIntervalDefault = lb === undefined ? undefined : defaultPingIntervalMs(lb);
  const pingTimeoutDefault = lb === undefined ? undefined : defaultPingTimeoutMs(lb);
  const pingIntervalMs = read.integer('PING_INTERVAL_MS', pingIntervalDefault, POSITIVE_MS);
  const pingTimeoutMs = read.integer('PING_TIMEOUT_MS', pingTimeoutDefault, POSITIVE_MS);
  const drainMs = read.integer('DRAIN_MS', 10_000, ZERO_OK_MS);
  const messageRateLimit = read.integer('MESSAGE_RATE_LIMIT', 10, RATE);
  const allowedOrigins = read.checked<readonly string[] | null>('ALLOWED_ORIGINS', null, checkAllowedOrigins);
  const eventLogRetentionMs = read.integer('EVENT_LOG_RETENTION_MS', 86_400_000, POSITIVE_MS);
  const eventLogMaxEntries = read.integer('EVENT_LOG_MAX_ENTRIES', 100_000, { ...RATE, min: 1, max: 10_000_000, expected: 'a whole number of transitions from 1 to 10000000' });
  const jwtClockLeewayMs = read.integer('JWT_CLOCK_LEEWAY_MS', 30_000, ZERO_OK_MS);
  const httpFirstRequestTimeoutMs = read.integer('HTTP_FIRST_REQUEST_TIMEOUT_MS', 10_000, POSITIVE_MS);
  const trustedProxyHops = read.integer('TRUSTED_PROXY_HOPS', 0, { min: 0, max: 10, expected: 'a whole number of proxies from 0 to 10' });
  const handshakeRatePerAddress = read.integer('HANDSHAKE_RATE_PER_ADDRESS', 20, RATE);
  const httpRatePerAddress = read.integer('HTTP_RATE_PER_ADDRESS', 50, RATE);
  const subscriptionsPerAddress = read.integer('SUBSCRIPTIONS_PER_ADDRESS', 10_000, { ...RATE, min: 1, expected: 'a whole number of subscriptions, at least 1' });
  const subscribeRatePerAddress = read.integer('SUBSCRIBE_RATE_PER_ADDRESS', 500, RATE);
  const connectionsPerAddress = read.integer('CONNECTIONS_PER_ADDRESS', 1_000, { ...RATE, expected: 'a whole number of connections (0 turns the limit off)' });
  const maxConnections = read.integer('MAX_CONNECTIONS', 20_000, { ...RATE, min: 1, expected: 'a whole number of connections, at least 1' });
  const tokenMaxLifetimeMs = read.integer('TOKEN_MAX_LIFETIME_MS', 86_400_000, POSITIVE_MS);
  const jwtIssuer = read.raw('JWT_ISSUER') ?? null;
  const jwtAudience = read.raw('JWT_AUDIENCE') ?? null;
  const webhookUrl = read.checked<string | null>('WEBHOOK_URL', null, checkWebhookUrl);
  const webhookSecret = read.checked<Buffer | null>('WEBHOOK_SECRET', null, checkWebhookSecret);
  const webhookErrors =
    typeof webhookUrl === 'string' && read.raw('WEBHOOK_SECRET') === undefined
      ? ['WEBHOOK_SECRET is required when WEBHOOK_URL is set (receivers verify every delivery with it)']
      : [];
  const faultInjection = read.checked<FaultPoint | null>('FAULT_INJECTION', null, (raw) =>
    (FAULT_POINTS as readonly string[]).includes(raw)
      ? { ok: true, value: raw as FaultPoint }
      : { ok: false, error: `FAULT_INJECTION must be one of ${FAULT_POINTS.join(', ')}, got ${JSON.stringify(raw)}` },
  );

  const secret = resolveJwtSecret(read.raw('JWT_SECRET'), production);
  const timing = checkTiming({ heartbeatIntervalMs, presenceTtlMs, lbIdleTimeoutMs, pingIntervalMs, pingTimeoutMs });

  // A test-only switch that kills the process on purpose has no business in production.
  const faultErrors = production && faultInjection ? ['FAULT_INJECTION is for tests only and is refused with NODE_ENV=production'] : [];
  const errors = [...read.errors, ...secret.errors, ...timing.errors, ...webhookErrors, ...faultErrors];
  if (errors.length > 0) return { ok: false, errors };

  const config: AppConfig = Object.freeze(
    definedValues({
      production,
      port,
      host: listenHost,
      podId,
      redisUrl,
      redis,
      redisKeyPrefix,
      redisShards,
      jwtSecret: secret.secret,
      jwtSecretIsDevDefault: secret.isDevDefault,
      heartbeatIntervalMs,
      presenceTtlMs,
      reconnectGraceMs,
      lbIdleTimeoutMs,
      pingIntervalMs,
      pingTimeoutMs,
      allowedOrigins: allowedOrigins && Object.freeze([...allowedOrigins]),
      messageRateLimit,
      drainMs,
      eventLogRetentionMs,
      eventLogMaxEntries,
      jwtClockLeewayMs,
      tokenMaxLifetimeMs,
      httpFirstRequestTimeoutMs,
      maxConnections,
      connectionsPerAddress,
      trustedProxyHops,
      handshakeRatePerAddress,
      httpRatePerAddress,
      subscriptionsPerAddress,
      subscribeRatePerAddress,
      jwtIssuer,
      jwtAudience,
      webhookUrl,
      webhookSecret,
      faultInjection,
    }),
  );
  return { ok: true, config, warnings: [...secret.warnings, ...timing.warnings] };
}

type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/** Narrows the parsed values once no error was reported: every `undefined` left was reported as an error. */
function definedValues<T extends object>(values: T): Defined<T> {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) throw new Error(`parseConfig: ${key} is undefined although no error was reported`);
  }
  return values as Defined<T>;
}
