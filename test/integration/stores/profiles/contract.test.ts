import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HBaseClient } from '../../../../clients/hbase/thrift2.js';
import { KeyError } from '../../../../clients/keys.js';
import { HBaseProfileStore, ITEMS_TABLE, USERS_TABLE } from '../../../../stores/profiles/hbase.js';
import type { UserProfile } from '../../../../stores/profiles/index.js';
import { ITEMS_CHANGED_KEY, profileKey } from '../../../../stores/profiles/keys.js';
import { RedisProfileCache } from '../../../../stores/profiles/redis-cache.js';
import { CHANGE_LOG_MS, RedisItemChangeLog } from '../../../../stores/profiles/redis-changes.js';
import {
  BAD_IDS,
  cfg,
  OFFLINE_FAILURE,
  offlineRedis,
  runId,
  storeRedis,
  unreachableHBase,
} from '../support.js';

// The profiles role on the real servers: the HBase store of record and the Redis cache run one
// suite where their contracts overlap (a user's profile: newest event time wins, idempotent,
// ties to the last write); each backend's own part and the item change log follow.
const run = runId();
const hbase = HBaseClient.fromConfig(cfg);
const redis = storeRedis();
const offline = offlineRedis();
const userIds: string[] = [];
const itemIds: string[] = [];

function user(name: string): string {
  const u = `${name}-${run}`;
  userIds.push(u);
  return u;
}

const profile = (userId: string, ts: number, age: string): UserProfile => ({
  user_id: userId,
  ts,
  event_id: `p-${ts}-${age}`,
  profile: { age, tags: ['a', age] },
});

/** One backend of a user's profile as the shared suite drives it. */
interface UserProfiles {
  write(profiles: UserProfile[]): Promise<void>;
  read(userIds: string[]): Promise<(UserProfile | undefined)[]>;
}

const hbaseProfiles = (store: HBaseProfileStore): UserProfiles => ({
  write: (ps) => store.applyUsers(ps.map((p) => ({ v: 1, ...p }))),
  read: (ids) => store.getUsers(ids),
});

const cachedProfiles = (cache: RedisProfileCache): UserProfiles => ({
  write: (ps) => cache.putMany(ps),
  read: (ids) => Promise.all(ids.map(async (id) => (await cache.get(id)) ?? undefined)),
});

function userProfileContract(
  name: string,
  backend: () => UserProfiles,
  unreachable: () => UserProfiles,
  failure: RegExp,
): void {
  const slug = name.replace(/\W+/g, '_');
  describe(`user profiles: ${name}`, () => {
    it('reads back what was written, in the order asked; an unknown user has none', async () => {
      const s = backend();
      const [a, b] = [user(`${slug}-read-a`), user(`${slug}-read-b`)];
      await s.write([profile(a, 10, '20'), profile(b, 11, '30')]);
      expect(await s.read([b, user(`${slug}-nobody`), a])).toEqual([
        profile(b, 11, '30'),
        undefined,
        profile(a, 10, '20'),
      ]);
    });

    it('a later event time replaces the profile; an older one delivered late changes nothing', async () => {
      const s = backend();
      const u = user(`${slug}-newer`);
      await s.write([profile(u, 20, 'b')]);
      await s.write([profile(u, 30, 'c')]);
      expect(await s.read([u])).toEqual([profile(u, 30, 'c')]);
      await s.write([profile(u, 10, 'a')]);
      expect(await s.read([u])).toEqual([profile(u, 30, 'c')]);
    });

    it('the same event again changes nothing', async () => {
      const s = backend();
      const u = user(`${slug}-idem`);
      const p = profile(u, 40, 'x');
      await s.write([p]);
      await s.write([p, p]);
      expect(await s.read([u])).toEqual([p]);
    });

    it('a tie in event time goes to the last write', async () => {
      const s = backend();
      const u = user(`${slug}-tie`);
      await s.write([profile(u, 50, 'first')]);
      await s.write([profile(u, 50, 'last')]);
      expect(await s.read([u])).toEqual([profile(u, 50, 'last')]);
    });

    it('refuses bad ids with a KeyError before reaching the server', async () => {
      const s = unreachable();
      for (const bad of BAD_IDS) {
        await expect(async () => s.write([profile(bad, 1, 'a')])).rejects.toThrow(KeyError);
        await expect(async () => s.read([bad])).rejects.toThrow(KeyError);
      }
      // the unreachable backend does fail a valid call: the KeyErrors came first
      await expect(s.read(['valid'])).rejects.toThrow(failure);
    });
  });
}

describe('profiles (HBase store of record, Redis cache, item change log)', () => {
  const store = new HBaseProfileStore(hbase);
  beforeAll(async () => {
    await redis.connect();
    await store.ensure();
  });
  afterAll(async () => {
    await hbase.deleteMany(USERS_TABLE, userIds);
    await hbase.deleteMany(ITEMS_TABLE, itemIds);
    for (let i = 0; i < userIds.length; i += 500)
      await redis.del(...userIds.slice(i, i + 500).map(profileKey));
    if (itemIds.length > 0) await redis.zrem(ITEMS_CHANGED_KEY, ...itemIds);
    hbase.close();
    await redis.quit();
    offline.disconnect();
  });

  userProfileContract(
    'HBase',
    () => hbaseProfiles(store),
    () => hbaseProfiles(new HBaseProfileStore(unreachableHBase())),
    /unreachable/,
  );
  userProfileContract(
    'Redis cache',
    () => cachedProfiles(new RedisProfileCache(redis, 120)),
    () => cachedProfiles(new RedisProfileCache(offline, 120)),
    OFFLINE_FAILURE,
  );

  describe('items (HBase)', () => {
    const item = (name: string) => {
      const id = `${name}-${run}`;
      itemIds.push(id);
      return id;
    };
    const upsert = (id: string, ts: number, genre: string) => ({
      v: 1 as const,
      op: 'upsert' as const,
      event_id: `u-${ts}`,
      item_id: id,
      ts,
      features: { genres: [genre] },
    });

    it('keeps the newest state by event time: a removal sticks, a late older upsert does not revive', async () => {
      const id = item('movie');
      await store.applyItems([upsert(id, 2000, 'new'), upsert(id, 1000, 'old')]);
      expect(await store.getItem(id)).toEqual({
        item_id: id,
        ts: 2000,
        event_id: 'u-2000',
        removed: false,
        features: { genres: ['new'] },
      });
      await store.applyItems([
        { v: 1 as const, op: 'remove' as const, event_id: 'rm', item_id: id, ts: 3000 },
      ]);
      await store.applyItems([upsert(id, 2500, 'late')]);
      expect(await store.getItem(id)).toMatchObject({ removed: true, ts: 3000 });
      const other = item('other');
      await store.applyItems([upsert(other, 1, 'x')]);
      expect((await store.getItems([other, item('absent'), id])).map((s) => s?.ts)).toEqual([
        1,
        undefined,
        3000,
      ]);
    });

    it('refuses bad item ids with a KeyError before calling HBase', async () => {
      const off = new HBaseProfileStore(unreachableHBase());
      for (const bad of BAD_IDS) {
        await expect(async () => off.applyItems([upsert(bad, 1, 'x')])).rejects.toThrow(KeyError);
        await expect(off.getItem(bad)).rejects.toThrow(KeyError);
        await expect(off.getItems([bad])).rejects.toThrow(KeyError);
      }
    });
  });

  describe('Redis cache: fills from the store of record', () => {
    it('caches "no profile" for at most an hour, and a write-through replaces it', async () => {
      const cache = new RedisProfileCache(redis, 86_400);
      const u = user('none');
      expect(await cache.get(u)).toBeUndefined();
      await cache.fill(u, undefined);
      expect(await cache.get(u)).toBeNull();
      // TTLs: the set value less the few seconds a loaded machine may take between write and read
      const ttl = await redis.ttl(profileKey(u));
      expect(ttl).toBeGreaterThan(3595);
      expect(ttl).toBeLessThanOrEqual(3600);
      await cache.putMany([profile(u, 1, 'a')]);
      expect(await cache.get(u)).toEqual(profile(u, 1, 'a'));
      // the profile's own TTL (the cache's 86,400 s), not the hour of "none"
      const written = await redis.ttl(profileKey(u));
      expect(written).toBeGreaterThan(86_395);
      expect(written).toBeLessThanOrEqual(86_400);
    });

    it('a fill never rolls a copy back, and loses a tie to the write-through', async () => {
      const cache = new RedisProfileCache(redis, 120);
      const u = user('fill');
      await cache.putMany([profile(u, 20, 'b')]);
      await cache.fill(u, undefined);
      await cache.fill(u, profile(u, 10, 'a'));
      await cache.fill(u, profile(u, 20, 'stale read'));
      expect(await cache.get(u)).toEqual(profile(u, 20, 'b'));
      await cache.fill(u, profile(u, 21, 'newer'));
      expect(await cache.get(u)).toEqual(profile(u, 21, 'newer'));
    });

    it('takes an unreadable entry for a miss, which the next fill replaces', async () => {
      const cache = new RedisProfileCache(redis, 120);
      const u = user('garbage');
      await redis.set(profileKey(u), 'garbage', 'EX', 60);
      expect(await cache.get(u)).toBeUndefined();
      await cache.fill(u, profile(u, 1, 'a'));
      expect(await cache.get(u)).toEqual(profile(u, 1, 'a'));
    });

    it('writes more profiles than one script call takes', async () => {
      const cache = new RedisProfileCache(redis, 120);
      const many = Array.from({ length: 1200 }, (_, i) => profile(user(`many${i}`), 1, String(i)));
      await cache.putMany(many);
      expect(await cache.get(many[1199]?.user_id as string)).toEqual(many[1199]);
      expect(await cache.get(many[0]?.user_id as string)).toEqual(many[0]);
    });
  });

  describe('item change log (Redis)', () => {
    const log = new RedisItemChangeLog(redis);
    const item = (name: string) => {
      const id = `chg-${name}-${run}`;
      itemIds.push(id);
      return id;
    };

    it('returns the items logged at or after a time; logging an item again moves it forward', async () => {
      const [a, b] = [item('a'), item('b')];
      const t0 = Date.now();
      await log.record([a]);
      const t1 = Date.now() + 1;
      // the log's clock is Date.now(): b is logged after t1
      while (Date.now() <= t1) await new Promise((r) => setTimeout(r, 1));
      await log.record([b]);
      const since0 = await log.since(t0);
      expect(since0.filter((id) => id === a || id === b).sort()).toEqual([a, b].sort());
      expect((await log.since(t1)).filter((id) => id === a || id === b)).toEqual([b]);
      await log.record([a, a]);
      const again = await log.since(t1);
      expect(again.filter((id) => id === a || id === b).sort()).toEqual([a, b].sort());
      expect(again.filter((id) => id === a)).toHaveLength(1);
    });

    it('forgets entries older than it keeps on the next record', async () => {
      const [old, fresh] = [item('old'), item('fresh')];
      const oldTs = Date.now() - CHANGE_LOG_MS - 60_000;
      await redis.zadd(ITEMS_CHANGED_KEY, oldTs, old);
      expect(await redis.zscore(ITEMS_CHANGED_KEY, old)).toBe(String(oldTs));
      await log.record([fresh]);
      expect(await redis.zscore(ITEMS_CHANGED_KEY, old)).toBeNull();
      expect(await log.since(0)).toContain(fresh);
    });

    it('records nothing, and sends nothing, for no items', async () => {
      await expect(new RedisItemChangeLog(offline).record([])).resolves.toBeUndefined();
    });
  });
});
