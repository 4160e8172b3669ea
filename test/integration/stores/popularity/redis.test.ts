import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import { fenceKeyOf } from '../../../../stores/fence.js';
import type { CountedEvent, PopularityStore } from '../../../../stores/popularity/index.js';
import { ALL_TIME_POPULARITY_KEY, popularityKeys } from '../../../../stores/popularity/keys.js';
import { popularitySettings, RedisPopularityStore } from '../../../../stores/popularity/redis.js';
import { BAD_IDS, OFFLINE_FAILURE, offlineRedis, runId, storeRedis } from '../support.js';

// The popularity store's contract (stores/popularity/index.ts) on the real Redis. Each run
// counts at an hour of its own in the 1990s and items of its own, so its windows are its own.
const run = runId();
const HOUR = 3_600_000;
// a day of the 1990s, at an hour from 00:00 to 22:00, so the hour after it is the same day
// (a base at 23:00, one hour in 24, put the second hour into the next day: a clean CI run failed so)
const seed = Number.parseInt(run, 16);
const base = Date.UTC(1990, 0, 1) + (seed % (365 * 9)) * 24 * HOUR + (seed % 23) * HOUR;
const redis = storeRedis();
const offline = offlineRedis();
const settings = { windows: ['all', 'day', 'hour'] as const, hourTtlSeconds: 100, dayTtlSeconds: 200 };
const store: PopularityStore = new RedisPopularityStore(redis, settings);
const items = new Set<string>();
const fences: string[] = [];
let hours = 0;

/** A fresh hour of this run (its own hour and day windows never see another test's counts). */
function hour(): number {
  return base + 30 * 24 * HOUR * hours++;
}

function fence(name: string) {
  const f = { group: `pop-${name}-${run}`, topic: 'behaviour', partition: 0 };
  fences.push(fenceKeyOf(f));
  return f;
}

function item(name: string): string {
  const id = `${name}-${run}`;
  items.add(id);
  return id;
}

const events = (ts: number, ...ids: string[]): CountedEvent[] =>
  ids.map((item_id, i) => ({ offset: 100 + i, item_id, ts }));

describe('popularity store (Redis)', () => {
  beforeAll(() => redis.connect());
  afterAll(async () => {
    const keys = Array.from({ length: hours }, (_, h) => {
      const k = popularityKeys(base + 30 * 24 * HOUR * h);
      return [k.hour, k.day];
    }).flat();
    await redis.del(...keys, ...fences);
    await redis.zrem(ALL_TIME_POPULARITY_KEY, ...items);
    await redis.quit();
    offline.disconnect();
  });

  it('counts each event into its hour, its day and all time', async () => {
    const t = hour();
    const [a, b] = [item('a'), item('b')];
    // the same day, two hours
    const batch = [...events(t, a, a, b), ...events(t + HOUR, a)].map((e, i) => ({ ...e, offset: i }));
    expect(await store.count(fence('windows'), batch, 3)).toBe(4);
    expect(await store.counts({ hour: t }, [a, b])).toEqual([2, 1]);
    expect(await store.counts({ hour: t + HOUR }, [a, b])).toEqual([1, 0]);
    expect(await store.counts({ day: t }, [a, b])).toEqual([3, 1]);
    expect(await store.counts('all', [b, a])).toEqual([1, 3]);
  });

  it('counts an event once: a re-delivered batch, or its part below the fence, adds nothing', async () => {
    const t = hour();
    const f = fence('once');
    const ids = Array.from({ length: 10 }, (_, i) => item(`once${i % 5}`));
    const batch = events(t, ...ids);
    expect(await store.count(f, batch.slice(0, 4), 103)).toBe(4);
    expect(await store.count(f, batch, 109)).toBe(6);
    expect(await store.count(f, batch, 109)).toBe(0);
    expect(await store.counts({ hour: t }, ids.slice(0, 5))).toEqual([2, 2, 2, 2, 2]);
    expect(await store.counts('all', ids.slice(0, 5))).toEqual([2, 2, 2, 2, 2]);
  });

  it('counts a batch larger than one script call exactly once, across a crash between chunks', async () => {
    const t = hour();
    const f = fence('chunks');
    const ids = Array.from({ length: 50 }, (_, i) => item(`chunk${i}`));
    const batch = Array.from({ length: 5000 }, (_, i) => ({
      offset: 1000 + i,
      item_id: ids[i % 50] as string,
      ts: t,
    }));
    // a crash after the first 3,000 were counted: the fence moved to their last offset
    expect(await store.count(f, batch.slice(0, 3000), 3999)).toBe(3000);
    expect(await store.count(f, batch, 5999)).toBe(2000);
    expect(await store.count(f, batch, 5999)).toBe(0);
    expect(new Set(await store.counts({ hour: t }, ids))).toEqual(new Set([100]));
    expect((await store.top({ hour: t }, 3)).map((c) => c.count)).toEqual([100, 100, 100]);
  });

  it('keeps partitions apart: one fence does not hold back another', async () => {
    const t = hour();
    const a = item('parts');
    const batch = events(t, a);
    expect(await store.count(fence('p0'), batch, 100)).toBe(1);
    expect(await store.count(fence('p1'), batch, 100)).toBe(1);
    expect(await store.counts({ hour: t }, [a])).toEqual([2]);
  });

  it('ranks most counted first, ties by the greater item id; leaves out excluded items', async () => {
    const t = hour();
    const [x, y, z, w] = ['x', 'y', 'z', 'w'].map((n) => item(`rank-${n}`)) as [
      string,
      string,
      string,
      string,
    ];
    const batch = events(t, x, x, x, y, y, z, z, w).map((e, i) => ({ ...e, offset: i }));
    await store.count(fence('rank'), batch, 7);
    const top = await store.top({ hour: t }, 10);
    expect(top).toEqual([
      { item_id: x, count: 3 },
      { item_id: z, count: 2 },
      { item_id: y, count: 2 },
      { item_id: w, count: 1 },
    ]);
    expect(await store.top({ hour: t }, 2)).toEqual(top.slice(0, 2));
    const notZ = { max: 1, has: (id: string) => id === z };
    expect((await store.top({ hour: t }, 2, notZ)).map((c) => c.item_id)).toEqual([x, y]);
    // reads only k + max = 3 deep (x, z, y): more excluded items than announced leave it short, w unread
    const notXZ = { max: 1, has: (id: string) => id === x || id === z };
    expect((await store.top({ hour: t }, 2, notXZ)).map((c) => c.item_id)).toEqual([y]);
    expect(await store.counts('all', [])).toEqual([]);
  });

  it('gives the hour and day windows their TTLs, all time none', async () => {
    const t = hour();
    const a = item('ttl');
    await store.count(fence('ttl'), events(t, a), 100);
    const k = popularityKeys(t);
    const [hourTtl, dayTtl] = [await redis.ttl(k.hour), await redis.ttl(k.day)];
    // the set TTLs less the few seconds a loaded machine may take between write and read
    expect(hourTtl).toBeGreaterThan(95);
    expect(hourTtl).toBeLessThanOrEqual(100);
    expect(dayTtl).toBeGreaterThan(195);
    expect(dayTtl).toBeLessThanOrEqual(200);
    expect(await redis.ttl(ALL_TIME_POPULARITY_KEY)).toBe(-1);
  });

  it('counts only the configured windows: by default all time, and reading another is an error', async () => {
    const t = hour();
    const a = item('default');
    const allOnly = new RedisPopularityStore(redis);
    expect(await allOnly.count(fence('default'), events(t, a, a), 101)).toBe(2);
    expect(await allOnly.counts('all', [a])).toEqual([2]);
    const k = popularityKeys(t);
    expect(await redis.exists(k.hour, k.day)).toBe(0);
    await expect(allOnly.top({ hour: t }, 1)).rejects.toThrow(
      /"hour" is not counted: add it to POPULARITY_WINDOWS/,
    );
    await expect(allOnly.counts({ day: t }, [a])).rejects.toThrow(/"day" is not counted/);
    expect(() => popularitySettings({ popularityWindows: ['day'] })).toThrow(/must list all/);
    expect(popularitySettings({ popularityWindows: ['all', 'hour'] }).windows).toEqual(['all', 'hour']);
  });

  it('refuses bad fence ids with a KeyError before sending a command', async () => {
    const off = new RedisPopularityStore(offline);
    for (const bad of BAD_IDS) {
      const e = events(base, 'i');
      await expect(off.count({ group: bad, topic: 't', partition: 0 }, e, 100)).rejects.toThrow(KeyError);
      await expect(off.count({ group: 'g', topic: bad, partition: 0 }, e, 100)).rejects.toThrow(KeyError);
    }
    await expect(off.count({ group: 'g', topic: 't', partition: 0 }, events(base, 'i'), 100)).rejects.toThrow(
      OFFLINE_FAILURE,
    );
  });
});
