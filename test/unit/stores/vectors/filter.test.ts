import { describe, expect, it } from 'vitest';
import { checkConditions, type FilterableField, FilterError } from '../../../../stores/vectors/filter.js';

const fields: FilterableField[] = [
  { name: 'category', type: 'varchar' },
  { name: 'publish_ts', type: 'int64' },
  { name: 'price', type: 'double' },
  { name: 'active', type: 'bool' },
];

describe('checkConditions', () => {
  it('returns whitelisted, well-typed conditions unchanged', () => {
    const conditions = [
      { field: 'category', op: 'in', values: ['a', 'x" or 1 == 1'] },
      { field: 'publish_ts', op: '>=', value: 5 },
      { field: 'price', op: '<', value: 1.5 },
      { field: 'active', op: '==', value: true },
    ] as const;
    expect(checkConditions(conditions, fields)).toBe(conditions);
    expect(checkConditions([], fields)).toEqual([]);
  });

  it.each([
    [{ field: 'item_id', op: '==', value: '1' }, 'item_id', /unknown field/],
    [{ field: 'publish_ts', op: '>', value: '5 or 1==1' }, 'publish_ts', /integer/],
    [{ field: 'publish_ts', op: '>', value: 1.5 }, 'publish_ts', /integer/],
    [{ field: 'price', op: '>', value: Number.POSITIVE_INFINITY }, 'price', /finite number/],
    [{ field: 'category', op: 'in', values: [] }, 'category', /between 1 and/],
    [{ field: 'category', op: 'in', values: ['a', 1] }, 'category', /expected a string/],
    [{ field: 'category', op: '==', value: 'a\nb' }, 'category', /control/],
    [{ field: 'category', op: '==', value: 'x'.repeat(257) }, 'category', /longer than 256/],
    [{ field: 'active', op: '>', value: true }, 'active', /boolean/],
    [{ field: 'active', op: '==', value: 'true' }, 'active', /true or false/],
    [{ field: 'publish_ts', op: '> 0 or publish_ts >', value: 5 }, 'publish_ts', /unknown operator/],
  ] as const)('refuses %j, naming the field', (cond, field, message) => {
    expect(() => checkConditions([cond as never], fields)).toThrow(FilterError);
    expect(() => checkConditions([cond as never], fields)).toThrow(message);
    try {
      checkConditions([cond as never], fields);
    } catch (e) {
      expect((e as FilterError).field).toBe(field);
    }
  });
});
