import { describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../../../model/data/synthetic.js';
import type { Dataset, Interaction } from '../../../../model/data/types.js';
import { runPrequential, timeSplit } from '../../../../model/eval/prequential.js';
import { tf } from '../../../../model/tf.js';

/** Clustered synthetic data plus two users who only appear after the cut (they start from the OOV row). */
function withLateUsers(): Dataset {
  const ds = syntheticDataset({ users: 120, items: 200, interactions: 5_000, seed: 9 });
  const last = ds.interactions.at(-1) as Interaction;
  const late: Interaction[] = [];
  for (let k = 0; k < 30; k++)
    late.push({
      user: `late${k % 2}`,
      item: `i${(k * 13) % 200}`,
      ts: last.ts + 10 * (k + 1),
      key: `late-${k}`,
      row: last.row + k + 1,
    });
  for (const u of ['late0', 'late1']) ds.users.set(u, { id: u, categorical: {} });
  return { ...ds, interactions: [...ds.interactions, ...late] };
}

describe('time split', () => {
  it('orders by (ts, key) and never splits one timestamp across the parts', () => {
    const rows: Interaction[] = [
      { user: 'a', item: 'x', ts: 5, key: 'k0', row: 0 },
      { user: 'b', item: 'y', ts: 1, key: 'k1', row: 1 },
      { user: 'a', item: 'z', ts: 3, key: 'k3b', row: 2 },
      { user: 'c', item: 'x', ts: 3, key: 'k3a', row: 3 },
      { user: 'c', item: 'y', ts: 7, key: 'k4', row: 4 },
    ];
    const s = timeSplit(rows, 0.4);
    expect(s.train.map((r) => r.row)).toEqual([1, 3, 2]);
    expect(s.test.map((r) => r.row)).toEqual([0, 4]);
    expect(s.cutTs).toBe(3);
    expect(() => timeSplit(rows, 1)).toThrow(RangeError);
  });
});

describe('prequential evaluation', { timeout: 120_000 }, () => {
  it('ranks then applies every later event, for both arms, with counts and curves', async () => {
    const ds = withLateUsers();
    const before = tf.memory().numTensors;
    const r = await runPrequential(ds, {
      fit: { train: { epochs: 1, batchSize: 256, randomNegatives: 64 } },
      trainFraction: 0.8,
      window: 32,
      curvePoints: 5,
    });
    expect(tf.memory().numTensors).toBe(before);
    const split = timeSplit(ds.interactions, 0.8);
    expect(r.split.testRows).toBe(split.test.length);
    expect(r.events.total).toBe(split.test.length);
    expect(r.events.evaluated + r.events.repeats).toBe(r.events.total);
    expect(r.events.evaluated).toBeGreaterThan(0);
    expect(r.events.newUsers).toBe(2);
    // late0 and late1 each rank 15 distinct items
    expect(r.events.newUserEvents).toBe(30);
    expect(r.updates.windows).toBe(Math.ceil(r.events.total / 32));
    for (const arm of [
      r.models.baseline,
      r.models.incremental,
      r.newUsers.baseline,
      r.newUsers.incremental,
    ]) {
      for (const v of Object.values(arm)) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(arm['HR@50']).toBeGreaterThanOrEqual(arm['HR@10']);
    }
    expect(r.curve.length).toBeGreaterThanOrEqual(5);
    expect(r.curve.at(-1)).toEqual({
      events: r.events.evaluated,
      baseline: r.models.baseline['HR@50'],
      incremental: r.models.incremental['HR@50'],
    });
    for (let i = 1; i < r.curve.length; i++)
      expect(r.curve[i]!.events).toBeGreaterThan(r.curve[i - 1]!.events);
    const { better, worse, same } = r.usersHR50;
    expect(better + worse + same).toBeLessThanOrEqual(r.events.testUsers);
    expect(better + worse + same).toBeGreaterThan(0);
    expect(r.updates.meanStepNorm).toBeGreaterThan(0);
    expect(r.seconds.fit).toBeGreaterThan(0);
  });

  it('with a zero learning rate, the incremental arm is the baseline', async () => {
    const ds = syntheticDataset({ users: 80, items: 150, interactions: 3_000, seed: 4 });
    const r = await runPrequential(ds, {
      fit: { train: { epochs: 1, batchSize: 256, randomNegatives: 64 } },
      window: 50,
      incremental: { learningRate: 0 },
    });
    expect(r.models.incremental).toEqual(r.models.baseline);
  });
});
