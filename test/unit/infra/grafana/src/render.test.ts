import { describe, expect, it } from 'vitest';
import { formatValue } from '../../../../../infra/grafana/src/render.js';

describe('formatValue', () => {
  it('formats values with their unit as the pictures show them', () => {
    expect(formatValue(0.0123, 's')).toBe('12.3 ms');
    expect(formatValue(7200, 's')).toBe('2.0 h');
    expect(formatValue(0.987, 'percentunit')).toBe('98.7%');
    expect(formatValue(1500, 'reqps')).toBe('1.5k/s');
    expect(formatValue(3 * 2 ** 20, 'bytes')).toBe('3 MiB');
    expect(formatValue(Number.NaN, 'none')).toBe('–');
  });
});
