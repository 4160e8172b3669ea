import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../../runtime/rate-limit.js';

/** Buckets on a clock the test moves. */
function buckets(perSecond: number, burst: number) {
  let now = 0;
  const b = new TokenBuckets(perSecond, burst, () => now);
  return { b, advance: (ms: number) => (now += ms) };
}

describe('TokenBuckets', () => {
  it('lets a key make `burst` requests at once, then asks it to wait', () => {
    const { b } = buckets(10, 3);
    expect([b.take(1), b.take(1), b.take(1)]).toEqual([0, 0, 0]);
    expect(b.take(1)).toBe(1);
  });

  it('refills at the rate: one token per 1/rate seconds, never above burst', () => {
    const { b, advance } = buckets(10, 2);
    b.take(1);
    b.take(1);
    expect(b.take(1)).toBe(1);
    advance(100); // one token back
    expect(b.take(1)).toBe(0);
    expect(b.take(1)).toBe(1);
    advance(60_000); // a minute idle fills the bucket to 2, not 600
    expect([b.take(1), b.take(1), b.take(1)]).toEqual([0, 0, 1]);
  });

  it('says how many whole seconds until the next token (rounded up)', () => {
    const { b, advance } = buckets(0.25, 1); // one token every 4 s
    expect(b.take(1)).toBe(0);
    expect(b.take(1)).toBe(4);
    advance(1500);
    expect(b.take(1)).toBe(3); // 2.5 s left
  });

  it('keeps one bucket per key', () => {
    const { b } = buckets(1, 1);
    expect(b.take(1)).toBe(0);
    expect(b.take(1)).toBe(1);
    expect(b.take(2)).toBe(0);
  });

  it('limits nothing at a rate of 0', () => {
    const { b } = buckets(0, 1);
    expect(b.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(b.take(1)).toBe(0);
  });
});
