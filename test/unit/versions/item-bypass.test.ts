import { describe, expect, it } from 'vitest';
import { sameRow } from '../../../versions/item-bypass.js';

describe('sameRow (the item bypass skips rows that already hold the new state)', () => {
  const vector = Float32Array.from([0.1, -0.25, 0.3333]);
  // Milvus answers float32 vectors as plain numbers and int64 scalars as strings
  const stored = {
    item_id: 'i1',
    vector: Array.from(vector),
    category: 'Drama',
    published_at: '1700000000000',
  };
  const row = { item_id: 'i1', vector, category: 'Drama', published_at: 1_700_000_000_000 };

  it('equal vector and scalars: same', () => {
    expect(sameRow(stored, row)).toBe(true);
  });
  it('no stored row: not the same', () => {
    expect(sameRow(undefined, row)).toBe(false);
  });
  it('a component off by rounding (a few float32 steps): same', () => {
    const v = Float32Array.from(vector);
    v[2] = (v[2] as number) + 1e-7;
    expect(v[2]).not.toBe(vector[2]);
    expect(sameRow(stored, { ...row, vector: v })).toBe(true);
  });
  it('a component moved by more than the tolerance: not the same', () => {
    const v = Float32Array.from(vector);
    v[2] = Math.fround(0.3334);
    expect(sameRow(stored, { ...row, vector: v })).toBe(false);
    expect(sameRow(stored, { ...row, vector: Float32Array.from(vector, (x) => x + 2e-6) })).toBe(false);
  });
  it('a NaN component is never the same', () => {
    expect(sameRow(stored, { ...row, vector: Float32Array.from([0.1, Number.NaN, 0.3333]) })).toBe(false);
  });
  it('a scalar differs: not the same', () => {
    expect(sameRow(stored, { ...row, category: 'Comedy' })).toBe(false);
    expect(sameRow(stored, { ...row, published_at: 1 })).toBe(false);
  });
  it('a stored vector of another length: not the same', () => {
    expect(sameRow({ ...stored, vector: [0.1, -0.25] }, row)).toBe(false);
  });
});
