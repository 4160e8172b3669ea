import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../../clients/redis.js';
import { loadConfig } from '../../../../config/index.js';
import { profileKey } from '../../../../stores/profiles/keys.js';
import { RedisProfileCache } from '../../../../stores/profiles/redis-cache.js';

const redis = createRedis(loadConfig());

describe('profile cache (real Redis)', () => {
  beforeAll(() => redis.connect());
  afterAll(() => redis.quit());

  it('keeps the newer copy of a profile: a stale fill or a late write cannot roll it back', async () => {
    const cache = new RedisProfileCache(redis, 120);
    const user = `u${Date.now()}`;
    const p = (ts: number, age: string) => ({ user_id: user, ts, event_id: `p${ts}`, profile: { age } });
    expect(await cache.get(user)).toBeUndefined();
    // HBase had no profile: cached as none
    await cache.fill(user, undefined);
    expect(await cache.get(user)).toBeNull();
    // the processor's write-through replaces "none"
    await cache.putMany([p(20, 'b')]);
    expect(await cache.get(user)).toEqual(p(20, 'b'));
    // a fill from an HBase read made before that write, and a late older write: both ignored
    await cache.fill(user, undefined);
    await cache.fill(user, p(10, 'a'));
    await cache.putMany([p(10, 'a')]);
    expect(await cache.get(user)).toEqual(p(20, 'b'));
    await cache.putMany([p(30, 'c')]);
    expect(await cache.get(user)).toEqual(p(30, 'c'));
    // the cache's 120 s, less the few seconds a loaded machine may take between write and read
    const ttl = await redis.ttl(profileKey(user));
    expect(ttl).toBeGreaterThan(115);
    expect(ttl).toBeLessThanOrEqual(120);
    // a tie in event time: the write-through (HBase's winner, just read back) wins, a fill does not
    await cache.fill(user, p(30, 'stale read'));
    expect(await cache.get(user)).toEqual(p(30, 'c'));
    await cache.putMany([p(30, 'last put')]);
    expect(await cache.get(user)).toEqual(p(30, 'last put'));
    // an unreadable entry counts as a miss and the next fill replaces it
    await redis.set(profileKey(user), 'garbage', 'EX', 60);
    expect(await cache.get(user)).toBeUndefined();
    await cache.fill(user, p(1, 'a'));
    expect(await cache.get(user)).toEqual(p(1, 'a'));
    // "none" lives at most an hour, whatever the TTL of real profiles
    const none = new RedisProfileCache(redis, 86_400);
    await none.fill(`${user}-none`, undefined);
    expect(await none.get(`${user}-none`)).toBeNull();
    const noneTtl = await redis.ttl(profileKey(`${user}-none`));
    expect(noneTtl).toBeGreaterThan(3595);
    expect(noneTtl).toBeLessThanOrEqual(3600);
    await redis.del(profileKey(`${user}-none`));
    // more than one script call's worth
    const many = Array.from({ length: 1200 }, (_, i) => ({ ...p(1, String(i)), user_id: `${user}-${i}` }));
    await cache.putMany(many);
    expect(await cache.get(`${user}-1199`)).toEqual(many[1199]);
    await redis.del(profileKey(user), ...many.map((m) => profileKey(m.user_id)));
  });
});
