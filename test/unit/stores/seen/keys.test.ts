import { describe, expect, it } from 'vitest';
import { seenSettings } from '../../../../stores/seen/index.js';
import { seenHash } from '../../../../stores/seen/keys.js';

describe('seen hash', () => {
  it('is 32-bit FNV-1a as a signed int32 (published test vectors)', () => {
    // FNV-1a 32: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968
    expect(seenHash('')).toBe(0x811c9dc5 | 0);
    expect(seenHash('a')).toBe(0xe40c292c | 0);
    expect(seenHash('foobar')).toBe(0xbf9cf968 | 0);
    // a signed 32-bit integer: unchanged by `| 0`
    expect(seenHash('item-123') | 0).toBe(seenHash('item-123'));
  });

  it('spreads ids: no collision among 100,000 distinct item ids', () => {
    const hashes = new Set<number>();
    for (let i = 0; i < 100_000; i++) hashes.add(seenHash(String(i)));
    // 100k ids into 2^32 values: ~1.2 colliding pairs expected by chance; these ids have none
    expect(100_000 - hashes.size).toBe(0);
  });

  it('settings: `none` means every type counts', () => {
    expect([...seenSettings({ seenIgnoredTypes: ['none'], seenTtlSeconds: 5 }).ignoredTypes]).toEqual([]);
    expect([
      ...seenSettings({ seenIgnoredTypes: ['impression', 'view'], seenTtlSeconds: 5 }).ignoredTypes,
    ]).toEqual(['impression', 'view']);
  });
});
