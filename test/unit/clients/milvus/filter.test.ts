import { describe, expect, it } from 'vitest';
import { buildFilter, ExpressionError, idsFilter } from '../../../../clients/milvus/filter.js';

describe('buildFilter', () => {
  it('joins conditions with and', () => {
    expect(
      buildFilter([
        { field: 'category', op: 'in', values: ['a', 'b'] },
        { field: 'publish_ts', op: '>=', value: 5 },
      ]),
    ).toBe('(category in ["a", "b"]) and (publish_ts >= 5)');
    expect(buildFilter([{ field: 'active', op: '!=', value: false }])).toBe('(active != false)');
    expect(buildFilter([])).toBe('');
  });

  it('escapes quotes and backslashes so a value cannot close its literal', () => {
    const expr = buildFilter([{ field: 'category', op: '==', value: 'x" or item_id != "' }]);
    expect(expr).toBe('(category == "x\\" or item_id != \\"")');
    expect(buildFilter([{ field: 'category', op: '==', value: 'a\\' }])).toBe('(category == "a\\\\")');
  });

  it.each([
    [{ field: 'category or 1', op: '==', value: 'a' }, /not a field name/],
    [{ field: 'publish_ts', op: '> 0 or publish_ts >', value: 5 }, /unknown operator/],
    [{ field: 'publish_ts', op: '>', value: Number.NaN }, /finite number/],
    [{ field: 'publish_ts', op: '>', value: { toString: () => '1 or 1' } }, /finite number/],
    [{ field: 'category', op: '==', value: 'a\nb' }, /control/],
    [{ field: 'category', op: 'in', values: 'a' }, /a list/],
  ] as const)('refuses %j', (cond, message) => {
    expect(() => buildFilter([cond as never])).toThrow(ExpressionError);
    expect(() => buildFilter([cond as never])).toThrow(message);
  });

  it('builds id lists as escaped literals', () => {
    expect(idsFilter('item_id', ['1', 'a"b'])).toBe('item_id in ["1", "a\\"b"]');
  });
});
