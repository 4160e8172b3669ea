import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKey } from '../../../clients/keys.js';
import { createRedis } from '../../../clients/redis.js';
import { decodeVector, encodeVector } from '../../../clients/vectors.js';
import { loadConfig } from '../../../config/index.js';

const redis = createRedis(loadConfig());

describe('redis (real server)', () => {
  beforeAll(() => redis.connect());
  afterAll(() => redis.quit());

  it('pipelines a bounded sequence with a TTL', async () => {
    const key = redisKey('test_seq', `u${Date.now()}`);
    const p = redis.pipeline();
    for (let i = 0; i < 60; i++) p.lpush(key, `item-${i}`).ltrim(key, 0, 49);
    p.expire(key, 60);
    const res = await p.exec();
    expect(res?.every(([err]) => err === null)).toBe(true);
    expect(await redis.llen(key)).toBe(50);
    expect(await redis.lindex(key, 0)).toBe('item-59');
    // the set 60 s less the few seconds a loaded machine may take between write and read
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
    await redis.del(key);
  });

  it('stores binary vectors in hashes', async () => {
    const key = redisKey('test_vec', 'u1');
    const v = new Float32Array([0.5, -1.25, 3]);
    await redis.hset(key, { v: encodeVector(v), version: 'v1' });
    const raw = await redis.hgetBuffer(key, 'v');
    expect(raw).toEqual(encodeVector(v));
    expect([...decodeVector(raw as Buffer)]).toEqual([0.5, -1.25, 3]);
    await redis.del(key);
  });
});
