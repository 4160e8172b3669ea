import { describe, expect, it } from 'vitest';
import {
  buildFilter,
  type FilterableField,
  FilterError,
  idsFilter,
} from '../../../../clients/milvus/filter.js';

const fields: FilterableField[] = [
  { name: 'category', type: 'varchar' },
  { name: 'publish_ts', type: 'int64' },
  { name: 'active', type: 'bool' },
];

describe('buildFilter', () => {
  it('joins whitelisted conditions with and', () => {
    expect(
      buildFilter(
        [
          { field: 'category', op: 'in', values: ['a', 'b'] },
          { field: 'publish_ts', op: '>=', value: 5 },
        ],
        fields,
      ),
    ).toBe('(category in ["a", "b"]) and (publish_ts >= 5)');
  });

  it('escapes quotes and backslashes so a value cannot close its literal', () => {
    const expr = buildFilter([{ field: 'category', op: '==', value: 'x" or item_id != "' }], fields);
    expect(expr).toBe('(category == "x\\" or item_id != \\"")');
    expect(buildFilter([{ field: 'category', op: '==', value: 'a\\' }], fields)).toBe(
      '(category == "a\\\\")',
    );
  });

  it.each([
    [{ field: 'item_id', op: '==', value: '1' }, /unknown field/],
    [{ field: 'publish_ts', op: '>', value: '5 or 1==1' }, /integer/],
    [{ field: 'publish_ts', op: '>', value: 1.5 }, /integer/],
    [{ field: 'category', op: 'in', values: [] }, /between 1 and/],
    [{ field: 'category', op: '==', value: 'a\nb' }, /control/],
    [{ field: 'active', op: '>', value: true }, /boolean/],
  ] as const)('refuses %j', (cond, message) => {
    expect(() => buildFilter([cond as never], fields)).toThrow(FilterError);
    expect(() => buildFilter([cond as never], fields)).toThrow(message);
  });

  it('builds id lists as escaped literals', () => {
    expect(idsFilter('item_id', ['1', 'a"b'])).toBe('item_id in ["1", "a\\"b"]');
  });
});
