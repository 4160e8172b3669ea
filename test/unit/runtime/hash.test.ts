import { describe, expect, it } from 'vitest';
import { fnv1a } from '../../../runtime/hash.js';

/** Independent FNV-1a 32-bit over the UTF-8 bytes, in BigInt arithmetic. */
function fnv1aRef(text: string): number {
  let h = 0x811c9dc5n;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x01000193n) & 0xffffffffn;
  }
  return Number(h);
}

describe('fnv1a', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('matches an independent implementation on ids', () => {
    expect(fnv1aRef('user-42')).toBe(39875499); // pinned once, from fnv1aRef
    expect(fnv1a('user-42')).toBe(39875499);
    const ids = [
      'u',
      'User_1',
      'a.b@c+d=e-f',
      'x'.repeat(128),
      ...Array.from({ length: 500 }, (_, i) => `u${i}`),
    ];
    for (const id of ids) expect(fnv1a(id), id).toBe(fnv1aRef(id));
  });

  it('gives an independent second hash from another offset basis', () => {
    // the second half of an applied-event fingerprint (stores/embeddings/recent.ts)
    expect(fnv1a('e1', 0x050c5d1f)).toBe(4_271_032_365);
    expect(fnv1a('e1')).toBe(2_216_349_443);
  });

  it('is an unsigned 32-bit integer', () => {
    for (let i = 0; i < 200; i++) {
      const h = fnv1a(`id-${i}`);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
});
