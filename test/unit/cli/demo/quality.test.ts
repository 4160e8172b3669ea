import { describe, expect, it } from 'vitest';
import { compareRankings, HEAVY_HISTORY, hitRateByHistory } from '../../../../cli/demo/quality.js';
import type { LeaveLastOutSplit } from '../../../../model/eval/protocol.js';

describe('demo quality', () => {
  it('compares served and offline top 50s user by user', () => {
    const offline = new Map([
      ['u1', ['a', 'b', 'c', 'd']],
      ['u2', ['a', 'b', 'c', 'd']],
    ]);
    const served = new Map([
      ['u1', ['a', 'b', 'c', 'd']],
      ['u2', ['a', 'c', 'x', 'y']],
    ]);
    expect(compareRankings(served, offline)).toEqual({ identicalTop50: 0.5, meanOverlap50: (1 + 0.5) / 2 });
  });

  it('splits HR@50 between heavy users and the others', () => {
    const many = new Set(Array.from({ length: HEAVY_HISTORY + 1 }, (_, i) => `t${i}`));
    const split = {
      train: [],
      test: [
        { user: 'heavy', item: 'h', ts: 1, row: 0 },
        { user: 'light1', item: 'a', ts: 1, row: 1 },
        { user: 'light2', item: 'b', ts: 1, row: 2 },
      ],
      trainItemsByUser: new Map([
        ['heavy', many],
        ['light1', new Set(['x'])],
        ['light2', new Set(['x'])],
      ]),
    } as unknown as LeaveLastOutSplit;
    const served = new Map([
      ['heavy', ['h']],
      ['light1', ['a']],
      ['light2', [...Array.from({ length: 50 }, (_, i) => `f${i}`), 'b']],
    ]);
    const offline = new Map([
      ['heavy', ['z']],
      ['light1', ['a']],
      ['light2', ['b']],
    ]);
    expect(hitRateByHistory(split, served, offline)).toEqual({
      heavy: { users: 1, served: 1, offline: 0 },
      others: { users: 2, served: 0.5, offline: 1 },
    });
  });
});
