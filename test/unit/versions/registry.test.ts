import { describe, expect, it } from 'vitest';
import { newVersionName } from '../../../versions/registry.js';

describe('registry names', () => {
  it('names versions by UTC time, unique on a clash', () => {
    const at = new Date('2024-01-31T03:04:05Z');
    expect(newVersionName(at, () => false)).toBe('v20240131-030405');
    const taken = new Set(['v20240131-030405', 'v20240131-030405-2']);
    expect(newVersionName(at, (n) => taken.has(n))).toBe('v20240131-030405-3');
  });
});
