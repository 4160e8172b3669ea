import { describe, expect, it } from 'vitest';
import { VISIBLE_BUCKETS, visibleSeconds } from '../../../streams/visibility.js';

describe('visibleSeconds', () => {
  it('is the time from the Kafka timestamp to the write, in seconds', () => {
    expect(visibleSeconds('1700000000000', 1700000000250)).toBe(0.25);
    expect(visibleSeconds('1700000000000', 1700000007000)).toBe(7);
  });

  it('gives 0, not a negative time, for a timestamp from a clock that runs ahead', () => {
    expect(visibleSeconds('1700000001000', 1700000000000)).toBe(0);
  });

  it('skips records without a usable timestamp', () => {
    for (const t of ['', '-1', '0', 'abc', 'NaN', 'Infinity'])
      expect(visibleSeconds(t, 1700000000000), t).toBeUndefined();
  });
});

describe('VISIBLE_BUCKETS', () => {
  it('are increasing and have the freshness objective (5 s) as a boundary', () => {
    expect(VISIBLE_BUCKETS).toContain(5);
    expect([...VISIBLE_BUCKETS].sort((a, b) => a - b)).toEqual(VISIBLE_BUCKETS);
  });
});
