import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildSeen } from '../../../../batch/seen-rebuild.js';
import { HBaseClient } from '../../../../clients/hbase/thrift2.js';
import { KeyError } from '../../../../clients/keys.js';
import { createRedis } from '../../../../clients/redis.js';
import { loadConfig } from '../../../../config/index.js';
import { HBaseHistoryStore } from '../../../../stores/history/hbase.js';
import type { HistoryEvent } from '../../../../stores/history/index.js';
import { seenHash, seenKey } from '../../../../stores/seen/keys.js';
import { RedisSeenStore } from '../../../../stores/seen/redis.js';
import { BAD_IDS, OFFLINE_FAILURE, offlineRedis } from '../support.js';

// The seen sets on the real Redis, and their rebuild from the real HBase history.
const cfg = loadConfig({ ...process.env, REDIS_URL: 'redis://127.0.0.1:6379/12' });
const redis = createRedis(cfg);
const hbase = HBaseClient.fromConfig(cfg);
const table = `test_seen_${randomUUID().slice(0, 8)}`;
const history = new HBaseHistoryStore(hbase, 4, table);
const settings = { ignoredTypes: new Set(['impression']), ttlSeconds: 3600 };
const seen = new RedisSeenStore(redis, settings);
const hashes = (ids: string[]) => new Set(ids.map(seenHash));

let n = 0;
const ev = (user: string, item: string, type = 'click'): HistoryEvent => ({
  event_id: `e${n++}`,
  user_id: user,
  item_id: item,
  type,
  ts: 1_700_000_000_000 + n,
});

describe('seen sets (real Redis, rebuilt from real HBase)', () => {
  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    await history.ensure();
  });
  afterAll(async () => {
    await hbase.dropTable(table);
    hbase.close();
    await redis.flushdb();
    await redis.quit();
  });

  it('adds every counted item once, leaves out ignored types, keeps a TTL', async () => {
    const events = [ev('u1', 'a'), ev('u1', 'b'), ev('u1', 'a'), ev('u1', 'z', 'impression'), ev('u2', 'c')];
    await seen.add(events);
    await seen.add(events); // a re-delivered batch changes nothing
    expect(await seen.get('u1')).toEqual(hashes(['a', 'b']));
    expect(await seen.get('u2')).toEqual(hashes(['c']));
    expect(await seen.get('nobody')).toEqual(new Set());
    expect(await redis.scard(seenKey('u1'))).toBe(2);
    // the set 3,600 s less the few seconds a loaded machine may take between write and read
    const ttl = await redis.ttl(seenKey('u1'));
    expect(ttl).toBeGreaterThan(3595);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('keeps a long history as a 4-byte intset', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => `item-${i}`);
    await seen.add(items.map((it) => ev('heavy', it)));
    expect(await redis.scard(seenKey('heavy'))).toBe(5000);
    expect(await redis.object('ENCODING', seenKey('heavy'))).toBe('intset');
    const bytes = (await redis.memory('USAGE', seenKey('heavy'))) as number;
    // a bound, not a value: MEMORY USAGE adds the key's overhead and the allocator's rounding to 4 × 5,000
    expect(bytes / 5000).toBeLessThan(5);
  });

  it('rebuilds from the history: adds by default, replaces with `replace`', async () => {
    await redis.flushdb();
    const u3 = [ev('u3', 'x'), ev('u3', 'y'), ev('u3', 'w', 'impression')];
    const u4 = Array.from({ length: 7000 }, (_, i) => ev('u4', `i${i}`));
    await history.write([...u3, ...u4]);
    await seen.add([ev('u3', 'stale')]);
    const added = await rebuildSeen(history, seen);
    expect(added).toEqual({ users: 2, events: 7003 });
    expect(await seen.get('u3')).toEqual(hashes(['x', 'y', 'stale']));
    expect((await seen.get('u4')).size).toBe(7000);
    const replaced = await rebuildSeen(history, seen, { replace: true, users: ['u3'] });
    expect(replaced).toEqual({ users: 1, events: 3 });
    expect(await seen.get('u3')).toEqual(hashes(['x', 'y']));
  });

  it('replaces a set with exactly the given items, ignored types left out; again changes nothing', async () => {
    await seen.add([ev('u5', 'old'), ev('u5', 'older')]);
    const events = [ev('u5', 'p'), ev('u5', 'q'), ev('u5', 'r', 'impression')];
    await seen.replace('u5', events);
    await seen.replace('u5', events);
    expect(await seen.get('u5')).toEqual(hashes(['p', 'q']));
    const ttl = await redis.ttl(seenKey('u5'));
    expect(ttl).toBeGreaterThan(3595);
    expect(ttl).toBeLessThanOrEqual(3600);
    // nothing left to see: no set at all
    await seen.replace('u5', [ev('u5', 'only', 'impression')]);
    expect(await redis.exists(seenKey('u5'))).toBe(0);
  });

  it('refuses bad ids with a KeyError before sending a command', async () => {
    const offline = offlineRedis();
    const off = new RedisSeenStore(offline, settings);
    try {
      for (const bad of BAD_IDS) {
        await expect(off.add([ev('ok', 'a'), ev(bad, 'a')])).rejects.toThrow(KeyError);
        await expect(off.get(bad)).rejects.toThrow(KeyError);
        await expect(off.replace(bad, [ev(bad, 'a')])).rejects.toThrow(KeyError);
      }
      await expect(off.get('valid')).rejects.toThrow(OFFLINE_FAILURE);
    } finally {
      offline.disconnect();
    }
  });
});
