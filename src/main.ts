// First: quiets the libraries' disabled `debug` loggers before any library creates one.
import './logging/quiet-library-debug.js';
import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';
import { devOperatorToken } from './auth/dev-operator-token.js';
import { parseConfig } from './config/app-config.js';
import { Readiness } from './health/readiness.js';
import { applyHttpLimits, limitApiRate } from './http/connection-limits.js';
import { DrainService } from './lifecycle/drain.service.js';
import { RedisKeys } from './presence/infrastructure/redis/redis-keys.js';
import { ShardLayout } from './presence/infrastructure/redis/shard-layout.js';
import { PresenceIoAdapter } from './presence/transport/presence-io.adapter.js';
import { RedisConnections } from './redis/redis-connections.js';

const parsed = parseConfig(process.env, { hostname: hostname(), pid: process.pid });
if (!parsed.ok) {
  for (const problem of parsed.errors) process.stderr.write(`config error: ${problem}\n`);
  process.exit(1);
}
const config = parsed.config;
const logger = new ConsoleLogger({ json: true });
for (const warning of parsed.warnings) logger.warn(warning, 'Config');

// The deployment's keys: REDIS_SHARDS until the count recorded in Redis says otherwise (ShardLayoutSync).
const keys = new RedisKeys(config.redisKeyPrefix, new ShardLayout(config.redisShards));
const redis = config.redis === null ? null : new RedisConnections(config.redis, keys, { webhooks: config.webhookUrl !== null });
const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, redis), { logger });
// The dashboard page at `/`, built into dist/dashboard/public by `npm run build`.
app.useStaticAssets(fileURLToPath(new URL('./dashboard/public', import.meta.url)));
// Sharded pub/sub (Redis 7+) in "dynamic" mode: a pod subscribes only to the rooms it has viewers in,
// so it receives the events of the streamers its viewers follow, not every event of the cluster.
const crossPod = redis === null ? undefined : createShardedAdapter(redis.publisher, redis.subscriber, { subscriptionMode: 'dynamic' });
app.useWebSocketAdapter(new PresenceIoAdapter(app, config, app.get(Readiness), crossPod));
// Nothing about the stack for anonymous clients to read.
app.disable('x-powered-by');
app.use(limitApiRate(config.httpRatePerAddress, config.trustedProxyHops));
applyHttpLimits(app.getHttpServer(), { firstRequestTimeoutMs: config.httpFirstRequestTimeoutMs, maxConnections: config.maxConnections });
await app.listen(config.port, config.host);

const { port } = app.getHttpServer().address() as AddressInfo;
const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
const base = `http://${host}:${port}`;
const mode =
  config.redis === null
    ? 'embedded single-node mode (in-memory store)'
    : config.redis.kind === 'sentinel'
      ? `Redis mode (Sentinel, primary "${config.redis.masterName}")`
      : 'Redis mode';
logger.log(
  `Listening on ${base} in ${mode}. Console ${base}/ ; Socket.IO namespaces ${base}/streamer and ${base}/viewer; ` +
    `HTTP ${base}/v1/streamers, ${base}/healthz, ${base}/readyz, ${base}/metrics`,
  'Bootstrap',
);
if (!config.production) {
  // The fragment never reaches a server, a proxy or a log; the page keeps the token in session storage.
  const token = await devOperatorToken(config.jwtSecret);
  logger.log(`Console (operator, development only): ${base}/#token=${token}`, 'Bootstrap');
}

let stopping = false;
async function shutdown(signal: string, drain: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.log(`${signal}: ${drain ? 'draining, then exiting' : 'exiting'}`, 'Bootstrap');
  if (drain) await app.get(DrainService).drain();
  await app.close();
  await redis?.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM', true));
process.once('SIGINT', () => void shutdown('SIGINT', false));
