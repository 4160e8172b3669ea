import { randomBytes } from 'node:crypto';
import { HBaseClient } from '../../../clients/hbase/thrift2.js';
import { createRedis, type Redis } from '../../../clients/redis.js';
import { type Config, loadConfig } from '../../../config/index.js';

// Shared by the store contract suites (one file per store role, every backend of the role
// through the same suite, as Gorse's storage/ tests do).

/**
 * The suites' own Redis database: no other test or bench uses 14, so a store's whole-keyspace
 * operation (dropAll, a global ZSET such as tf:pop:all) sees only what the suites wrote. Keys
 * are still unique per run and removed after.
 */
export const cfg: Config = loadConfig({ ...process.env, REDIS_URL: 'redis://127.0.0.1:6379/14' });

/** A suffix that makes this run's ids, rows and tables its own. */
export const runId = (): string => randomBytes(4).toString('hex');

/** Ids no key or row may be built from (validated against schemas/ids.ts' pattern). */
export const BAD_IDS = ['', 'has space', 'a:b', 'a|b', 'x'.repeat(129), 'ü'];

/**
 * A Redis client aimed at a port nothing listens on, without retries or an offline queue: any
 * command fails at once (OFFLINE_FAILURE), so a KeyError from a store proves the id was
 * refused before a command was sent.
 */
export function offlineRedis(): Redis {
  return createRedis(
    { redisUrl: 'redis://127.0.0.1:1/0', redisUsername: '', redisPassword: '' },
    { enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null },
  );
}

/** How a command on offlineRedis() fails: not writeable before the first connect attempt, closed after. */
export const OFFLINE_FAILURE = /writeable|closed/;

/** An HBase client aimed at a port nothing listens on: any call fails with a connection error. */
export function unreachableHBase(): HBaseClient {
  return new HBaseClient('127.0.0.1', 1, 1, cfg.hbaseNamespace);
}

export function storeRedis(): Redis {
  return createRedis(cfg);
}
