import { describe, expect, it } from 'vitest';
import { decodeExposure, encodeExposure, exposuresKey, MARK } from '../../../../stores/experiments/recent.js';

describe('recent exposures: stored form', () => {
  const e = { request_id: 'r-1', experiment: 'exp-a', arm: 'candidate' as const, items: ['i1', 'i2', 'i3'] };

  it('round-trips, keeping only the top items', () => {
    expect(encodeExposure(e, 2)).toBe('r-1|exp-a|candidate|i1,i2');
    expect(decodeExposure(encodeExposure(e, 2), 42)).toEqual({ ...e, items: ['i1', 'i2'], ts: 42 });
    expect(decodeExposure(encodeExposure({ ...e, items: [] }, 2), 1)).toEqual({ ...e, items: [], ts: 1 });
  });

  it('refuses to write what would not read back', () => {
    expect(() => encodeExposure({ ...e, items: ['a,b'] }, 5)).toThrow('not an id');
    expect(() => encodeExposure({ ...e, request_id: 'r|1' }, 5)).toThrow('not an id');
    expect(() => encodeExposure({ ...e, arm: 'other' as 'control' }, 5)).toThrow('not an arm');
  });

  it('does not trust a foreign value', () => {
    expect(decodeExposure('r-1|exp-a|candidate', 1)).toBeUndefined();
    expect(decodeExposure('r-1|exp-a|other|i1', 1)).toBeUndefined();
    expect(decodeExposure('r-1|exp a|control|i1', 1)).toBeUndefined();
    expect(decodeExposure('r-1|exp-a|control|i1', Number.NaN)).toBeUndefined();
    expect(decodeExposure(MARK, 1)).toBeUndefined(); // the user's event mark shares the key
  });

  it('builds keys from validated ids only', () => {
    expect(exposuresKey('u1')).toBe('tf:exp:u:u1');
    expect(() => exposuresKey('u:1')).toThrow();
  });
});
