import { describe, expect, it } from 'vitest';
import { sumSamples } from '../../../../cli/demo/metrics-text.js';

describe('sumSamples', () => {
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
});
