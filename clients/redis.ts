import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';

export type { Redis } from 'ioredis';

/**
 * The project's Redis connection. Commands fail fast while Redis is down (no offline queue
 * growing without bound); callers that must survive an outage catch and degrade.
 */
export function createRedis(cfg: Pick<Config, 'redisUrl'>, opts: RedisOptions = {}): Redis {
  const client = new Redis(cfg.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...opts,
  });
  client.on('error', () => {
    // surfaced through the failing commands; without a listener ioredis would print each retry
  });
  return client;
}
