import { describe, expect, it } from 'vitest';
import { runEvaluation } from '../../../cli/model-jobs.js';
import { loadConfig } from '../../../config/index.js';
import { syntheticDataset } from '../../../model/data/synthetic.js';

describe('towerflow eval --ann (real Milvus)', () => {
  it('ranks through a Milvus HNSW index and agrees with exact ranking', async () => {
    const ds = syntheticDataset({ users: 300, items: 500, interactions: 12_000, seed: 9 });
    const report = await runEvaluation(
      ds,
      { train: { epochs: 3, batchSize: 256, randomNegatives: 128 } },
      loadConfig(),
    );
    const exact = report.models['two-tower'];
    const ann = report.models['two-tower (ann)'];
    expect(exact).toBeDefined();
    expect(ann).toBeDefined();
    expect(report.users).toBeGreaterThan(250);
    // HNSW with ef = limit (≥ 100 here, serve's rule) on 500 items is near exact
    expect(Math.abs((ann?.['HR@50'] ?? 0) - (exact?.['HR@50'] ?? 0))).toBeLessThanOrEqual(0.02);
    expect(exact?.['HR@50']).toBeGreaterThan(report.models.popularity?.['HR@50'] ?? 1);
    // asked for exactly k = 50 (ef 64), the index finds nearly all of the exact top 50
    expect(report.annRecall?.k).toBe(50);
    expect(report.annRecall?.recall).toBeGreaterThan(0.95);
    expect(report.annRecall?.recall).toBeLessThanOrEqual(1);
  });
});
