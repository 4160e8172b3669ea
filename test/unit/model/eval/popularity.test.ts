import { describe, expect, it } from 'vitest';
import type { Interaction } from '../../../../model/data/types.js';
import { popularityOrder, popularityRanker } from '../../../../model/eval/popularity.js';

const train: Interaction[] = [
  ['u1', '9'],
  ['u2', '9'],
  ['u1', '10'],
  ['u3', '10'],
  ['u2', 'b'],
  ['u3', 'b'],
  ['u3', 'b'],
  ['u1', 'a'],
].map(([user, item], row) => ({
  user: user as string,
  item: item as string,
  ts: row,
  key: String(row),
  row,
}));

describe('popularity baseline', () => {
  it('orders by training count, ties by item ID in string order, unseen corpus items last', () => {
    // b: 3; '10', '9': 2 each ('10' < '9' as strings); a: 1; z: 0
    expect(popularityOrder(train, ['z', 'a'])).toEqual(['b', '10', '9', 'a', 'z']);
  });

  it("excludes the user's training items and stops at k", () => {
    const trainItemsByUser = new Map([['u1', new Set(['9', '10', 'a'])]]);
    const rank = popularityRanker({ train, trainItemsByUser }, ['z'], 2);
    expect(rank('u1')).toEqual(['b', 'z']);
    expect(rank('new-user')).toEqual(['b', '10']);
  });
});
