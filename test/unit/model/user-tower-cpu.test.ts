import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import { buildVocabularies, DEFAULT_FEATURES, detectFields, encodeItems } from '../../../model/features.js';
import { buildTrainingSet, sliceUserInputs } from '../../../model/samples.js';
import { tf } from '../../../model/tf.js';
import { DEFAULT_TOWERS, embedUsers, shapesOf, TwoTower } from '../../../model/towers.js';
import { CpuUserTower } from '../../../model/user-tower-cpu.js';
import { ModelVersion, saveVersion } from '../../../model/version.js';

// The plain-JS user tower against the TensorFlow one: same weights in, same vectors out.

const ds = syntheticDataset({ users: 80, items: 200, interactions: 3_000, seed: 12 });
const features = detectFields(ds, DEFAULT_FEATURES);
const vocab = buildVocabularies(ds, ds.interactions, features);
const matrix = encodeItems([...ds.items.values()], vocab, features);
const set = buildTrainingSet(ds, ds.interactions, vocab, matrix, features);
const shapes = shapesOf(vocab, features);
const tmp = mkdtempSync(path.join(tmpdir(), 'towerflow-cpu-tower-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh model's biases are 0: give them values, so that a bias the JS pass dropped would show. */
function withBiases(model: TwoTower): TwoTower {
  let seed = 100;
  for (const [name, v] of model.weights)
    if (name.endsWith('/bias')) {
      const b = tf.randomNormal(v.shape, 0, 0.3, 'float32', seed++);
      v.assign(b);
      b.dispose();
    }
  return model;
}

async function weightsOf(model: TwoTower) {
  return new Map((await model.export()).map((w) => [w.name, { shape: w.shape, data: w.data }]));
}

function worstDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('plain-JS user tower', () => {
  // widths that are not multiples of 4 take the tail of the unrolled loop
  for (const [hidden, outDim] of [
    [[48, 24], 16],
    [[], 16],
    [[30, 7], 10],
  ] as [number[], number][]) {
    it(`gives the TensorFlow tower's vectors (hidden [${hidden}], out ${outDim}), with and without given ID rows`, async () => {
      const towers = { ...DEFAULT_TOWERS, hidden, outDim };
      const model = withBiases(new TwoTower(shapes, towers, undefined, 3));
      try {
        const cpu = CpuUserTower.fromWeights(await weightsOf(model), towers, shapes);
        // the first examples of a user have no sequence yet; later ones do
        const inputs = sliceUserInputs(
          set.users,
          Array.from({ length: 40 }, (_, i) => (i * 71) % set.n),
          features,
        );
        const plain = embedUsers(model, inputs, features);
        expect(worstDiff(cpu.embed(inputs, features.seqLen), plain)).toBeLessThan(1e-5);
        const rows = Float32Array.from({ length: inputs.n * towers.idDim }, (_, i) => Math.sin(i));
        const overridden = Uint8Array.from({ length: inputs.n }, (_, r) => r % 3);
        const idRows = { rows, overridden: overridden.map((x) => (x === 1 ? 1 : 0)) };
        const given = embedUsers(model, inputs, features, idRows);
        expect(worstDiff(cpu.embed(inputs, features.seqLen, idRows), given)).toBeLessThan(1e-5);
        // the given rows changed something: the comparison above is not vacuous
        expect(worstDiff(given, plain)).toBeGreaterThan(1e-3);
      } finally {
        model.dispose();
      }
    });
  }

  it('rejects a row outside a table', async () => {
    const towers = { ...DEFAULT_TOWERS, outDim: 16 };
    const model = new TwoTower(shapes, towers, undefined, 4);
    try {
      const cpu = CpuUserTower.fromWeights(await weightsOf(model), towers, shapes);
      const inputs = sliceUserInputs(set.users, [5], features);
      inputs.userIdx[0] = shapes.users;
      expect(() => cpu.embed(inputs, features.seqLen)).toThrow(RangeError);
    } finally {
      model.dispose();
    }
  });

  it('serves a loaded version the same vectors as its TensorFlow towers', async () => {
    const towers = { ...DEFAULT_TOWERS, outDim: 16 };
    const model = withBiases(new TwoTower(shapes, towers, undefined, 5));
    const dir = path.join(tmp, 'v1');
    await saveVersion(dir, model, vocab, features, {
      version: 'v1',
      createdAt: new Date().toISOString(),
      dataset: ds.name,
      training: { samples: 1, seconds: 1, samplesPerSecond: 1, epochs: 1, finalLoss: 1 },
    });
    model.dispose();
    const tfOnly = await ModelVersion.load(dir);
    const withCpu = await ModelVersion.load(dir, { cpuUserTower: true });
    try {
      const user = [...ds.users.keys()][3] as string;
      const history = ds.interactions
        .filter((x) => x.user === user)
        .map((x) => ({ itemId: x.item, ts: x.ts }))
        .sort((a, b) => a.ts - b.ts);
      const queries = [
        { userId: user, history, ts: (history.at(-1)?.ts ?? 0) + 60 },
        { userId: 'never-seen', history: [], ts: 1_700_000_000 },
        {
          userId: user,
          history,
          ts: (history.at(-1)?.ts ?? 0) + 60,
          idRow: new Float32Array(towers.idDim).fill(0.1),
        },
      ];
      for (const q of queries)
        expect(worstDiff(withCpu.userVectors([q]), tfOnly.userVectors([q])), q.userId).toBeLessThan(1e-5);
      expect(worstDiff(withCpu.userVectors(queries), tfOnly.userVectors(queries))).toBeLessThan(1e-5);
    } finally {
      tfOnly.dispose();
      withCpu.dispose();
    }
  });
});
