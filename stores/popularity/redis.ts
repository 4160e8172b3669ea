import type { Redis } from '../../clients/redis.js';
import { fenceKey, popularityKeys } from '../sequence/keys.js';

export interface CountedEvent {
  offset: number;
  item_id: string;
  ts: number;
}

export interface PopularitySettings {
  hourTtlSeconds: number;
  dayTtlSeconds: number;
}

export const DEFAULT_POPULARITY: PopularitySettings = {
  hourTtlSeconds: 48 * 3600,
  dayTtlSeconds: 35 * 24 * 3600,
};

// Counts events into hour/day/all-time ZSETs and moves the partition's fence in one atomic
// script: a batch re-delivered after a crash finds its offsets at or below the fence and counts
// nothing twice. The caller passes only events that are new to the history (see the history
// processor), which keeps a producer's duplicate (same event id, new offset) from counting twice.
// KEYS: fence, then per event: hour, day; last: all-time. ARGV: new fence, hour TTL, day TTL,
// then per event: offset, item.
const COUNT_SCRIPT = `
local fence = tonumber(redis.call('GET', KEYS[1]) or '-1')
local all = KEYS[#KEYS]
local counted = 0
local count = (#ARGV - 3) / 2
for i = 0, count - 1 do
  local k, a = 2 + 2 * i, 4 + 2 * i
  if tonumber(ARGV[a]) > fence then
    local item = ARGV[a + 1]
    redis.call('ZINCRBY', KEYS[k], 1, item)
    redis.call('EXPIRE', KEYS[k], ARGV[2])
    redis.call('ZINCRBY', KEYS[k + 1], 1, item)
    redis.call('EXPIRE', KEYS[k + 1], ARGV[3])
    redis.call('ZINCRBY', all, 1, item)
    counted = counted + 1
  end
end
if tonumber(ARGV[1]) > fence then redis.call('SET', KEYS[1], ARGV[1]) end
return counted
`;

/** Events per script call: bounds how long one call holds Redis' single thread. */
const CHUNK = 500;

/** Popularity counters per time window in Redis (DESIGN.md §4), exactly once per event. */
export class RedisPopularityStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: PopularitySettings = DEFAULT_POPULARITY,
  ) {
    redis.defineCommand('countPopularity', { lua: COUNT_SCRIPT });
  }

  /** Counts `events` (ascending offsets) and moves the fence to `lastOffset`; returns how many were counted. */
  async count(
    fence: { group: string; topic: string; partition: number },
    events: CountedEvent[],
    lastOffset: number,
  ): Promise<number> {
    const fk = fenceKey(fence.group, fence.topic, fence.partition);
    let counted = 0;
    let i = 0;
    do {
      const chunk = events.slice(i, i + CHUNK);
      i += CHUNK;
      const last = i >= events.length ? lastOffset : (chunk[chunk.length - 1] as CountedEvent).offset;
      const keys: string[] = [fk];
      const args: (string | number)[] = [last, this.settings.hourTtlSeconds, this.settings.dayTtlSeconds];
      for (const e of chunk) {
        const pop = popularityKeys(e.ts);
        keys.push(pop.hour, pop.day);
        args.push(e.offset, e.item_id);
      }
      keys.push(popularityKeys(0).all);
      counted += Number(await this.redis.countPopularity(keys.length, ...keys, ...args));
    } while (i < events.length);
    return counted;
  }

  /** Most popular items of a popularity key (keys.ts), with counts. */
  async top(key: string, k: number): Promise<{ item_id: string; count: number }[]> {
    const flat = await this.redis.zrevrange(key, 0, k - 1, 'WITHSCORES');
    const out: { item_id: string; count: number }[] = [];
    for (let j = 0; j < flat.length; j += 2)
      out.push({ item_id: flat[j] as string, count: Number(flat[j + 1]) });
    return out;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    countPopularity(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
