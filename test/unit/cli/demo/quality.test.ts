import { describe, expect, it } from 'vitest';
import { sumSamples } from '../../../../cli/demo/metrics-text.js';
import { compareRankings, HEAVY_HISTORY, hitRateByHistory } from '../../../../cli/demo/quality.js';
import type { LeaveLastOutSplit } from '../../../../model/eval/protocol.js';

describe('demo helpers', () => {
  it('sums the samples of one metric whose labels match', () => {
    const text = [
      '# HELP towerflow_online_hits_total x',
      'towerflow_online_hits_total{model_version="v1",source="personal"} 3',
      'towerflow_online_hits_total{model_version="v1",source="profile"} 2',
      'towerflow_online_hits_total{model_version="v2",source="personal"} 7',
      'towerflow_online_hits_total_other{model_version="v1"} 100',
      'towerflow_online_hit_rank_bucket{le="50",model_version="v1",source="personal"} 1',
      'towerflow_online_hit_rank_bucket{le="500",model_version="v1",source="personal"} 3',
    ].join('\n');
    expect(sumSamples(text, 'towerflow_online_hits_total', { model_version: 'v1' })).toBe(5);
    expect(sumSamples(text, 'towerflow_online_hits_total')).toBe(12);
    expect(sumSamples(text, 'towerflow_online_hit_rank_bucket', { model_version: 'v1', le: '50' })).toBe(1);
    expect(sumSamples(text, 'towerflow_missing')).toBe(0);
  });

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
