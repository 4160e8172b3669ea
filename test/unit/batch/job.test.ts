import { describe, expect, it } from 'vitest';
import { batchReport, sampleTestUsers, stepTimer, versionMetadata } from '../../../batch/job.js';
import { windowRange } from '../../../batch/window.js';
import type { LeaveLastOutSplit } from '../../../model/eval/protocol.js';

const range = windowRange('2024-03-10', 2);
const stats = { events: 100, users: 10, items: 20 };

describe('batch run: steps', () => {
  it('says each step before and after, and keeps its seconds by name', async () => {
    const said: string[] = [];
    const steps: Record<string, number> = {};
    const step = stepTimer((m) => said.push(m), steps);
    expect(await step('gate', async () => 7)).toBe(7);
    await expect(
      step('switch', async () => {
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(Object.keys(steps)).toEqual(['gate']);
    expect(steps.gate).toBeGreaterThanOrEqual(0);
    expect(said).toEqual(['gate…', `gate: ${steps.gate} s`, 'switch…']);
  });

  it('samples at most n test users, the same ones every time, in their order', () => {
    const split = {
      train: [],
      test: Array.from({ length: 50 }, (_, i) => ({ user: `u${i}`, item: 'x', ts: i, key: `k${i}`, row: i })),
      trainItemsByUser: new Map(),
    } as LeaveLastOutSplit;
    expect(sampleTestUsers(split, 50)).toBe(split);
    const a = sampleTestUsers(split, 10);
    expect(a.test).toHaveLength(10);
    expect(a.test.map((c) => c.row)).toEqual([...a.test.map((c) => c.row)].sort((x, y) => x - y));
    expect(new Set(a.test.map((c) => c.user)).size).toBe(10);
    expect(sampleTestUsers(split, 10).test).toEqual(a.test);
    expect(a.train).toBe(split.train);
  });
});

describe('batch run: version metadata and report', () => {
  const fitted = {
    result: { samples: 1000, seconds: 2, samplesPerSecond: 500, losses: [], finalLoss: 0.5 },
    trainConfig: { epochs: 3 },
  } as never;
  const training = (publish: 'all' | 'split') =>
    ({
      run: { cfg: { batchPublishTraining: publish }, range, steps: { gate: 1.5 } },
      ds: { name: 'hbase 2024-03-09..2024-03-10' },
      stats,
      live: { version: 'v3' },
      version: 'v4',
    }) as never;

  it('says what a version was trained on: the split first, then all when publishing all', () => {
    const m = versionMetadata(training('all'), 'train', fitted, 0.5);
    expect(m).toMatchObject({
      version: 'v4',
      dataset: 'hbase 2024-03-09..2024-03-10',
      initFrom: 'v3',
      training: { samples: 1000, seconds: 2, samplesPerSecond: 500, epochs: 3, finalLoss: 0.5 },
      trainedOn: 'split',
      window: { from: '2024-03-09T00:00:00.000Z', to: '2024-03-11T00:00:00.000Z', ...stats },
    });
    expect(Number.isNaN(Date.parse(m.createdAt))).toBe(false);
    expect(versionMetadata(training('all'), 'train all', fitted, 0.5).trainedOn).toBe('all');
    expect(versionMetadata(training('split'), 'train', fitted, 0.5).trainedOn).toBe('split');
  });

  it('reports the window, training, vectors per second and the steps', () => {
    const gate = { pass: true, metric: 'HR@50', candidate: 0.3, tolerance: 0.01, reason: 'ok' } as const;
    const r = batchReport(training('all'), {
      collection: 'c_v4',
      published: true,
      gateUsers: 5,
      gate,
      metrics: { candidate: { 'HR@50': 0.3 } },
      training: { samples: 1000, samplesPerSecond: 500, finalLoss: 0.5 },
      built: { rows: 300, insertSeconds: 1.5, indexSeconds: 4 },
      aliasSwitchMs: 12,
      caughtUp: { upserted: 1, deleted: 0, unchanged: 2 },
      retired: { userStateKeys: 3, versions: ['v1'], released: [] },
    });
    expect(r).toEqual({
      version: 'v4',
      collection: 'c_v4',
      published: true,
      window: { from: '2024-03-09T00:00:00.000Z', to: '2024-03-11T00:00:00.000Z', ...stats },
      gateUsers: 5,
      gate,
      metrics: { candidate: { 'HR@50': 0.3 } },
      steps: { gate: 1.5 },
      training: { samples: 1000, samplesPerSecond: 500, finalLoss: 0.5, initFrom: 'v3' },
      vectors: { rows: 300, perSecond: 200, indexSeconds: 4 },
      aliasSwitchMs: 12,
      caughtUp: { upserted: 1, deleted: 0, unchanged: 2 },
      retired: { userStateKeys: 3, versions: ['v1'], released: [] },
    });
  });
});
