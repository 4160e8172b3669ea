import { describe, expect, it } from 'vitest';
import { runEvaluation } from '../../../cli/model-jobs.js';
import { loadConfig } from '../../../config/index.js';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import { leaveLastOut } from '../../../model/eval/protocol.js';

describe('towerflow eval --ann (real Milvus)', () => {
  it('ranks through a Milvus HNSW index and agrees with exact ranking', async () => {
    const ds = syntheticDataset({ users: 300, items: 500, interactions: 12_000, seed: 9 });
    const report = await runEvaluation(
      ds,
      { train: { epochs: 3, batchSize: 256, randomNegatives: 128 } },
      loadConfig(),
    );
    expect(Object.keys(report.models)).toEqual(
      expect.arrayContaining(['two-tower', 'two-tower (ann)', 'popularity']),
    );
    const exact = report.models['two-tower'] as Record<string, number>;
    const ann = report.models['two-tower (ann)'] as Record<string, number>;
    // every user with two distinct items is held out once (leave-last-out)
    expect(report.users).toBe(leaveLastOut(ds).test.length);
    // HNSW with ef = limit (≥ 100 here, serve's rule) on 500 items is near exact: a bound, as HNSW is approximate
    expect(Math.abs((ann['HR@50'] as number) - (exact['HR@50'] as number))).toBeLessThanOrEqual(0.02);
    expect(exact['HR@50']).toBeGreaterThan(report.models.popularity?.['HR@50'] ?? 1);
    // asked for exactly k = 50 (ef 64), the index finds nearly all of the exact top 50 (a bound, as above)
    expect(report.annRecall?.k).toBe(50);
    expect(report.annRecall?.recall).toBeGreaterThan(0.95);
  });
});
