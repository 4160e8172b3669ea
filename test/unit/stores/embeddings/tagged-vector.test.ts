import { describe, expect, it } from 'vitest';
import { decodeTagged, encodeTagged } from '../../../../stores/embeddings/tagged-vector.js';

describe('tagged vectors', () => {
  it('round-trip a tag with newlines-free text and a float32 vector, also from an offset view', () => {
    const backing = new Float32Array([9, 0.25, -1.5, 3e-8, 7]);
    const view = backing.subarray(1, 4);
    const t = decodeTagged(encodeTagged('v20260101-000000 e1@12 abc', view));
    expect(t?.tag).toBe('v20260101-000000 e1@12 abc');
    expect(Array.from(t?.vector ?? [])).toEqual(Array.from(view));
  });

  it('refuse values that are not tagged vectors', () => {
    expect(decodeTagged('stale vector of no version')).toBeUndefined();
    expect(decodeTagged('v1\nAAA=')).toBeUndefined(); // 2 bytes: not whole floats
  });
});
