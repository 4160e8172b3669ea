import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';

export type { Redis } from 'ioredis';

export type RedisSettings = Pick<Config, 'redisUrl' | 'redisUsername' | 'redisPassword'>;

/** The credentials of the settings, as ioredis options (they take precedence over the URL's). */
export function redisAuth(cfg: RedisSettings): Pick<RedisOptions, 'username' | 'password'> {
  return {
    ...(cfg.redisUsername ? { username: cfg.redisUsername } : {}),
    ...(cfg.redisPassword ? { password: cfg.redisPassword } : {}),
  };
}

/**
 * The project's Redis connection. Commands fail fast while Redis is down (no offline queue
 * growing without bound); callers that must survive an outage catch and degrade.
 */
export function createRedis(cfg: RedisSettings, opts: RedisOptions = {}): Redis {
  const client = new Redis(cfg.redisUrl, {
    ...redisAuth(cfg),
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

/** Unlinks every key matching `pattern` (SCAN in pages of 1,000); how many there were. */
export async function unlinkMatching(redis: Redis, pattern: string): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) n += await redis.unlink(...keys);
  } while (cursor !== '0');
  return n;
}
