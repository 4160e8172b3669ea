import { describe, expect, it } from 'vitest';
import { ITEM_SCALARS } from '../../../../stores/vectors/item-fields.js';
import { milvusSearchOptions } from '../../../../stores/vectors/milvus.js';

describe('milvusSearchOptions', () => {
  it('renders the conditions as one escaped Milvus expression, and passes the rest through', () => {
    expect(
      milvusSearchOptions({
        conditions: [
          { field: 'category', op: 'not in', values: ['a" or category != "', 'b\\'] },
          { field: 'published_at', op: '<', value: 1700000000000 },
        ],
        consistency: 'Bounded',
        ef: 80,
      }),
    ).toEqual({
      filter: '(category not in ["a\\" or category != \\"", "b\\\\"]) and (published_at < 1700000000000)',
      consistency: 'Bounded',
      ef: 80,
    });
  });

  it('sends no filter without conditions', () => {
    expect(milvusSearchOptions()).toEqual({});
    expect(milvusSearchOptions({ conditions: [], outputFields: ['category'] })).toEqual({
      outputFields: ['category'],
    });
    expect(ITEM_SCALARS.map((f) => f.name)).toEqual(['category', 'published_at']);
  });
});
