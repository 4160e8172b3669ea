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
    // by hand: an event is ranked unless its user has seen its item (in training or earlier in the walk)
    const seen = new Map<string, Set<string>>();
    for (const x of split.train) seen.set(x.user, (seen.get(x.user) ?? new Set()).add(x.item));
    let ranked = 0;
    const rankedUsers = new Set<string>();
    for (const x of split.test) {
      const items = seen.get(x.user) ?? new Set<string>();
      seen.set(x.user, items);
      if (items.has(x.item)) continue;
      ranked++;
      rankedUsers.add(x.user);
      items.add(x.item);
    }
    expect(r.events.evaluated).toBe(ranked);
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
      expect(arm['HR@50']).toBeGreaterThanOrEqual(arm['HR@10']);
      // a hit adds at most 1 to NDCG, exactly 1 to HR
      expect(arm['NDCG@10']).toBeLessThanOrEqual(arm['HR@10']);
      expect(arm['NDCG@50']).toBeLessThanOrEqual(arm['HR@50']);
    }
    // HR@K is a whole number of hits over the events ranked (all of them, or the new users' 30)
    const hits = (hr: number, events: number) => Math.abs(hr * events - Math.round(hr * events));
    for (const arm of [r.models.baseline, r.models.incremental])
      for (const k of ['HR@10', 'HR@50', 'HR@100'] as const)
        expect(hits(arm[k], ranked), k).toBeLessThan(1e-9);
    for (const arm of [r.newUsers.baseline, r.newUsers.incremental])
      for (const k of ['HR@10', 'HR@50', 'HR@100'] as const) expect(hits(arm[k], 30), k).toBeLessThan(1e-9);
    // curvePoints 5: a point every ceil(1006 / 5) = 202 walked events, the last at the end (no
    // 32-event window holds two marks)
    expect(r.curve).toHaveLength(5);
    expect(r.curve.at(-1)).toEqual({
      events: r.events.evaluated,
      baseline: r.models.baseline['HR@50'],
      incremental: r.models.incremental['HR@50'],
    });
    for (let i = 1; i < r.curve.length; i++)
      expect(r.curve[i]!.events).toBeGreaterThan(r.curve[i - 1]!.events);
    const { better, worse, same } = r.usersHR50;
    // one sign per user with a ranked event
    expect(better + worse + same).toBe(rankedUsers.size);
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
