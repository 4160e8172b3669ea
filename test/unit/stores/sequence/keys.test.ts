import { describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import { userVectorKey } from '../../../../stores/embeddings/keys.js';
import { fenceKey } from '../../../../stores/fence.js';
import { compareEvents } from '../../../../stores/order.js';
import { popularityKeys } from '../../../../stores/popularity/keys.js';
import {
  parseSequenceMember,
  type SequenceEntry,
  sequenceKey,
  sequenceMember,
} from '../../../../stores/sequence/keys.js';

/** Redis orders members of equal score by their bytes (memcmp). */
const redisOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('popularityKeys', () => {
  it('buckets by the UTC hour and day of the event time', () => {
    // 2024-01-31T17:59:59.999Z
    expect(popularityKeys(1_706_723_999_999)).toEqual({
      hour: 'tf:pop:h:2024013117',
      day: 'tf:pop:d:20240131',
      all: 'tf:pop:all',
    });
  });

  it('moves to the next hour and day exactly at the boundary', () => {
    // 2024-01-31T23:59:59.999Z and 2024-02-01T00:00:00.000Z
    expect(popularityKeys(1_706_745_599_999)).toMatchObject({
      hour: 'tf:pop:h:2024013123',
      day: 'tf:pop:d:20240131',
    });
    expect(popularityKeys(1_706_745_600_000)).toMatchObject({
      hour: 'tf:pop:h:2024020100',
      day: 'tf:pop:d:20240201',
    });
  });

  it('covers the epoch', () => {
    expect(popularityKeys(0)).toEqual({
      hour: 'tf:pop:h:1970010100',
      day: 'tf:pop:d:19700101',
      all: 'tf:pop:all',
    });
  });
});

describe('sequence members', () => {
  const entry: SequenceEntry = { event_id: 'e-1', item_id: 'i.9', type: 'click', ts: 1_700_000_000_000 };

  it('is event id, item id and type separated by tabs', () => {
    expect(sequenceMember(entry)).toBe('e-1\ti.9\tclick');
  });

  it('round-trips with the score as ts', () => {
    expect(parseSequenceMember(sequenceMember(entry), entry.ts)).toEqual(entry);
    const long: SequenceEntry = { event_id: 'x'.repeat(128), item_id: 'a@b+c=d', type: 'add_to_cart', ts: 0 };
    expect(parseSequenceMember(sequenceMember(long), 0)).toEqual(long);
  });

  it('orders equal-ts members like compareEvents (ids "a" and "ab")', () => {
    const a = { event_id: 'a', item_id: 'zzz', type: 'view', ts: 5 };
    const ab = { event_id: 'ab', item_id: 'a', type: 'view', ts: 5 };
    expect(compareEvents(a, ab)).toBeLessThan(0);
    expect(redisOrder(sequenceMember(a), sequenceMember(ab))).toBeLessThan(0);
  });

  it('orders equal-ts members like compareEvents for arbitrary ids', () => {
    const alphabet = 'Aa0_.@+=-zZ9';
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const id = (): string =>
      Array.from({ length: 1 + rnd(4) }, () => alphabet[rnd(alphabet.length)] as string).join('');
    const entries: SequenceEntry[] = Array.from({ length: 200 }, () => ({
      event_id: id(),
      item_id: id(),
      type: 'view',
      ts: 42,
    }));
    const byEvents = [...entries].sort(compareEvents).map((e) => e.event_id);
    const byRedis = entries
      .map(sequenceMember)
      .sort(redisOrder)
      .map((m) => parseSequenceMember(m, 42).event_id);
    expect(byRedis).toEqual(byEvents);
  });
});

describe('redis keys', () => {
  it('builds the documented keys', () => {
    expect(sequenceKey('user-42')).toBe('tf:seq:user-42');
    expect(userVectorKey('user-42')).toBe('tf:uvec:user-42');
    expect(fenceKey('history', 'behaviour.events', 3)).toBe('tf:fence:history:behaviour.events:3');
  });

  it.each(['a:b', 'a b', '', 'a|b', 'x'.repeat(129)])('rejects the id %j', (bad) => {
    expect(() => sequenceKey(bad)).toThrow(KeyError);
    expect(() => userVectorKey(bad)).toThrow(KeyError);
    expect(() => fenceKey(bad, 'behaviour.events', 0)).toThrow(KeyError);
    expect(() => fenceKey('g', bad, 0)).toThrow(KeyError);
  });
});

describe('popularityKeys across many hours', () => {
  it('gives each hour its own keys, before and after the cache of recent hours fills', () => {
    const base = Date.UTC(2024, 0, 31, 0, 0, 0);
    for (let h = 0; h < 200; h++) {
      const ts = base + h * 3_600_000 + ((h * 7919) % 3_600_000);
      const iso = new Date(ts).toISOString();
      const day = iso.slice(0, 10).replaceAll('-', '');
      expect(popularityKeys(ts)).toEqual({
        hour: `tf:pop:h:${day}${iso.slice(11, 13)}`,
        day: `tf:pop:d:${day}`,
        all: 'tf:pop:all',
      });
    }
  });

  it('handles times before the epoch hour boundary (negative ms)', () => {
    expect(popularityKeys(-1)).toMatchObject({ hour: 'tf:pop:h:1969123123', day: 'tf:pop:d:19691231' });
  });
});
