import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import { RedisUserVectorCache } from '../../../../stores/embeddings/redis-user-vectors.js';
import type { SequenceStore } from '../../../../stores/sequence/index.js';
import { sequenceKey } from '../../../../stores/sequence/keys.js';
import { RedisSequenceStore } from '../../../../stores/sequence/redis.js';
import { BAD_IDS, OFFLINE_FAILURE, offlineRedis, runId, storeRedis } from '../support.js';

// The sequence store's contract (stores/sequence/index.ts) on the real Redis.
const run = runId();
const LENGTH = 5;
const TTL = 60;
const redis = storeRedis();
const offline = offlineRedis();
const store: SequenceStore = new RedisSequenceStore(redis, { length: LENGTH, ttlSeconds: TTL });
const vectors = new RedisUserVectorCache(redis, 600);
const users: string[] = [];

function user(name: string): string {
  const u = `${name}-${run}`;
  users.push(u);
  return u;
}

const ev = (u: string, eventId: string, ts: number, item = `i-${eventId}`): BehaviourEvent => ({
  v: 1,
  event_id: eventId,
  user_id: u,
  item_id: item,
  type: 'click',
  ts,
});
const ids = async (u: string) => (await store.recent(u)).map((e) => e.event_id);

describe('sequence store (Redis)', () => {
  beforeAll(() => redis.connect());
  afterAll(async () => {
    for (let i = 0; i < users.length; i += 500) {
      const chunk = users.slice(i, i + 500);
      await redis.del(...chunk.map(sequenceKey));
      await vectors.drop(chunk);
    }
    await redis.quit();
    offline.disconnect();
  });

  it('reads back what was applied, oldest first, with item, type and time', async () => {
    const u = user('read');
    await store.apply([ev(u, 'b', 2000, 'x'), ev(u, 'a', 1000, 'y')]);
    expect(await store.recent(u)).toEqual([
      { event_id: 'a', item_id: 'y', type: 'click', ts: 1000 },
      { event_id: 'b', item_id: 'x', type: 'click', ts: 2000 },
    ]);
    expect(await store.recent(user('nobody'))).toEqual([]);
  });

  it('orders events of the same time by event id', async () => {
    const u = user('ties');
    await store.apply([ev(u, 'e3', 5), ev(u, 'e1', 5), ev(u, 'e2', 5), ev(u, 'e0', 4)]);
    expect(await ids(u)).toEqual(['e0', 'e1', 'e2', 'e3']);
  });

  it('applying the same events again changes nothing', async () => {
    const u = user('idem');
    const batch = [ev(u, 'a', 1), ev(u, 'b', 2), ev(u, 'c', 3)];
    await store.apply(batch);
    const once = await store.recent(u);
    await store.apply(batch);
    await store.apply([batch[1] as BehaviourEvent]);
    expect(await store.recent(u)).toEqual(once);
  });

  it('keeps the latest N of every event ever applied: a late older event stays out', async () => {
    const u = user('trim');
    await store.apply(Array.from({ length: 7 }, (_, i) => ev(u, `e${i}`, 100 + i)));
    expect(await ids(u)).toEqual(['e2', 'e3', 'e4', 'e5', 'e6']);
    await store.apply([ev(u, 'late', 50)]);
    expect(await ids(u)).toEqual(['e2', 'e3', 'e4', 'e5', 'e6']);
    // a tie with the oldest kept event: the greater event id is the later one
    await store.apply([ev(u, 'e1z', 102), ev(u, 'e2a', 102)]);
    expect(await ids(u)).toEqual(['e2a', 'e3', 'e4', 'e5', 'e6']);
    await store.apply([ev(u, 'new', 200)]);
    expect(await ids(u)).toEqual(['e3', 'e4', 'e5', 'e6', 'new']);
  });

  it('counts copies of an event in one batch once towards the latest N (a producer’s retries read together)', async () => {
    // the kafka drill's shape: a user's older events applied, then one batch holding a retried
    // post three times over and a newer event (a consumer behind the log reads them together)
    const u = user('copies');
    await store.apply(Array.from({ length: LENGTH }, (_, i) => ev(u, `old${i}`, 10 + i)));
    const retried = Array.from({ length: 4 }, (_, i) => ev(u, `r${i}`, 100 + i));
    await store.apply([...retried, ...retried, ...retried, ev(u, 'new', 200)]);
    expect(await ids(u)).toEqual(['r0', 'r1', 'r2', 'r3', 'new']);
    // copies alone, more of them than N
    const v = user('copies-only');
    const posted = Array.from({ length: LENGTH }, (_, i) => ev(v, `p${i}`, 100 + i));
    await store.apply([...posted, ...posted, ...posted]);
    expect(await ids(v)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('renews the TTL on each apply', async () => {
    const u = user('ttl');
    await store.apply([ev(u, 'a', 1)]);
    await redis.expire(sequenceKey(u), 5);
    await store.apply([ev(u, 'b', 2)]);
    const ttl = await redis.ttl(sequenceKey(u));
    expect(ttl).toBeGreaterThan(TTL - 5);
    expect(ttl).toBeLessThanOrEqual(TTL);
  });

  it("drops the users' cached user vectors (their features changed), and no one else's", async () => {
    const [a, b] = [user('vec-a'), user('vec-b')];
    await vectors.set(a, 'tag', new Float32Array([1, 2]));
    await vectors.set(b, 'tag', new Float32Array([3, 4]));
    await store.apply([ev(a, 'x', 1)]);
    expect(await vectors.get(a)).toBeUndefined();
    expect(await vectors.get(b)).toEqual({ tag: 'tag', vector: new Float32Array([3, 4]) });
  });

  it('tells whether a sequence still holds an event', async () => {
    const u = user('holds');
    const e = ev(u, 'h1', 10);
    expect(await store.holds(u, e)).toBe(false);
    await store.apply([e]);
    expect(await store.holds(u, e)).toBe(true);
    expect(await store.holds(u, { ...e, item_id: 'other' })).toBe(false);
    await store.apply(Array.from({ length: LENGTH }, (_, i) => ev(u, `n${i}`, 100 + i)));
    expect(await store.holds(u, e)).toBe(false);
  });

  it('applies more users than one script call takes', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => user(`many${i}`));
    await store.apply(many.map((u, i) => ev(u, `m${i}`, i)));
    const got = await Promise.all([many[0], many[599], many[1199]].map((u) => ids(u as string)));
    expect(got).toEqual([['m0'], ['m599'], ['m1199']]);
  });

  it('refuses bad ids with a KeyError before sending a command', async () => {
    const off = new RedisSequenceStore(offline, { length: LENGTH, ttlSeconds: TTL });
    for (const bad of BAD_IDS) {
      await expect(off.apply([ev(bad, 'e', 1)])).rejects.toThrow(KeyError);
      await expect(off.recent(bad)).rejects.toThrow(KeyError);
      await expect(off.holds(bad, ev('u', 'e', 1))).rejects.toThrow(KeyError);
    }
    // the offline client does fail a valid command: the KeyErrors came first
    await expect(off.recent('valid')).rejects.toThrow(OFFLINE_FAILURE);
  });
});
