import { DEV_JWT_SECRET, parseConfig, type AppConfig, type ConfigResult, type Env } from '../../../src/config/app-config.js';

const HOST = { hostname: 'node-a', pid: 4242 };
const PROD_SECRET = 'p'.repeat(32);

function parse(env: Env): ConfigResult {
  return parseConfig(env, HOST);
}

function config(env: Env): AppConfig {
  const result = parse(env);
  if (!result.ok) throw new Error(`expected a valid config, got errors:\n${result.errors.join('\n')}`);
  return result.config;
}

function warnings(env: Env): string[] {
  const result = parse(env);
  if (!result.ok) throw new Error(`expected a valid config, got errors:\n${result.errors.join('\n')}`);
  return result.warnings;
}

function errors(env: Env): string[] {
  const result = parse(env);
  if (result.ok) throw new Error('expected errors, got a valid config');
  return result.errors;
}

describe('parseConfig defaults', () => {
  it('fills every field from the contract defaults for an empty environment', () => {
    expect(config({})).toEqual({
      production: false,
      port: 3000,
      host: '0.0.0.0',
      podId: 'node-a-4242',
      redisUrl: null,
      redis: null,
      redisKeyPrefix: 'presence:',
      redisShards: 16,
      jwtSecret: DEV_JWT_SECRET,
      jwtSecretIsDevDefault: true,
      heartbeatIntervalMs: 50_000,
      presenceTtlMs: 110_000,
      reconnectGraceMs: 10_000,
      lbIdleTimeoutMs: 60_000,
      pingIntervalMs: 25_000,
      pingTimeoutMs: 20_000,
      allowedOrigins: null,
      messageRateLimit: 10,
      drainMs: 10_000,
      eventLogRetentionMs: 86_400_000,
      jwtClockLeewayMs: 30_000,
      tokenMaxLifetimeMs: 86_400_000,
      httpFirstRequestTimeoutMs: 10_000,
      maxConnections: 20_000,
      trustedProxyHops: 0,
      handshakeRatePerAddress: 20,
      httpRatePerAddress: 50,
      subscriptionsPerAddress: 10_000,
      subscribeRatePerAddress: 500,
      eventLogMaxEntries: 100_000,
      connectionsPerAddress: 1_000,
      jwtIssuer: null,
      jwtAudience: null,
      webhookUrl: null,
      webhookSecret: null,
      faultInjection: null,
    });
  });

  it('reads the live process identity when none is passed', () => {
    const result = parseConfig({});
    expect(result.ok && result.config.podId).toMatch(new RegExp(`.-${process.pid}$`));
  });

  it.each([
    ['PORT', '8080', { port: 8080 }],
    ['PORT', '0', { port: 0 }],
    ['PORT', '65535', { port: 65535 }],
    ['HOST', '127.0.0.1', { host: '127.0.0.1' }],
    ['POD_NAME', 'presence-7c9f-abcde', { podId: 'presence-7c9f-abcde' }],
    ['REDIS_URL', 'redis://cache.internal:6379', { redisUrl: 'redis://cache.internal:6379', redis: { kind: 'single', url: 'redis://cache.internal:6379' } }],
    ['REDIS_URL', 'rediss://user:pw@cache.example:6380/2', { redisUrl: 'rediss://user:pw@cache.example:6380/2', redis: { kind: 'single', url: 'rediss://user:pw@cache.example:6380/2' } }],
    [
      'REDIS_URL',
      'redis+sentinel://s1:26379,s2,[::1]:26380/presence-primary',
      {
        redis: {
          kind: 'sentinel',
          sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }],
          masterName: 'presence-primary',
          tls: false,
        },
      },
    ],
    [
      'REDIS_URL',
      'rediss+sentinel://app:p%40ss@s1:26379/main',
      { redis: { kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }], masterName: 'main', tls: true, username: 'app', password: 'p@ss' } },
    ],
    ['REDIS_KEY_PREFIX', 'test-123:', { redisKeyPrefix: 'test-123:' }],
    ['RECONNECT_GRACE_MS', '0', { reconnectGraceMs: 0 }],
    ['DRAIN_MS', '0', { drainMs: 0 }],
    ['MESSAGE_RATE_LIMIT', '0', { messageRateLimit: 0 }],
    ['MESSAGE_RATE_LIMIT', '250', { messageRateLimit: 250 }],
    ['PING_INTERVAL_MS', '10000', { pingIntervalMs: 10_000, pingTimeoutMs: 20_000 }],
    ['PING_TIMEOUT_MS', '5000', { pingIntervalMs: 25_000, pingTimeoutMs: 5_000 }],
    ['NODE_ENV', 'development', { production: false }],
  ])('%s=%s is read', (name, value, expected) => {
    expect(config({ [name]: value })).toMatchObject(expected);
  });

  it.each([
    'PORT',
    'HOST',
    'POD_NAME',
    'REDIS_URL',
    'REDIS_KEY_PREFIX',
    'JWT_SECRET',
    'HEARTBEAT_INTERVAL_MS',
    'PRESENCE_TTL_MS',
    'RECONNECT_GRACE_MS',
    'LB_IDLE_TIMEOUT_MS',
    'PING_INTERVAL_MS',
    'PING_TIMEOUT_MS',
    'ALLOWED_ORIGINS',
    'MESSAGE_RATE_LIMIT',
    'DRAIN_MS',
    'NODE_ENV',
  ])('%s= (empty) counts as unset', (name) => {
    expect(config({ [name]: '' })).toEqual(config({}));
  });
});

describe('parseConfig derived ping defaults', () => {
  it.each([
    // LB 60000 gives exactly Socket.IO's own defaults.
    [60_000, 25_000, 20_000],
    // A scaled-down test config still starts without PING_* set.
    [1_500, 625, 500],
    [120_000, 25_000, 20_000],
  ])('LB_IDLE_TIMEOUT_MS=%i gives pingInterval %i and pingTimeout %i', (lb, interval, timeout) => {
    const result = parse({ LB_IDLE_TIMEOUT_MS: String(lb), HEARTBEAT_INTERVAL_MS: String(Math.floor(lb * 2 / 3)) });
    expect(result.ok && result.config).toMatchObject({ pingIntervalMs: interval, pingTimeoutMs: timeout });
  });

  it('starts the scaled-down test config LB=1500, heartbeat=1000 with no PING_* and no timing warnings', () => {
    const result = parse({ LB_IDLE_TIMEOUT_MS: '1500', HEARTBEAT_INTERVAL_MS: '1000', PRESENCE_TTL_MS: '2500' });
    expect(result).toMatchObject({ ok: true, config: { pingIntervalMs: 625, pingTimeoutMs: 500 } });
    expect(result.ok && result.warnings.filter((w) => !w.includes('JWT_SECRET'))).toEqual([]);
  });
});

describe('parseConfig invalid variables', () => {
  const positiveDurations = ['HEARTBEAT_INTERVAL_MS', 'PRESENCE_TTL_MS', 'LB_IDLE_TIMEOUT_MS', 'PING_INTERVAL_MS', 'PING_TIMEOUT_MS', 'EVENT_LOG_RETENTION_MS', 'TOKEN_MAX_LIFETIME_MS', 'HTTP_FIRST_REQUEST_TIMEOUT_MS'];
  const zeroOkDurations = ['RECONNECT_GRACE_MS', 'DRAIN_MS', 'JWT_CLOCK_LEEWAY_MS'];
  const notWhole = ['abc', '1e3', '10.5', '-1', ' 5000', '5000ms', '0x10', '+5'];

  const cases: Array<[string, string]> = [
    ...[...positiveDurations, ...zeroOkDurations].flatMap((name) => notWhole.map((value): [string, string] => [name, value])),
    ...positiveDurations.map((name): [string, string] => [name, '0']),
    ...[...positiveDurations, ...zeroOkDurations].map((name): [string, string] => [name, '2147483648']),
    ['PORT', 'http'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['MESSAGE_RATE_LIMIT', '-1'],
    ['MESSAGE_RATE_LIMIT', '2.5'],
    ['MESSAGE_RATE_LIMIT', 'off'],
    ['REDIS_URL', 'cache.internal:6379'],
    ['REDIS_URL', 'http://cache.internal:6379'],
    ['REDIS_URL', 'redis://['],
    ['REDIS_URL', 'redis+sentinel://s1:26379'],
    ['REDIS_URL', 'redis+sentinel://s1:26379,/main'],
    ['REDIS_URL', 'redis+sentinel://s1:99999/main'],
    ['REDIS_URL', 'redis+sentinel://s1/main?db=2'],
    ['REDIS_URL', 'redis+cluster://n1:7000,n2:7001/0'],
    ['REDIS_SHARDS', '0'],
    ['REDIS_SHARDS', '1025'],
    ['REDIS_SHARDS', 'sixteen'],
    ['REDIS_URL', 'redis+sharded://n1:7000'],
    ['ALLOWED_ORIGINS', 'https://a.example/'],
    ['ALLOWED_ORIGINS', 'https://a.example/app'],
    ['ALLOWED_ORIGINS', 'a.example'],
    ['ALLOWED_ORIGINS', '*'],
    ['ALLOWED_ORIGINS', 'https://a.example:99999'],
    ['ALLOWED_ORIGINS', 'https://a.example?x=1'],
    ['ALLOWED_ORIGINS', ' , '],
    ['WEBHOOK_URL', 'receiver.internal/hooks'],
    ['WEBHOOK_URL', 'ftp://receiver.internal/hooks'],
    ['WEBHOOK_SECRET', 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0'],
    ['WEBHOOK_SECRET', 'whsec_not base64!'],
    ['WEBHOOK_SECRET', `whsec_${Buffer.alloc(16, 1).toString('base64')}`],
    ['FAULT_INJECTION', 'everything'],
    ['MAX_CONNECTIONS', '0'],
    ['TRUSTED_PROXY_HOPS', '11'],
    ['HANDSHAKE_RATE_PER_ADDRESS', 'fast'],
    ['SUBSCRIPTIONS_PER_ADDRESS', '0'],
    ['SUBSCRIBE_RATE_PER_ADDRESS', '-1'],
    ['EVENT_LOG_MAX_ENTRIES', '0'],
    ['CONNECTIONS_PER_ADDRESS', 'lots'],
    ['MAX_CONNECTIONS', 'many'],
  ];

  it.each(cases)('%s=%j is reported by name, alone', (name, value) => {
    const found = errors({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(name);
  });

  it('WEBHOOK_URL needs WEBHOOK_SECRET; a secret is decoded and never echoed in a message', () => {
    expect(errors({ WEBHOOK_URL: 'https://backend.example/hooks' })).toEqual([expect.stringMatching(/^WEBHOOK_SECRET is required when WEBHOOK_URL is set/)]);
    const key = Buffer.alloc(32, 7);
    expect(config({ WEBHOOK_URL: 'https://backend.example/hooks', WEBHOOK_SECRET: `whsec_${key.toString('base64')}` }).webhookSecret).toEqual(key);
    const short = `whsec_${Buffer.alloc(16, 1).toString('base64')}`;
    expect(errors({ WEBHOOK_SECRET: short })[0]).not.toContain(short.slice(6));
  });

  it('FAULT_INJECTION is refused in production', () => {
    expect(errors({ NODE_ENV: 'production', JWT_SECRET: PROD_SECRET, FAULT_INJECTION: 'relay-exit-before-ack' })).toEqual([
      'FAULT_INJECTION is for tests only and is refused with NODE_ENV=production',
    ]);
    expect(config({ FAULT_INJECTION: 'relay-exit-before-ack' }).faultInjection).toBe('relay-exit-before-ack');
  });

  it('words a non-number duration as in the contract example', () => {
    expect(errors({ HEARTBEAT_INTERVAL_MS: 'abc' })).toEqual([
      'HEARTBEAT_INTERVAL_MS must be a whole number of milliseconds, got "abc"',
    ]);
  });

  it('reports every invalid variable at once, one line each', () => {
    const found = errors({
      PORT: 'x',
      HEARTBEAT_INTERVAL_MS: 'abc',
      PRESENCE_TTL_MS: '1.5',
      DRAIN_MS: '-1',
      REDIS_URL: 'localhost',
      ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path',
      MESSAGE_RATE_LIMIT: 'lots',
    });
    expect(found).toHaveLength(7);
    for (const name of ['PORT', 'HEARTBEAT_INTERVAL_MS', 'PRESENCE_TTL_MS', 'DRAIN_MS', 'REDIS_URL', 'ALLOWED_ORIGINS', 'MESSAGE_RATE_LIMIT']) {
      expect(found.filter((line) => line.startsWith(name))).toHaveLength(1);
    }
    expect(found.every((line) => !line.includes('\n'))).toBe(true);
  });

  it('lists every bad origin in the one ALLOWED_ORIGINS message', () => {
    const [message] = errors({ ALLOWED_ORIGINS: 'https://bad.example/,https://ok.example,ftp:/x' });
    expect(message).toContain('"https://bad.example/"');
    expect(message).toContain('"ftp:/x"');
    expect(message).not.toContain('"https://ok.example"');
  });

  it('does not echo Redis credentials in the REDIS_URL message', () => {
    const [message] = errors({ REDIS_URL: 'tcp://admin:hunter2@cache.example:6379' });
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('hunter2');
    expect(message).toContain('@cache.example:6379');
  });

  it('skips the timing rules that depend on a variable that did not parse', () => {
    // 70000 would break "heartbeat < LB", but LB is invalid, so only the LB error shows.
    expect(errors({ LB_IDLE_TIMEOUT_MS: 'soon', HEARTBEAT_INTERVAL_MS: '70000' })).toEqual([
      'LB_IDLE_TIMEOUT_MS must be a whole number of milliseconds, got "soon"',
    ]);
  });
});

describe('parseConfig ALLOWED_ORIGINS', () => {
  it.each([
    ['https://a.example', ['https://a.example']],
    [' https://a.example , http://localhost:8080 ,, ', ['https://a.example', 'http://localhost:8080']],
    // Stored the way browsers send the Origin header, so the handshake check compares strings.
    ['HTTPS://A.Example:443', ['https://a.example']],
    ['http://localhost:80', ['http://localhost']],
    ['http://[::1]:3000', ['http://[::1]:3000']],
    ['capacitor://localhost', ['capacitor://localhost']],
  ])('%j → %j', (value, expected) => {
    expect(config({ ALLOWED_ORIGINS: value }).allowedOrigins).toEqual(expected);
  });
});

describe('parseConfig timing rules', () => {
  it.each([
    [{ HEARTBEAT_INTERVAL_MS: '60000' }, ['HEARTBEAT_INTERVAL_MS', 'LB_IDLE_TIMEOUT_MS']],
    [{ HEARTBEAT_INTERVAL_MS: '1000', PRESENCE_TTL_MS: '1000' }, ['HEARTBEAT_INTERVAL_MS', 'PRESENCE_TTL_MS']],
    [{ PING_INTERVAL_MS: '40000', PING_TIMEOUT_MS: '20000' }, ['PING_INTERVAL_MS', 'PING_TIMEOUT_MS', 'LB_IDLE_TIMEOUT_MS']],
    [{ LB_IDLE_TIMEOUT_MS: '30000', HEARTBEAT_INTERVAL_MS: '10000', PING_INTERVAL_MS: '25000' }, ['PING_INTERVAL_MS', 'PING_TIMEOUT_MS', 'LB_IDLE_TIMEOUT_MS']],
  ])('%j is refused, naming %j', (env, names) => {
    const found = errors(env);
    expect(found).toHaveLength(1);
    for (const name of names) expect(found[0]).toContain(name);
  });

  it('reports several broken rules together', () => {
    expect(errors({ HEARTBEAT_INTERVAL_MS: '200000', PING_INTERVAL_MS: '59000' })).toHaveLength(3);
  });
});

describe('parseConfig warnings', () => {
  it.each([
    // LB − heartbeat = 5000, under 10 % of 60000.
    [{ HEARTBEAT_INTERVAL_MS: '55000', PRESENCE_TTL_MS: '120000' }, ['HEARTBEAT_INTERVAL_MS', 'LB_IDLE_TIMEOUT_MS', '10 %']],
    // LB − (ping interval + timeout) = 1000.
    [{ PING_INTERVAL_MS: '39000', PING_TIMEOUT_MS: '20000' }, ['PING_INTERVAL_MS', 'PING_TIMEOUT_MS', 'LB_IDLE_TIMEOUT_MS']],
    // TTL under twice the interval.
    [{ HEARTBEAT_INTERVAL_MS: '50000', PRESENCE_TTL_MS: '90000' }, ['PRESENCE_TTL_MS', 'HEARTBEAT_INTERVAL_MS', 'twice']],
  ])('%j warns, naming %j', (env, words) => {
    const found = warnings({ ...env, JWT_SECRET: PROD_SECRET });
    expect(found).toHaveLength(1);
    for (const word of words) expect(found[0]).toContain(word);
  });

  it('gives no warnings for the defaults with a real secret', () => {
    expect(warnings({ JWT_SECRET: PROD_SECRET })).toEqual([]);
  });

  it('a margin of exactly 10 % is not warned about', () => {
    expect(warnings({ HEARTBEAT_INTERVAL_MS: '54000', PRESENCE_TTL_MS: '120000', JWT_SECRET: PROD_SECRET })).toEqual([]);
  });
});

describe('parseConfig JWT secret', () => {
  it('outside production falls back to the dev secret with a loud warning', () => {
    const result = parse({});
    expect(result).toMatchObject({ ok: true, config: { jwtSecret: DEV_JWT_SECRET, jwtSecretIsDevDefault: true } });
    const warning = result.ok ? result.warnings.find((w) => w.includes('JWT_SECRET')) : undefined;
    expect(warning).toMatch(/forge/);
    expect(warning).toMatch(/production/i);
  });

  it('outside production uses a given secret, warning if production would refuse it', () => {
    expect(config({ JWT_SECRET: 'short' })).toMatchObject({ jwtSecret: 'short', jwtSecretIsDevDefault: false });
    expect(warnings({ JWT_SECRET: 'short' })).toEqual([expect.stringContaining('JWT_SECRET')]);
  });

  it.each([
    [{ NODE_ENV: 'production' }, /JWT_SECRET is required/],
    [{ NODE_ENV: 'production', JWT_SECRET: '' }, /JWT_SECRET is required/],
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) }, /JWT_SECRET must be at least 32 characters/],
    [{ NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET }, /JWT_SECRET must not be the built-in development secret/],
    // A public key there would be an HMAC key anyone can read, in development too.
    [{ NODE_ENV: 'production', JWT_SECRET: `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(64)}\n-----END PUBLIC KEY-----` }, /JWT_SECRET is a PEM key/],
    [{ JWT_SECRET: `  -----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}` }, /JWT_SECRET is a PEM key/],
  ])('%j is refused', (env, message) => {
    const found = errors(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('never puts the secret in a message', () => {
    const secret = 'tooShortButSecret';
    expect(errors({ NODE_ENV: 'production', JWT_SECRET: secret }).join('\n')).not.toContain(secret);
  });

  it('production with a 32-character secret starts without warnings', () => {
    const result = parse({ NODE_ENV: 'production', JWT_SECRET: PROD_SECRET });
    expect(result).toEqual({
      ok: true,
      warnings: [],
      config: expect.objectContaining({ production: true, jwtSecret: PROD_SECRET, jwtSecretIsDevDefault: false }),
    });
  });
});

describe('parseConfig result', () => {
  it('is frozen, the origin list too', () => {
    const frozen = config({ ALLOWED_ORIGINS: 'https://a.example' });
    expect(Object.isFrozen(frozen)).toBe(true);
    expect(Object.isFrozen(frozen.allowedOrigins)).toBe(true);
    expect(() => {
      (frozen as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('does not read or change the environment object it is given', () => {
    const env = Object.freeze({ PORT: '4000' });
    expect(config(env).port).toBe(4000);
  });
});
