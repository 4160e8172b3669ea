import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/index.js';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import { disposeFitted } from '../../../model/evaluate.js';
import {
  DEFAULT_INCREMENTAL,
  IdRowUpdater,
  type IncrementalConfig,
  incrementalFromSettings,
  type LiveItems,
  largestIdRowNorm,
  type UserUpdate,
  updateExamples,
  updateIdRows,
} from '../../../model/incremental.js';
import { fitTwoTower } from '../../../model/pipeline.js';
import { tf } from '../../../model/tf.js';
import { disposeUserTensors, userTensors } from '../../../model/towers.js';
import { ModelVersion, saveVersion, type UserQuery } from '../../../model/version.js';

const ds = syntheticDataset({ users: 200, items: 300, interactions: 8_000, seed: 5 });
const corpus = [...ds.items.values()];
const tmp = mkdtempSync(path.join(tmpdir(), 'towerflow-incremental-'));
let version: ModelVersion;
let live: LiveItems;

beforeAll(async () => {
  const fitted = await fitTwoTower(ds, ds.interactions, {
    train: { epochs: 1, batchSize: 256, randomNegatives: 128 },
  });
  const dir = path.join(tmp, 'v1');
  await saveVersion(dir, fitted.model, fitted.vocab, fitted.features, {
    version: 'v1',
    createdAt: new Date().toISOString(),
    dataset: ds.name,
    training: { samples: 1, seconds: 1, samplesPerSecond: 1, epochs: 1, finalLoss: 1 },
  });
  disposeFitted(fitted);
  version = await ModelVersion.load(dir);
  live = { vectors: version.itemVectors(corpus), rowOf: new Map(corpus.map((r, i) => [r.id, i])) };
}, 120_000);

afterAll(() => {
  version?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const T0 = 1_800_000_000;
const item = (j: number) => `i${j}`;
const tableRow = (idx: number): Float32Array => {
  const t = tf.tidy(() => tf.gather(version.model.w('user_id'), [idx]));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return Float32Array.from(out);
};
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
const hypot = (a: Float32Array) => Math.sqrt(dot(a, a));
const itemVector = (id: string) => {
  const r = live.rowOf.get(id) as number;
  return live.vectors.subarray(r * version.dim, (r + 1) * version.dim);
};
const cfg = (over: Partial<IncrementalConfig>): IncrementalConfig => ({ ...DEFAULT_INCREMENTAL, ...over });

describe('user vectors with an override ID row', () => {
  const queries: UserQuery[] = [
    { userId: 'u1', history: [{ itemId: item(3), ts: T0 - 100 }], ts: T0 },
    { userId: 'u2', history: [], ts: T0 },
    { userId: 'never-seen', history: [{ itemId: item(7), ts: T0 - 50 }], ts: T0 },
  ];

  it('are identical to the plain path when the override is the table row, and without overrides', () => {
    const plain = version.userVectors(queries);
    const same = version.userVectors(
      queries.map((q) => ({ ...q, idRow: tableRow(version.vocab.users.lookup(q.userId)) })),
    );
    expect([...same]).toEqual([...plain]);
    expect([...version.userVectors(queries)]).toEqual([...plain]);
  });

  it('change only the overridden row', () => {
    const plain = version.userVectors(queries);
    const d = version.dim;
    const other = new Float32Array(version.model.towers.idDim).fill(0.3);
    const mixed = version.userVectors(queries.map((q, i) => (i === 1 ? { ...q, idRow: other } : q)));
    expect([...mixed.subarray(0, d)]).toEqual([...plain.subarray(0, d)]);
    expect([...mixed.subarray(2 * d)]).toEqual([...plain.subarray(2 * d)]);
    expect([...mixed.subarray(d, 2 * d)]).not.toEqual([...plain.subarray(d, 2 * d)]);
    expect(() => version.userVectors([{ ...queries[0]!, idRow: new Float32Array(3) }])).toThrow(/ID row/);
  });
});

describe('incremental ID-row updates', { timeout: 60_000 }, () => {
  const burst = (user: string, n: number, ts = T0): UserUpdate => ({
    userId: user,
    history: [],
    events: Array.from({ length: n }, (_, k) => ({ itemId: item((k * 37) % 300), ts: ts + k })),
  });

  it('move only the given rows: every tower weight, the ID table included, is unchanged', async () => {
    const before = await version.model.export();
    const users: UserUpdate[] = [
      { userId: 'u3', history: [{ itemId: item(1), ts: T0 - 10 }], events: [{ itemId: item(2), ts: T0 }] },
      { userId: 'u4', history: [], events: [{ itemId: 'not-live', ts: T0 }] },
    ];
    const r = updateIdRows(version, live, users);
    const after = await version.model.export();
    expect(after.map((w) => w.name)).toEqual(before.map((w) => w.name));
    after.forEach((w, i) => {
      expect(w.data).toEqual(before[i]!.data);
    });
    expect(r.rows).toHaveLength(2);
    expect([...r.rows[0]!]).not.toEqual([...tableRow(version.vocab.users.lookup('u3'))]);
    // u4's only event has no live vector: context only, its row stays the start row
    expect([...r.rows[1]!]).toEqual([...tableRow(version.vocab.users.lookup('u4'))]);
    expect(r.stats).toMatchObject({ users: 2, activeUsers: 1, events: 1, skippedEvents: 1, steps: 5 });
  });

  it("raise the positive's score at its prediction point and lower the loss", () => {
    const history = [
      { itemId: item(10), ts: T0 - 300 },
      { itemId: item(11), ts: T0 - 200 },
    ];
    const positive = item(42);
    const start = tableRow(version.vocab.users.lookup('u5'));
    const r = updateIdRows(
      version,
      live,
      [{ userId: 'u5', idRow: start, history, events: [{ itemId: positive, ts: T0 }] }],
      cfg({ steps: 1, learningRate: 0.1 }),
    );
    const score = (idRow: Float32Array) =>
      dot(version.userVectors([{ userId: 'u5', history, ts: T0, idRow }]), itemVector(positive));
    expect(score(r.rows[0]!)).toBeGreaterThan(score(start));
    const more = updateIdRows(
      version,
      live,
      [{ userId: 'u5', idRow: start, history, events: [{ itemId: positive, ts: T0 }] }],
      cfg({ steps: 5, learningRate: 0.1 }),
    );
    expect(more.stats.lossAfter).toBeLessThan(more.stats.lossBefore);
    expect(score(more.rows[0]!)).toBeGreaterThan(score(r.rows[0]!));
  });

  it('keep the row norm bounded under a burst of 1,000 events from one user', () => {
    const bound = largestIdRowNorm(version.model);
    // one micro-batch of 1,000 events: the mean loss and the clip bound the step
    const one = updateIdRows(version, live, [burst('u6', 1000)], cfg({ learningRate: 5, steps: 10 }));
    expect(hypot(one.rows[0]!)).toBeLessThanOrEqual(bound * (1 + 1e-5));
    // the same 1,000 events as 100 micro-batches, feeding the row back, with an aggressive learning rate
    const updater = new IdRowUpdater(version, live, cfg({ learningRate: 5, steps: 2, maxRowNorm: 0.5 }));
    let row: Float32Array | undefined;
    let projected = 0;
    const events = burst('u6', 1000).events;
    for (let k = 0; k < 100; k++) {
      const prev = row;
      const r = updater.update([
        {
          userId: 'u6',
          idRow: row,
          history: events.slice(0, k * 10),
          events: events.slice(k * 10, k * 10 + 10),
        },
      ]);
      row = r.rows[0]!;
      projected += r.stats.projected;
      expect(hypot(row)).toBeLessThanOrEqual(0.5 * (1 + 1e-5));
      // one call moves a row by at most steps · lr · clip
      if (prev) expect(hypot(row.map((x, i) => x - prev[i]!))).toBeLessThanOrEqual(2 * 5 * 1 + 1e-4);
    }
    updater.dispose();
    expect(projected).toBeGreaterThan(0);
  });

  it('start an unseen user from the OOV row (index 0)', () => {
    expect(version.vocab.users.lookup('brand-new-user')).toBe(0);
    const oov = tableRow(0);
    const still = updateIdRows(version, live, [burst('brand-new-user', 3)], cfg({ steps: 0 }));
    expect([...still.rows[0]!]).toEqual([...oov]);
    const moved = updateIdRows(version, live, [burst('brand-new-user', 3)]);
    expect([...moved.rows[0]!]).not.toEqual([...oov]);
    expect([...tableRow(0)]).toEqual([...oov]);
  });

  it('use only the past as each positive’s context (no leakage)', () => {
    const user: UserUpdate = {
      userId: 'u7',
      history: [
        { itemId: item(1), ts: T0 - 20 },
        { itemId: item(2), ts: T0 - 10 },
        // later than the events: never their context
        { itemId: item(99), ts: T0 + 1000 },
      ],
      events: [
        { itemId: item(3), ts: T0 },
        { itemId: item(4), ts: T0 + 5 },
      ],
    };
    const idx = (id: string) => version.vocab.items.lookup(id);
    const ex = updateExamples(version, live.rowOf, [user]);
    const L = version.features.seqLen;
    const seq = (r: number) => [...ex.inputs.seqIdx.subarray(r * L, (r + 1) * L)].filter((x) => x > 0);
    expect(seq(0)).toEqual([idx(item(2)), idx(item(1))]);
    expect(seq(1)).toEqual([idx(item(3)), idx(item(2)), idx(item(1))]);
    expect([...ex.positive]).toEqual([live.rowOf.get(item(3)), live.rowOf.get(item(4))]);
    // the first event's example is the same whether or not the later event is in the batch
    const alone = updateExamples(version, live.rowOf, [{ ...user, events: user.events.slice(0, 1) }]);
    expect([...alone.inputs.seqIdx]).toEqual([...ex.inputs.seqIdx.subarray(0, L)]);
    expect([...alone.inputs.seqW]).toEqual([...ex.inputs.seqW.subarray(0, 2 * L)]);
    expect([...alone.inputs.userSide]).toEqual([
      ...ex.inputs.userSide.subarray(0, ex.inputs.userSide.length / 2),
    ]);
  });

  it('compute the same user vectors with the first layer split (ID part per step, the rest once)', () => {
    const users = [
      burst('u3', 5),
      burst('never-seen-2', 3),
      { ...burst('u9', 4), history: [{ itemId: item(8), ts: T0 - 9 }] },
    ];
    const ex = updateExamples(version, live.rowOf, users);
    const ut = userTensors(ex.inputs, version.features);
    const rows = tf.randomNormal([ex.positive.length, version.model.towers.idDim], 0, 0.3, 'float32', 9);
    const [whole, split] = tf.tidy(() => [
      version.model.userTowerFromIdRows(rows as never, ut).arraySync() as number[][],
      version.model
        .userTowerFromFirstLayer(
          tf.add(tf.matMul(rows, version.model.idKernel()), version.model.userTowerPartial(ut)) as never,
        )
        .arraySync() as number[][],
    ]);
    expect(split.length).toBe(12);
    for (const [i, r] of split.entries())
      for (const [j, x] of r.entries()) expect(x).toBeCloseTo(whole[i]![j]!, 5);
    disposeUserTensors(ut);
    rows.dispose();
  });

  it('leak no tensors', () => {
    const before = tf.memory().numTensors;
    const updater = new IdRowUpdater(version, live);
    updater.update([burst('u8', 20), burst('never-seen', 5)]);
    updater.update([]);
    updater.dispose();
    updateIdRows(version, live, [burst('u9', 4)]);
    version.userVectors([
      { userId: 'u1', history: [], ts: T0, idRow: new Float32Array(version.model.towers.idDim) },
    ]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('are deterministic for a seed', () => {
    const a = updateIdRows(version, live, [burst('u10', 5)]);
    const b = updateIdRows(version, live, [burst('u10', 5)]);
    expect([...a.rows[0]!]).toEqual([...b.rows[0]!]);
  });
});

describe('EMBEDDINGS_* settings', () => {
  it('default to the updater defaults and name a bad variable', () => {
    expect(incrementalFromSettings(loadConfig({}))).toEqual(DEFAULT_INCREMENTAL);
    expect(() => incrementalFromSettings(loadConfig({ EMBEDDINGS_LEARNING_RATE: 'fast' }))).toThrow(
      ConfigError,
    );
    expect(() => incrementalFromSettings(loadConfig({ EMBEDDINGS_CLIP_NORM: '0' }))).toThrow(
      /EMBEDDINGS_CLIP_NORM/,
    );
  });
});
