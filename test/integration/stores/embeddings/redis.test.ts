import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import type { IdRowStore, UserVectorCache } from '../../../../stores/embeddings/index.js';
import { appliedKey, idRowKey, userVectorKey, versionRowKey } from '../../../../stores/embeddings/keys.js';
import { RedisIdRowStore } from '../../../../stores/embeddings/redis.js';
import { RedisUserVectorCache } from '../../../../stores/embeddings/redis-user-vectors.js';
import { type FencedPartition, fenceKeyOf } from '../../../../stores/fence.js';
import { BAD_IDS, OFFLINE_FAILURE, offlineRedis, runId, storeRedis } from '../support.js';

// The embeddings role on the real Redis: incremental ID rows (version-tagged, fenced writes)
// and the recall API's user-vector cache. dropAll is whole-keyspace: this suite is the only
// writer of those keys in the suites' own database (support.ts).
const run = runId();
const redis = storeRedis();
const offline = offlineRedis();
const rows: IdRowStore = new RedisIdRowStore(redis);
const cache: UserVectorCache = new RedisUserVectorCache(redis, 120);
const users: string[] = [];
const fences: string[] = [];

function user(name: string): string {
  const u = `${name}-${run}`;
  users.push(u);
  return u;
}

function partition(name: string): FencedPartition {
  const p = { group: `emb-${name}-${run}`, topic: 'behaviour', partition: 3 };
  fences.push(fenceKeyOf(p));
  return p;
}

const vec = (...v: number[]) => new Float32Array(v);

describe('embeddings (Redis): ID rows and the user-vector cache', () => {
  beforeAll(() => redis.connect());
  afterAll(async () => {
    for (let i = 0; i < users.length; i += 500) {
      const chunk = users.slice(i, i + 500);
      await redis.del(...chunk.map(idRowKey), ...chunk.map(userVectorKey));
    }
    if (fences.length > 0) await redis.del(...fences);
    await redis.quit();
    offline.disconnect();
  });

  describe('ID rows', () => {
    it('reads back a row only for the version it was written with', async () => {
      const [a, b] = [user('a'), user('b')];
      // float32 values that survive the round trip bit for bit
      const rowA = vec(0.1, -2.5, 3e-8, 1 / 3);
      await rows.setMany([
        { userId: a, version: 'v1', row: rowA },
        { userId: b, version: 'v2', row: vec(1, 2) },
      ]);
      expect(await rows.get(a, 'v1')).toEqual(rowA);
      expect(await rows.get(a, 'v2')).toBeUndefined();
      expect(await rows.getMany([b, user('nobody'), a], 'v1')).toEqual([undefined, undefined, rowA]);
      const any = await rows.getAny(b);
      expect({ version: any?.version, row: any?.row }).toEqual({ version: 'v2', row: vec(1, 2) });
      expect(any?.raw).toBe(await redis.get(idRowKey(b)));
      expect(await rows.getAny(user('none'))).toBeUndefined();
      expect(await rows.getMany([], 'v1')).toEqual([]);
    });

    it('a later write replaces the row; writing the same rows again changes nothing', async () => {
      const u = user('replace');
      await rows.setMany([{ userId: u, version: 'v1', row: vec(1) }]);
      await rows.setMany([{ userId: u, version: 'v2', row: vec(2) }]);
      const before = await rows.getAny(u);
      await rows.setMany([{ userId: u, version: 'v2', row: vec(2) }]);
      expect(await rows.getAny(u)).toEqual(before);
      expect(before?.version).toBe('v2');
    });

    it('rows expire after the TTL when one is set, never without', async () => {
      const [t, f] = [user('ttl'), user('forever')];
      await new RedisIdRowStore(redis, 60).setMany([{ userId: t, version: 'v', row: vec(1) }]);
      await rows.setMany([{ userId: f, version: 'v', row: vec(1) }]);
      // TTLs: the set 60 s less the few seconds a loaded machine may take between write and read
      const ttl = await redis.ttl(idRowKey(t));
      expect(ttl).toBeGreaterThan(55);
      expect(ttl).toBeLessThanOrEqual(60);
      expect(await redis.ttl(idRowKey(f))).toBe(-1);
      const p = partition('ttl');
      await new RedisIdRowStore(redis, 60).setManyFenced([{ userId: t, version: 'w', row: vec(2) }], {
        partition: p,
        expected: -1,
        next: 0,
      });
      const fencedTtl = await redis.ttl(idRowKey(t));
      expect(fencedTtl).toBeGreaterThan(55);
      expect(fencedTtl).toBeLessThanOrEqual(60);
    });

    it("a fenced write moves the rows, drops the users' cached vectors and the fence, together", async () => {
      const [a, b, bystander] = [user('fa'), user('fb'), user('fbystander')];
      const p = partition('fenced');
      for (const u of [a, b, bystander]) await cache.set(u, 'tag', vec(9));
      expect(await rows.fence(p)).toBe(-1);
      const batch = [
        { userId: a, version: 'v1', row: vec(1) },
        { userId: b, version: 'v1', row: vec(2) },
      ];
      expect(await rows.setManyFenced(batch, { partition: p, expected: -1, next: 41 })).toBe(true);
      expect(await rows.fence(p)).toBe(41);
      expect(await rows.getMany([a, b], 'v1')).toEqual([vec(1), vec(2)]);
      expect([await cache.get(a), await cache.get(b)]).toEqual([undefined, undefined]);
      expect(await cache.get(bystander)).toEqual({ tag: 'tag', vector: vec(9) });
      // a fence that no longer holds what the writer read: nothing is written, nothing dropped
      await cache.set(a, 'tag', vec(9));
      const stale = [{ userId: a, version: 'v1', row: vec(100) }];
      expect(await rows.setManyFenced(stale, { partition: p, expected: -1, next: 50 })).toBe(false);
      expect(await rows.get(a, 'v1')).toEqual(vec(1));
      expect(await cache.get(a)).toEqual({ tag: 'tag', vector: vec(9) });
      expect(await rows.fence(p)).toBe(41);
      // an empty micro-batch (all dead-lettered) still moves the fence
      expect(await rows.setManyFenced([], { partition: p, expected: 41, next: 45 })).toBe(true);
      expect(await rows.fence(p)).toBe(45);
      // another partition's fence is its own
      expect(await rows.fence({ ...p, partition: 4 })).toBe(-1);
    });

    it('records applied events (latest fingerprints, and the ledger when kept) in the fenced step, and nothing when the fence refuses', async () => {
      const ttlRows = new RedisIdRowStore(redis, 60);
      const [a, b] = [user('la'), user('lb')];
      const p = partition('ledger');
      const ra = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
      const rb = Buffer.from([9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 1]);
      const applied = [
        { userId: a, recent: ra, tally: { userId: a, events: 2, fingerprint: 7 } },
        { userId: b, recent: rb, tally: { userId: b, events: 1, fingerprint: 4_000_000_000 } },
      ];
      const row = [{ userId: a, version: 'v1', row: vec(1) }];
      expect(await ttlRows.setManyFenced(row, { partition: p, expected: -1, next: 3 }, applied)).toBe(true);
      // b moved no row (no live item) but its event was consumed: it is recorded all the same
      expect(await ttlRows.recentApplied([a, b, user('lnobody')])).toEqual([ra, rb, Buffer.alloc(0)]);
      expect(await ttlRows.applied([a, b, user('lnobody')])).toEqual([
        { userId: a, events: 2, fingerprint: 7 },
        { userId: b, events: 1, fingerprint: 4_000_000_000 },
        { userId: user('lnobody'), events: 0, fingerprint: 0 },
      ]);
      // a re-delivery the fence refuses records nothing
      const other = [{ userId: a, recent: rb, tally: { userId: a, events: 5, fingerprint: 5 } }];
      expect(await ttlRows.setManyFenced(row, { partition: p, expected: -1, next: 3 }, other)).toBe(false);
      expect(await ttlRows.recentApplied([a])).toEqual([ra]);
      // the ledger adds up; the fingerprints are replaced; without a tally the ledger stays as it is
      expect(await ttlRows.setManyFenced([], { partition: p, expected: 3, next: 5 }, applied.slice(1))).toBe(
        true,
      );
      expect(
        await ttlRows.setManyFenced([], { partition: p, expected: 5, next: 6 }, [{ userId: a, recent: rb }]),
      ).toBe(true);
      expect(await ttlRows.recentApplied([a])).toEqual([rb]);
      expect(await ttlRows.applied([a, b])).toEqual([
        { userId: a, events: 2, fingerprint: 7 },
        { userId: b, events: 2, fingerprint: 8_000_000_000 },
      ]);
      expect(await redis.ttl(appliedKey(a))).toBeGreaterThan(50);
    });

    it('keeps a version served beside the live one apart, in the same fenced step, and reads either slot for a version', async () => {
      const [a, b] = [user('sa'), user('sb')];
      const [live, cand] = [`vl-${run}`, `vc-${run}`];
      const p = partition('slots');
      await cache.set(a, 'tag', vec(9));
      const batch = [
        { userId: a, version: live, row: vec(1) },
        { userId: a, version: cand, row: vec(2), slot: 'version' as const },
        { userId: b, version: cand, row: vec(3), slot: 'version' as const },
      ];
      expect(await rows.setManyFenced(batch, { partition: p, expected: -1, next: 7 })).toBe(true);
      expect(await rows.fence(p)).toBe(7);
      expect(await cache.get(a)).toBeUndefined();
      // each version its own row; the live slot holds only the live version's
      expect(await rows.getMany([a, b], live)).toEqual([vec(1), undefined]);
      expect(await rows.getMany([a, b], cand)).toEqual([vec(2), vec(3)]);
      expect((await rows.getAny(b))?.version).toBeUndefined();
      expect((await rows.getOf(a, cand))?.raw).toBe(await redis.get(versionRowKey(cand, a)));
      // a refused fence writes neither slot
      const stale = [{ userId: b, version: cand, row: vec(100), slot: 'version' as const }];
      expect(await rows.setManyFenced(stale, { partition: p, expected: -1, next: 9 })).toBe(false);
      // promoted: the candidate's row is read from its slot until the live slot holds one of it
      expect(await rows.get(b, cand)).toEqual(vec(3));
      await rows.setMany([{ userId: b, version: cand, row: vec(4) }]);
      expect(await rows.getMany([b], cand)).toEqual([vec(4)]);
      // the daily job's dropAll leaves the kept-apart rows; dropVersion takes exactly one version's
      await rows.setMany([{ userId: a, version: `vo-${run}`, row: vec(5), slot: 'version' }]);
      expect(await rows.dropVersion(cand)).toBe(2);
      expect(await rows.getMany([a, b], cand)).toEqual([undefined, vec(4)]);
      expect(await rows.get(a, `vo-${run}`)).toEqual(vec(5));
      expect(await rows.dropVersion(`vo-${run}`)).toBe(1);
    });

    it('drops every row', async () => {
      await rows.dropAll(); // whatever an interrupted run left
      const some = [user('drop1'), user('drop2'), user('drop3')];
      await rows.setMany(some.map((u) => ({ userId: u, version: 'v', row: vec(1) })));
      await rows.setMany([{ userId: some[0] as string, version: `vk-${run}`, row: vec(1), slot: 'version' }]);
      await cache.set(some[0] as string, 'tag', vec(1));
      expect(await rows.dropAll()).toBe(3);
      expect(await rows.getMany(some, 'v')).toEqual([undefined, undefined, undefined]);
      // rows kept apart for a version an experiment serves are not the live slot's: still there
      expect(await rows.get(some[0] as string, `vk-${run}`)).toEqual(vec(1));
      expect(await rows.dropVersion(`vk-${run}`)).toBe(1);
      // cached vectors are the cache's: still there
      expect(await cache.get(some[0] as string)).toEqual({ tag: 'tag', vector: vec(1) });
    });

    it('refuses bad ids with a KeyError before sending a command', async () => {
      const off = new RedisIdRowStore(offline);
      for (const bad of BAD_IDS) {
        const row = [{ userId: bad, version: 'v', row: vec(1) }];
        await expect(off.get(bad, 'v')).rejects.toThrow(KeyError);
        await expect(off.getAny(bad)).rejects.toThrow(KeyError);
        await expect(off.getMany(['ok', bad], 'v')).rejects.toThrow(KeyError);
        await expect(off.getOf(bad, 'v')).rejects.toThrow(KeyError);
        await expect(off.getOf('ok', bad)).rejects.toThrow(KeyError);
        await expect(
          off.setMany([{ userId: 'ok', version: bad, row: vec(1), slot: 'version' }]),
        ).rejects.toThrow(KeyError);
        await expect(off.setMany(row)).rejects.toThrow(KeyError);
        const p = { group: 'g', topic: 't', partition: 0 };
        await expect(off.setManyFenced(row, { partition: p, expected: -1, next: 0 })).rejects.toThrow(
          KeyError,
        );
        await expect(off.fence({ ...p, group: bad })).rejects.toThrow(KeyError);
      }
      await expect(off.get('valid', 'v')).rejects.toThrow(OFFLINE_FAILURE);
    });
  });

  describe('user-vector cache', () => {
    it('reads back the vector with its tag, for the TTL', async () => {
      const u = user('vec');
      expect(await cache.get(u)).toBeUndefined();
      await cache.set(u, 'v1 e1@12 - 5', vec(0.5, -1));
      expect(await cache.get(u)).toEqual({ tag: 'v1 e1@12 - 5', vector: vec(0.5, -1) });
      await cache.set(u, 'v1 e2@13 - 5', vec(2));
      expect(await cache.get(u)).toEqual({ tag: 'v1 e2@13 - 5', vector: vec(2) });
      const ttl = await redis.ttl(userVectorKey(u));
      // the set 120 s less the few seconds a loaded machine may take between write and read
      expect(ttl).toBeGreaterThan(115);
      expect(ttl).toBeLessThanOrEqual(120);
    });

    it('takes an unreadable entry for none', async () => {
      const u = user('stale');
      await redis.set(userVectorKey(u), 'stale vector of no version', 'EX', 60);
      expect(await cache.get(u)).toBeUndefined();
    });

    it("drops the named users' vectors (each once, none for no users) and no one else's", async () => {
      const [a, b, c] = [user('da'), user('db'), user('dc')];
      for (const u of [a, b, c]) await cache.set(u, 't', vec(1));
      await cache.drop([a, b, a]);
      await cache.drop([]);
      expect([await cache.get(a), await cache.get(b)]).toEqual([undefined, undefined]);
      expect(await cache.get(c)).toEqual({ tag: 't', vector: vec(1) });
    });

    it('drops every cached vector', async () => {
      await cache.dropAll();
      const [a, b] = [user('all1'), user('all2')];
      await cache.set(a, 't', vec(1));
      await cache.set(b, 't', vec(1));
      await rows.setMany([{ userId: a, version: 'v', row: vec(1) }]);
      expect(await cache.dropAll()).toBe(2);
      expect([await cache.get(a), await cache.get(b)]).toEqual([undefined, undefined]);
      expect(await rows.get(a, 'v')).toEqual(vec(1));
    });

    it('refuses bad ids with a KeyError before sending a command', async () => {
      const off = new RedisUserVectorCache(offline, 60);
      for (const bad of BAD_IDS) {
        await expect(off.get(bad)).rejects.toThrow(KeyError);
        await expect(off.set(bad, 't', vec(1))).rejects.toThrow(KeyError);
        await expect(off.drop(['ok', bad])).rejects.toThrow(KeyError);
      }
      await expect(off.get('valid')).rejects.toThrow(OFFLINE_FAILURE);
    });
  });
});
