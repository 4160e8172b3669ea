import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import { rankTopK } from '../../../model/eval/metrics.js';
import { leaveLastOut } from '../../../model/eval/protocol.js';
import { disposeFitted, evaluateTwoTower } from '../../../model/evaluate.js';
import { buildVocabularies, DEFAULT_FEATURES, detectFields, encodeItems } from '../../../model/features.js';
import { fitTwoTower } from '../../../model/pipeline.js';
import { buildTrainingSet } from '../../../model/samples.js';
import { type Scalar, type Tensor2D, tf } from '../../../model/tf.js';
import { DEFAULT_TOWERS, itemFeatures, shapesOf, TwoTower } from '../../../model/towers.js';
import {
  batchColumns,
  COLUMN_BUCKET,
  learningRateAt,
  MASKED_OFFSET,
  rng,
  sampledSoftmaxLoss,
} from '../../../model/train.js';
import { ModelVersion, saveVersion } from '../../../model/version.js';

const ds = syntheticDataset({ users: 300, items: 400, interactions: 12_000, seed: 3 });
const tmp = mkdtempSync(path.join(tmpdir(), 'towerflow-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('native TensorFlow', () => {
  it('runs on the tensorflow backend (libtensorflow from the PyPI wheel)', () => {
    expect(tf.getBackend()).toBe('tensorflow');
  });
});

describe('batch columns (in-batch + random negatives)', () => {
  it('deduplicates positives and never draws a batch positive as a random negative', () => {
    const pos = Int32Array.from([5, 7, 5, 9, 7]);
    const rnd = rng(1);
    const c = batchColumns(pos, 6, 12, new Float32Array(12).fill(-1), -3, rnd, 1);
    expect([...c.columns.slice(0, 3)]).toEqual([5, 7, 9]);
    expect([...c.label]).toEqual([0, 1, 0, 2, 1]);
    const randoms = [...c.columns.slice(3)];
    expect(randoms).toHaveLength(6);
    for (const r of randoms) expect([5, 7, 9]).not.toContain(r);
    expect([...c.offsets]).toEqual([-1, -1, -1, -3, -3, -3, -3, -3, -3]);
  });
});

describe('column padding (fixed matmul shapes)', () => {
  it('pads to a multiple of the bucket with masked copies of a real row', () => {
    const pos = Int32Array.from([5, 7, 5, 9, 7]);
    const c = batchColumns(pos, 6, 12, new Float32Array(12).fill(-1), -3, rng(1), 4);
    expect(c.columns).toHaveLength(12);
    expect([...c.columns.slice(9)]).toEqual([5, 5, 5]);
    expect([...c.offsets.slice(9)]).toEqual([MASKED_OFFSET, MASKED_OFFSET, MASKED_OFFSET]);
    expect(batchColumns(pos, 5, 12, new Float32Array(12), 0, rng(1), 4).columns).toHaveLength(8);
    expect(batchColumns(pos, 6, 12, new Float32Array(12), 0, rng(1)).columns).toHaveLength(COLUMN_BUCKET);
  });

  it('leaves the loss and every gradient unchanged', () => {
    const small = syntheticDataset({ users: 50, items: 300, interactions: 2_000, seed: 5 });
    const features = detectFields(small, DEFAULT_FEATURES);
    const vocab = buildVocabularies(small, small.interactions, features);
    const items = itemFeatures(encodeItems([...small.items.values()], vocab, features));
    const model = new TwoTower(shapesOf(vocab, features), { ...DEFAULT_TOWERS, outDim: 16 });
    const pos = Int32Array.from({ length: 40 }, (_, i) => (i * 37) % 300);
    // unit rows over the temperature, as training passes them
    const user = tf.div(
      tf.randomNormal([40, 16], 0, 1, 'float32', 9),
      tf.mul(tf.norm(tf.randomNormal([40, 16], 0, 1, 'float32', 9), 2, 1, true), DEFAULT_TOWERS.temperature),
    ) as Tensor2D;
    const logQ = Float32Array.from({ length: 300 }, (_, i) => -Math.log(2 + i));
    const run = (bucket: number) => {
      const cols = batchColumns(pos, 60, 300, logQ, -4, rng(3), bucket);
      const { value, grads } = tf.variableGrads(() => sampledSoftmaxLoss(model, items, user, cols) as Scalar);
      const out = {
        width: cols.columns.length,
        loss: value.dataSync()[0] as number,
        grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()])),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const plain = run(1);
    const padded = run(64);
    expect(plain.width).toBe(100);
    expect(padded.width).toBe(128);
    expect(padded.loss).toBeCloseTo(plain.loss, 5);
    expect(Object.keys(padded.grads).sort()).toEqual(Object.keys(plain.grads).sort());
    for (const [name, g] of Object.entries(plain.grads)) {
      const p = padded.grads[name] as Float32Array;
      let worst = 0;
      for (let i = 0; i < g.length; i++)
        worst = Math.max(worst, Math.abs((p[i] as number) - (g[i] as number)));
      expect(worst, name).toBeLessThan(1e-5);
    }
    tf.dispose(user);
    model.dispose();
  });
});

describe('learning-rate schedule', () => {
  it('decays from the base rate to base·final along a cosine, and stays constant at final 1', () => {
    expect(learningRateAt(0.002, 0.1, 0, 101)).toBeCloseTo(0.002, 9);
    expect(learningRateAt(0.002, 0.1, 50, 101)).toBeCloseTo(0.0011, 9);
    expect(learningRateAt(0.002, 0.1, 100, 101)).toBeCloseTo(0.0002, 9);
    expect(learningRateAt(0.002, 0.1, 500, 101)).toBeCloseTo(0.0002, 9);
    const rates = Array.from({ length: 101 }, (_, s) => learningRateAt(0.002, 0.1, s, 101));
    for (let s = 1; s < rates.length; s++) expect(rates[s]).toBeLessThanOrEqual(rates[s - 1] as number);
    expect(learningRateAt(0.002, 1, 70, 101)).toBe(0.002);
  });
});

describe('training examples', { timeout: 60_000 }, () => {
  it('see only the history before each interaction (no leakage of the future)', async () => {
    const split = leaveLastOut(ds);
    const fitted = await fitTwoTower(ds, split.train, { train: { epochs: 1, batchSize: 256 } });
    const set = buildTrainingSet(ds, split.train, fitted.vocab, fitted.items, fitted.features);
    const L = fitted.features.seqLen;
    // the first example of every user has an empty sequence; the k-th has min(k, L) entries
    let empty = 0;
    for (let r = 0; r < set.n; r++) {
      const w = set.users.seqW.subarray(r * 2 * L, r * 2 * L + L);
      const filled = w.filter((x) => x > 0).length;
      if (filled === 0) empty++;
      const total = w.reduce((a, b) => a + b, 0);
      if (filled > 0) expect(total).toBeCloseTo(1, 4);
    }
    expect(empty).toBe(new Set(split.train.map((r) => r.user)).size);
    disposeFitted(fitted);
  });
});

describe('two-tower training and versions', { timeout: 180_000 }, () => {
  it('learns: loss falls and the model beats popularity on clustered synthetic data', async () => {
    // an exact index in place of Milvus, but for the best row, which it never returns
    const report = await evaluateTwoTower(ds, {
      train: { epochs: 4, batchSize: 256, randomNegatives: 128 },
      ann: async (items, _ids, dim) => ({
        async search(queries, d, k) {
          const n = items.length / dim;
          const out: number[][] = [];
          for (let q = 0; q < queries.length / d; q++) {
            const scores = new Float32Array(n);
            for (let r = 0; r < n; r++)
              for (let j = 0; j < d; j++)
                scores[r] = (scores[r] ?? 0) + (queries[q * d + j] ?? 0) * (items[r * dim + j] ?? 0);
            out.push(rankTopK(scores, k + 1, new Set()).slice(1));
          }
          return out;
        },
        async close() {},
      }),
    });
    const first = report.training.losses.slice(0, 5).reduce((a, b) => a + b.loss, 0) / 5;
    const last = report.training.losses.slice(-5).reduce((a, b) => a + b.loss, 0) / 5;
    expect(last).toBeLessThan(first);
    expect(report.models['two-tower']?.['HR@50']).toBeGreaterThan(report.models.popularity?.['HR@50'] ?? 1);
    // serve's beam: 49 of each user's exact top 50 (the index's float32 sums may swap near-ties)
    expect(report.annRecall?.k).toBe(50);
    expect(report.annRecall?.recall).toBeCloseTo(49 / 50, 2);
    disposeFitted(report.fitted);
  });

  it('saves a version atomically and loads it back with identical vectors; warm start keeps rows by id', async () => {
    const fitted = await fitTwoTower(ds, ds.interactions, { train: { epochs: 1, batchSize: 256 } });
    const dir = path.join(tmp, 'v1');
    await saveVersion(dir, fitted.model, fitted.vocab, fitted.features, {
      version: 'v1',
      createdAt: new Date().toISOString(),
      dataset: ds.name,
      training: { samples: 1, seconds: 1, samplesPerSecond: 1, epochs: 1, finalLoss: 1 },
    });
    const loaded = await ModelVersion.load(dir);
    const items = [...ds.items.values()].slice(0, 5);
    const a = loaded.itemVectors(items);
    const again = (await ModelVersion.load(dir)).itemVectors(items);
    expect([...a]).toEqual([...again]);
    // unit length
    for (let i = 0; i < 5; i++) {
      const v = a.subarray(i * loaded.dim, (i + 1) * loaded.dim);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    }
    // an unseen user and item still get vectors from their other features
    const u = loaded.userVectors([
      { userId: 'never-seen', history: [{ itemId: items[0]!.id, ts: 10 }], ts: 20 },
    ]);
    expect(u.every(Number.isFinite)).toBe(true);
    const unseen = loaded.itemVectors([{ ...items[0]!, id: 'brand-new' }]);
    expect(unseen.every(Number.isFinite)).toBe(true);

    const warm = await fitTwoTower(ds, ds.interactions.slice(0, 2000), {
      train: { epochs: 1, batchSize: 256 },
      initFrom: dir,
    });
    const before = fitted.model.w('item_id').arraySync() as number[][];
    const after = warm.model.w('item_id').arraySync() as number[][];
    // an item present in both vocabularies starts from its previous row (then one epoch moves it a little)
    const id = warm.vocab.items.values.find((v) => fitted.vocab.items.has(v)) as string;
    const oldRow = before[fitted.vocab.items.lookup(id)]!;
    const newRow = after[warm.vocab.items.lookup(id)]!;
    const cos =
      oldRow.reduce((s, x, i) => s + x * newRow[i]!, 0) / (Math.hypot(...oldRow) * Math.hypot(...newRow));
    expect(cos).toBeGreaterThan(0.5);
    disposeFitted(fitted);
    disposeFitted(warm);
    loaded.dispose();
  });
});
