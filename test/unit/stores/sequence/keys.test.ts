import { describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import { userVectorKey } from '../../../../stores/embeddings/keys.js';
import { fenceKey } from '../../../../stores/fence.js';
import { compareEvents } from '../../../../stores/order.js';
import {
  parseSequenceMember,
  type SequenceEntry,
  sequenceKey,
  sequenceMember,
} from '../../../../stores/sequence/keys.js';

/** Redis orders members of equal score by their bytes (memcmp). */
const redisOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

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
