import type { Redis } from '../../clients/redis.js';
import { ConfigError } from '../../config/index.js';
import { type FencedPartition, fenceKeyOf } from '../fence.js';
import type { CountedEvent, Exclusion, ItemCount, PopularityStore, PopularityWindow } from './index.js';
import { ALL_TIME_POPULARITY_KEY, popularityKeys } from './keys.js';

export type CountedWindow = 'all' | 'day' | 'hour';

export interface PopularitySettings {
  /** The windows counted; reading another is an error, not a silent zero. */
  windows: readonly CountedWindow[];
  hourTtlSeconds: number;
  dayTtlSeconds: number;
}

export const DEFAULT_POPULARITY: PopularitySettings = {
  windows: ['all'],
  hourTtlSeconds: 48 * 3600,
  dayTtlSeconds: 35 * 24 * 3600,
};

/** The settings from the configuration (POPULARITY_WINDOWS); `all` is required: recall reads it. */
export function popularitySettings(cfg: { popularityWindows: string[] }): PopularitySettings {
  if (!cfg.popularityWindows.includes('all'))
    throw new ConfigError('POPULARITY_WINDOWS must list all: the recall API reads the all-time counts');
  return { ...DEFAULT_POPULARITY, windows: cfg.popularityWindows as CountedWindow[] };
}

// Counts events into the all-time ZSET (and the hour and day ones when configured) and moves
// the partition's fence in one atomic script: a batch re-delivered after a crash finds its
// offsets at or below the fence and counts nothing twice. The caller passes only events that are
// new to the history (see the history processor), which keeps a producer's duplicate (same event
// id, new offset) from counting twice.
// Counts are summed per (key, item) before the call, so a popular item costs one ZINCRBY per
// batch, not one per event. The script applies only if the fence still holds the value the
// caller filtered against (compare-and-set), else returns -1 and the caller re-reads it.
// KEYS: fence, then the counter keys. ARGV: expected fence, new fence, then per counter key:
// TTL (0: none), m, then m pairs (increment, item).
const COUNT_SCRIPT = `
local fence = redis.call('GET', KEYS[1]) or '-1'
if fence ~= ARGV[1] then return -1 end
local a = 3
for k = 2, #KEYS do
  local ttl, m = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  for j = 1, m do
    redis.call('ZINCRBY', KEYS[k], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  if ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) end
end
if tonumber(ARGV[2]) > tonumber(fence) then redis.call('SET', KEYS[1], ARGV[2]) end
return 0
`;

/** Events per script call (≤ 6 arguments each): bounds the call's size and how long it holds Redis. */
const CHUNK = 2000;

const keyOf = (w: PopularityWindow): string =>
  w === 'all'
    ? ALL_TIME_POPULARITY_KEY
    : 'hour' in w
      ? popularityKeys(w.hour).hour
      : popularityKeys(w.day).day;

/** Popularity counters as Redis ZSETs (item → count) per window, keys in keys.ts. */
export class RedisPopularityStore implements PopularityStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: PopularitySettings = DEFAULT_POPULARITY,
  ) {
    redis.defineCommand('countPopularity', { lua: COUNT_SCRIPT });
    this.extraWindows = { hour: settings.windows.includes('hour'), day: settings.windows.includes('day') };
  }

  private readonly extraWindows: { hour: boolean; day: boolean };

  private keyOf(w: PopularityWindow): string {
    const name: CountedWindow = w === 'all' ? 'all' : 'hour' in w ? 'hour' : 'day';
    if (!this.settings.windows.includes(name))
      throw new ConfigError(`the popularity window "${name}" is not counted: add it to POPULARITY_WINDOWS`);
    return keyOf(w);
  }

  async count(fence: FencedPartition, events: CountedEvent[], lastOffset: number): Promise<number> {
    const fk = fenceKeyOf(fence);
    let counted = 0;
    // chunks in offset order, each atomically counted with the fence moved to its last offset:
    // a crash between chunks re-counts nothing
    for (let i = 0; i === 0 || i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      const last = i + CHUNK >= events.length ? lastOffset : (chunk[chunk.length - 1] as CountedEvent).offset;
      counted += await this.countChunk(fk, chunk, last);
    }
    return counted;
  }

  private async countChunk(fk: string, events: CountedEvent[], lastOffset: number): Promise<number> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = (await this.redis.get(fk)) ?? '-1';
      const fresh = events.filter((e) => e.offset > Number(current));
      const counters = new Map<string, { ttl: number; items: Map<string, number> }>();
      const bump = (key: string, ttl: number, item: string) => {
        const c = counters.get(key) ?? { ttl, items: new Map<string, number>() };
        counters.set(key, c);
        c.items.set(item, (c.items.get(item) ?? 0) + 1);
      };
      const { hour, day } = this.extraWindows;
      for (const e of fresh) {
        const pop = popularityKeys(e.ts);
        if (hour) bump(pop.hour, this.settings.hourTtlSeconds, e.item_id);
        if (day) bump(pop.day, this.settings.dayTtlSeconds, e.item_id);
        bump(pop.all, 0, e.item_id);
      }
      const keys = [fk, ...counters.keys()];
      const args: (string | number)[] = [current, Math.max(lastOffset, Number(current))];
      for (const c of counters.values()) {
        args.push(c.ttl, c.items.size);
        for (const [item, n] of c.items) args.push(n, item);
      }
      const r = Number(await this.redis.countPopularity(keys.length, ...keys, ...args));
      if (r === 0) return fresh.length;
    }
    throw new Error(`popularity fence ${fk} kept changing: is another consumer writing this partition?`);
  }

  async top(window: PopularityWindow, k: number, exclude?: Exclusion): Promise<ItemCount[]> {
    const flat = await this.redis.zrevrange(this.keyOf(window), 0, k + (exclude?.max ?? 0) - 1, 'WITHSCORES');
    const out: ItemCount[] = [];
    for (let j = 0; j < flat.length && out.length < k; j += 2) {
      const id = flat[j] as string;
      if (!exclude?.has(id)) out.push({ item_id: id, count: Number(flat[j + 1]) });
    }
    return out;
  }

  async counts(window: PopularityWindow, itemIds: readonly string[]): Promise<number[]> {
    if (itemIds.length === 0) return [];
    const raw = await this.redis.zmscore(this.keyOf(window), ...itemIds);
    return raw.map((c) => Number(c ?? 0));
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    countPopularity(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
