import type { Cluster, Redis } from 'ioredis';

/**
 * A connection for commands: one Redis (single, or the primary Sentinel names) or a Cluster, which routes
 * each command by its keys. Code that takes one sends no multi-key command across shards and no
 * `pipeline()` (a Cluster pipeline must stay on one node): commands issued together are batched per
 * node by auto-pipelining instead.
 */
export type RedisClient = Redis | Cluster;
