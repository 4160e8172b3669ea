import { describe, expect, it } from 'vitest';
import { KeyError } from '../../../../clients/keys.js';
import { fnv1a } from '../../../../runtime/hash.js';
import {
  historyRowKey,
  parseHistoryRowKey,
  reverseTs,
  saltOf,
  saltSplits,
  userRange,
} from '../../../../stores/history/rowkey.js';

const inRange = (key: string, r: { start: string; stop: string }): boolean => key >= r.start && key < r.stop;

describe('saltOf', () => {
  it('is two lowercase hex chars below the bucket count', () => {
    for (const buckets of [1, 2, 16, 100, 256]) {
      for (let i = 0; i < 300; i++) {
        const s = saltOf(`user-${i}`, buckets);
        expect(s).toMatch(/^[0-9a-f]{2}$/);
        expect(Number.parseInt(s, 16)).toBeLessThan(buckets);
      }
    }
    expect(saltOf('anyone', 1)).toBe('00');
  });

  it('is the hash modulo the bucket count', () => {
    expect(saltOf('user-42', 16)).toBe((39875499 % 16).toString(16).padStart(2, '0'));
    expect(saltOf('user-42', 256)).toBe((39875499 % 256).toString(16).padStart(2, '0'));
  });

  it.each([
    ['user-', (i: number) => `user-${i}`],
    ['numeric', (i: number) => String(i)],
    ['email', (i: number) => `u${i}@example.com`],
  ])('spreads 10k %s ids over 16 buckets, each bucket 4–8%%', (_, id) => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const s = saltOf(id(i), 16);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    for (const [salt, n] of counts) {
      expect(n, salt).toBeGreaterThanOrEqual(400);
      expect(n, salt).toBeLessThanOrEqual(800);
    }
  });
});

describe('saltSplits', () => {
  it('has buckets − 1 split points in ascending order, matching the salts', () => {
    expect(saltSplits(1)).toEqual([]);
    expect(saltSplits(4)).toEqual(['01', '02', '03']);
    const s16 = saltSplits(16);
    expect(s16).toHaveLength(15);
    expect(s16[0]).toBe('01');
    expect(s16[14]).toBe('0f');
    const s256 = saltSplits(256);
    expect(s256).toHaveLength(255);
    expect(s256[254]).toBe('ff');
    expect([...s256].sort()).toEqual(s256);
    expect(new Set(s256).size).toBe(255);
  });

  it.each([0, -1, 257, 1.5, Number.NaN])('throws RangeError for %d buckets', (n) => {
    expect(() => saltSplits(n)).toThrow(RangeError);
  });
});

describe('historyRowKey', () => {
  it('is salt|user|reversed ts|event id', () => {
    const key = historyRowKey(16, 'user-42', 1_700_000_000_000, 'e1');
    expect(key).toBe(`${saltOf('user-42', 16)}|user-42|8299999999999|e1`);
  });

  it('pads the reversed timestamp to 13 digits over the whole ts range', () => {
    expect(reverseTs(0)).toBe('9999999999999');
    expect(reverseTs(4_102_444_800_000)).toBe('5897555199999');
    expect(reverseTs(9_999_999_999_999)).toBe('0000000000000');
  });

  it('sorts one user’s keys lexicographically newest first', () => {
    const tss = [0, 1, 9, 10, 99, 100, 999, 1000, 1_000_000_000_000, 1_700_000_000_000, 4_102_444_800_000];
    const shuffled = [...tss].sort((a, b) => fnv1a(String(a)) - fnv1a(String(b)));
    const keys = shuffled.map((ts) => historyRowKey(16, 'u1', ts, `e${ts}`));
    const sorted = [...keys].sort();
    expect(sorted.map((k) => parseHistoryRowKey(k).ts)).toEqual([...tss].reverse());
  });

  it('orders equal timestamps by ascending event id', () => {
    const keys = ['b', 'ab', 'a', 'a-'].map((id) => historyRowKey(16, 'u1', 5, id));
    expect([...keys].sort().map((k) => parseHistoryRowKey(k).eventId)).toEqual(['a', 'a-', 'ab', 'b']);
  });

  it.each([
    ['user', 'a b', 'e1'],
    ['user', 'a|b', 'e1'],
    ['user', '', 'e1'],
    ['event', 'u1', 'e:1'],
    ['event', 'u1', 'e|1'],
    ['event', 'u1', 'x'.repeat(129)],
  ])('throws on an invalid %s id', (_, userId, eventId) => {
    expect(() => historyRowKey(16, userId, 1, eventId)).toThrow(KeyError);
  });
});

describe('userRange', () => {
  // one bucket: every user shares the salt, so neighbouring ids are adjacent in the table
  const neighbours = ['a', 'ab', 'abc', 'ab-', 'ab.', 'ab_', 'ab0', 'aB', 'abz', 'b'];
  const keysOf = (userId: string) =>
    [0, 1_700_000_000_000, 4_102_444_800_000].flatMap((ts) =>
      ['e1', 'z'.repeat(128)].map((e) => historyRowKey(1, userId, ts, e)),
    );

  it('brackets exactly that user’s keys', () => {
    for (const u of neighbours) {
      const r = userRange(1, u);
      for (const other of neighbours)
        for (const key of keysOf(other)) expect(inRange(key, r), `${u} range vs ${key}`).toBe(other === u);
    }
  });

  it('uses the user’s salt', () => {
    const r = userRange(16, 'user-42');
    expect(r.start).toBe(`${saltOf('user-42', 16)}|user-42|`);
    expect(inRange(historyRowKey(16, 'user-42', 7, 'e'), r)).toBe(true);
  });

  it('with sinceTs, includes ts == sinceTs and later, excludes earlier', () => {
    const since = 1_700_000_000_000;
    const r = userRange(1, 'ab', since);
    for (const e of ['a', 'e1', 'z'.repeat(128), '-', '0']) {
      expect(inRange(historyRowKey(1, 'ab', since, e), r)).toBe(true);
      expect(inRange(historyRowKey(1, 'ab', since + 1, e), r)).toBe(true);
      expect(inRange(historyRowKey(1, 'ab', 4_102_444_800_000, e), r)).toBe(true);
      expect(inRange(historyRowKey(1, 'ab', since - 1, e), r)).toBe(false);
      expect(inRange(historyRowKey(1, 'ab', 0, e), r)).toBe(false);
      expect(inRange(historyRowKey(1, 'abc', since, e), r)).toBe(false);
    }
  });

  it('rejects an invalid user id', () => {
    expect(() => userRange(16, 'a b')).toThrow(KeyError);
    expect(() => userRange(16, 'a|b', 5)).toThrow(KeyError);
  });
});

describe('parseHistoryRowKey', () => {
  it('round-trips historyRowKey', () => {
    for (const [userId, ts, eventId] of [
      ['u1', 0, 'e1'],
      ['a.b@c+d=e-f', 1_700_000_000_123, 'x'.repeat(128)],
      ['U_9', 4_102_444_800_000, '0'],
    ] as const) {
      expect(parseHistoryRowKey(historyRowKey(16, userId, ts, eventId))).toEqual({ userId, ts, eventId });
    }
  });

  it.each(['', 'abc', '00|u1', '00|u1|9999999999999'])('throws on %j', (key) => {
    expect(() => parseHistoryRowKey(key)).toThrow(/not a history row key/);
  });
});

describe('row key guards', () => {
  it('rejects malformed keys and bucket counts instead of returning NaN', () => {
    expect(() => parseHistoryRowKey('00|u|notanumber|e')).toThrow();
    expect(() => parseHistoryRowKey('00|u|0000000000001|e|extra')).toThrow();
    expect(() => saltOf('u', 0)).toThrow(RangeError);
    expect(() => saltOf('u', 1000)).toThrow(RangeError);
  });
});
