import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import type { AnswerStore } from '../../../../stores/answers/index.js';
import { answerKey, RedisAnswerStore } from '../../../../stores/answers/redis.js';
import { seenHash } from '../../../../stores/seen/keys.js';
import { BAD_IDS, OFFLINE_FAILURE, offlineRedis, runId, storeRedis } from '../support.js';

// The answer store's contract (stores/answers/index.ts) on the real Redis.
const run = runId();
const redis = storeRedis();
const offline = offlineRedis();
const settings = { windowSeconds: 90, items: 3 };
const store: AnswerStore = new RedisAnswerStore(redis, settings);
const users: string[] = [];

function user(name: string): string {
  const u = `${name}-${run}`;
  users.push(u);
  return u;
}

const answer = (ts: number, itemIds: string[], source = 'personal') => ({
  ts,
  version: 'v1',
  source,
  itemIds,
});

describe('answer store (Redis)', () => {
  beforeAll(() => redis.connect());
  afterAll(async () => {
    await redis.del(...users.map(answerKey));
    await redis.quit();
    offline.disconnect();
  });

  it("reads back each user's last answer: its time, version, source and first items as seen hashes", async () => {
    const [a, b] = [user('a'), user('b')];
    await store.record(a, answer(1000, ['i1', 'i2', 'i3', 'i4', 'i5']));
    await store.record(b, { ts: 2000.4, version: '', source: 'popular', itemIds: [] });
    const got = await store.lastOf([b, user('nobody'), a]);
    expect([...got.keys()].sort()).toEqual([a, b].sort());
    expect(got.get(a)).toEqual({
      ts: 1000,
      version: 'v1',
      source: 'personal',
      items: ['i1', 'i2', 'i3'].map(seenHash),
    });
    expect(got.get(b)).toEqual({ ts: 2000, version: '', source: 'popular', items: [] });
    expect((await store.lastOf([])).size).toBe(0);
  });

  it('a later answer replaces the last one; the same answer again changes nothing', async () => {
    const u = user('replace');
    await store.record(u, answer(1, ['x']));
    await store.record(u, answer(2, ['y'], 'profile'));
    const once = await store.lastOf([u]);
    await store.record(u, answer(2, ['y'], 'profile'));
    expect(await store.lastOf([u])).toEqual(once);
    expect(once.get(u)).toMatchObject({ ts: 2, source: 'profile', items: [seenHash('y')] });
  });

  it('keeps an answer for the attribution window', async () => {
    const u = user('ttl');
    await store.record(u, answer(1, ['x']));
    const ttl = await redis.ttl(answerKey(u));
    // the window's 90 s less the few seconds a loaded machine may take between write and read
    expect(ttl).toBeGreaterThan(85);
    expect(ttl).toBeLessThanOrEqual(90);
  });

  it('ignores a value it did not write', async () => {
    const u = user('foreign');
    await redis.set(answerKey(u), 'not an answer', 'EX', 60);
    expect((await store.lastOf([u])).has(u)).toBe(false);
  });

  it('refuses bad ids with a KeyError and bad labels with an error, before sending a command', async () => {
    const off = new RedisAnswerStore(offline, settings);
    for (const bad of BAD_IDS) {
      await expect(off.record(bad, answer(1, ['x']))).rejects.toThrow(KeyError);
      await expect(off.lastOf(['ok', bad])).rejects.toThrow(KeyError);
    }
    await expect(off.record('u', { ...answer(1, []), version: 'v1"}' })).rejects.toThrow(/bad answer label/);
    await expect(off.record('u', { ...answer(1, []), source: 'Personal!' })).rejects.toThrow(
      /bad answer label/,
    );
    await expect(off.lastOf(['valid'])).rejects.toThrow(OFFLINE_FAILURE);
  });
});
