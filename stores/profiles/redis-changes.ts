import type { Redis } from '../../clients/redis.js';
import type { ItemChangeLog } from './index.js';
import { ITEMS_CHANGED_KEY } from './keys.js';

/** How long the change log keeps an item: longer than any daily job runs. */
export const CHANGE_LOG_MS = 2 * 86_400_000;

/** The item change log as one Redis ZSET (item → wall-clock ms of its latest change). */
export class RedisItemChangeLog implements ItemChangeLog {
  constructor(private readonly redis: Redis) {}

  async record(itemIds: string[]): Promise<void> {
    if (itemIds.length === 0) return;
    const now = Date.now();
    const [[err]] = ((await this.redis
      .multi()
      .zadd(ITEMS_CHANGED_KEY, ...itemIds.flatMap((id) => [now, id]))
      .zremrangebyscore(ITEMS_CHANGED_KEY, '-inf', now - CHANGE_LOG_MS)
      .exec()) ?? [[null]]) as [[Error | null]];
    if (err) throw err;
  }

  since(ms: number): Promise<string[]> {
    return this.redis.zrangebyscore(ITEMS_CHANGED_KEY, ms, '+inf');
  }
}
