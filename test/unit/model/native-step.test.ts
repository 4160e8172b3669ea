import { afterAll, describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import { buildVocabularies, DEFAULT_FEATURES, detectFields, encodeItems } from '../../../model/features.js';
import { NativeStep } from '../../../model/native-step.js';
import { buildTrainingSet, sliceUserInputs } from '../../../model/samples.js';
import { type Scalar, tf } from '../../../model/tf.js';
import { DEFAULT_TOWERS, itemFeatures, shapesOf, TwoTower, userTensors } from '../../../model/towers.js';
import {
  batchColumns,
  rng,
  type Stepper,
  sampledSoftmaxLoss,
  stepRunner,
  TapeStep,
  trainStep,
} from '../../../model/train.js';

// The hand-differentiated step against tfjs's autodiff of the same loss (towers.ts, train.ts):
// same weights in, same loss and gradients out; and the same training trajectory with Adam.

const ds = syntheticDataset({ users: 120, items: 300, interactions: 6_000, seed: 8 });
const features = detectFields(ds, DEFAULT_FEATURES);
const vocab = buildVocabularies(ds, ds.interactions, features);
const matrix = encodeItems([...ds.items.values()], vocab, features);
const items = itemFeatures(matrix);
const set = buildTrainingSet(ds, ds.interactions, vocab, matrix, features);
// two hidden layers: the ReLU gradient between dense layers is exercised too
const towers = { ...DEFAULT_TOWERS, hidden: [48, 24], outDim: 16 };
const shapes = shapesOf(vocab, features);
const logQ = Float32Array.from({ length: matrix.ids.length }, (_, i) => -Math.log(3 + (i % 17)));

const models: TwoTower[] = [];
afterAll(() => {
  for (const m of models) m.dispose();
});
function model(): TwoTower {
  const m = new TwoTower(shapes, towers);
  models.push(m);
  return m;
}

function batch(seed: number, size = 64) {
  const random = rng(seed);
  const idx = Array.from({ length: size }, () => Math.floor(random() * set.n));
  const users = sliceUserInputs(set.users, idx, features);
  const pos = Int32Array.from(idx, (i) => set.positives[i] as number);
  return { users, cols: batchColumns(pos, 40, matrix.ids.length, logQ, -2.5, random, 32) };
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

describe('hand-differentiated training step', () => {
  it('gives the taped loss and the gradient of every weight', () => {
    const m = model();
    const { users, cols } = batch(1);
    const ut = userTensors(users, features);
    const taped = tf.variableGrads(
      () => sampledSoftmaxLoss(m, items, tf.mul(m.userTower(ut), 1 / towers.temperature), cols) as Scalar,
    );
    const byId = new Map([...m.weights].map(([name, v]) => [v.name, name]));
    const reference = new Map(
      Object.entries(taped.grads).map(([id, g]) => [byId.get(id) as string, g.dataSync() as Float32Array]),
    );
    const native = new NativeStep(m, items, features, 0.01);
    try {
      const got = native.gradients(users, cols);
      expect(got.loss).toBeCloseTo(taped.value.dataSync()[0] as number, 4);
      expect([...got.grads.keys()].sort()).toEqual([...reference.keys()].sort());
      for (const [name, want] of reference) {
        const g = got.grads.get(name) as Float32Array;
        expect(g.length, name).toBe(want.length);
        const scale = maxAbs(want);
        expect(scale, `${name} has a gradient`).toBeGreaterThan(0);
        let worst = 0;
        for (let i = 0; i < g.length; i++)
          worst = Math.max(worst, Math.abs((g[i] as number) - (want[i] as number)));
        expect(worst / scale, name).toBeLessThan(1e-4);
      }
    } finally {
      native.dispose();
      tf.dispose([taped.value, ...Object.values(taped.grads)]);
      tf.dispose([ut.userIdx, ut.userSide]);
    }
  });

  it("adds the ID tables' L2 penalty (embeddingL2) as the tape differentiates it", () => {
    const m = model();
    const { users, cols } = batch(2);
    const ut = userTensors(users, features);
    const l2 = 0.05;
    const taped = tf.variableGrads(() => {
      const data = sampledSoftmaxLoss(m, items, tf.mul(m.userTower(ut), 1 / towers.temperature), cols);
      const penalty = tf.add(tf.sum(tf.square(m.w('user_id'))), tf.sum(tf.square(m.w('item_id'))));
      return tf.add(data, tf.mul(penalty, l2 / 2)) as Scalar;
    });
    const byId = new Map([...m.weights].map(([name, v]) => [v.name, name]));
    const reference = new Map(
      Object.entries(taped.grads).map(([id, g]) => [byId.get(id) as string, g.dataSync() as Float32Array]),
    );
    const native = new NativeStep(m, items, features, 0.01);
    native.embeddingL2 = l2;
    try {
      const got = native.gradients(users, cols);
      expect(got.loss).toBeCloseTo(taped.value.dataSync()[0] as number, 3);
      for (const name of ['user_id', 'item_id', 'user/dense0/kernel']) {
        const want = reference.get(name) as Float32Array;
        const g = got.grads.get(name) as Float32Array;
        let worst = 0;
        for (let i = 0; i < g.length; i++)
          worst = Math.max(worst, Math.abs((g[i] as number) - (want[i] as number)));
        expect(worst / maxAbs(want), name).toBeLessThan(1e-4);
      }
    } finally {
      native.dispose();
      tf.dispose([taped.value, ...Object.values(taped.grads)]);
      tf.dispose([ut.userIdx, ut.userSide]);
    }
  });

  it('follows the taped step through several Adam steps and leaves the weights in the model', () => {
    const a = model();
    const b = model();
    const before = a.w('item/dense0/kernel').dataSync().slice();
    const run = (m: TwoTower, native: boolean) => {
      const runner = native
        ? new NativeStep(m, items, features, 0.005)
        : new TapeStep(m, items, features, 0.005);
      const losses: number[] = [];
      try {
        for (let s = 0; s < 6; s++) {
          const { users, cols } = batch(10 + s);
          losses.push(runner.step(users, cols));
        }
        runner.finish();
      } finally {
        runner.dispose();
      }
      return losses;
    };
    const native = run(a, true);
    const taped = run(b, false);
    for (let s = 0; s < native.length; s++) expect(native[s], `step ${s}`).toBeCloseTo(taped[s] as number, 3);
    // the loss moved: the steps did something
    expect(Math.abs((native.at(-1) as number) - (native[0] as number))).toBeGreaterThan(1e-3);
    // weights written back: close to the taped run's, away from the initial ones
    for (const name of a.weights.keys()) {
      const x = a.w(name).dataSync();
      const y = b.w(name).dataSync();
      let agree = 0;
      for (let i = 0; i < x.length; i++) if (Math.abs((x[i] as number) - (y[i] as number)) < 1e-3) agree++;
      // Adam turns float-rounding noise in a near-zero gradient into a step of ±lr: allow a few
      expect(agree / x.length, name).toBeGreaterThan(0.99);
    }
    const after = a.w('item/dense0/kernel').dataSync();
    expect(maxAbs(Float32Array.from(after, (x, i) => x - (before[i] as number)))).toBeGreaterThan(1e-3);
  });

  it('is the configured runner on native TensorFlow, the tape on request', () => {
    const m = model();
    const native = stepRunner(m, items, features, 0.01);
    const tape = stepRunner(m, items, features, 0.01, 'tape');
    try {
      expect(native).toBeInstanceOf(NativeStep);
      expect(tape).toBeInstanceOf(TapeStep);
    } finally {
      native.dispose();
      tape.dispose();
    }
  });

  it('trains through trainStep with the learning rate it is given', () => {
    const m = model();
    const runner = stepRunner(m, items, features, 0);
    const st: Stepper = {
      items,
      set,
      features,
      runner,
      randomNegatives: 40,
      logQ,
      logQNeg: -2.5,
      random: rng(4),
    };
    const before = m.w('user_id').dataSync().slice();
    try {
      trainStep(st, [0, 1, 2, 3]);
      runner.finish();
      // learning rate 0: Adam moves nothing
      expect([...m.w('user_id').dataSync()]).toEqual([...before]);
      runner.learningRate = 0.05;
      trainStep(st, [0, 1, 2, 3]);
      runner.finish();
      expect(
        maxAbs(Float32Array.from(m.w('user_id').dataSync(), (x, i) => x - (before[i] as number))),
      ).toBeGreaterThan(0.01);
    } finally {
      runner.dispose();
    }
  });

  it('rejects a label outside the columns', () => {
    const m = model();
    const { users, cols } = batch(2);
    cols.label[3] = cols.columns.length;
    const native = new NativeStep(m, items, features, 0.01);
    try {
      expect(() => native.step(users, cols)).toThrow(RangeError);
    } finally {
      native.dispose();
    }
  });
});

describe('hand-differentiated step, edge cases', () => {
  it('matches the tape with no hidden layer, empty sequences and changing batch sizes', () => {
    const flat = { ...towers, hidden: [] as number[] };
    const a = new TwoTower(shapes, flat);
    const b = new TwoTower(shapes, flat);
    models.push(a, b);
    const native = new NativeStep(a, items, features, 0.01);
    const tape = new TapeStep(b, items, features, 0.01);
    try {
      for (const [s, size] of [
        [20, 64],
        [21, 17],
        [22, 1],
      ] as const) {
        const { users, cols } = batch(s, size);
        // every other example without a recent sequence; the single-example batch has none
        for (let r = 0; r < users.n; r += size === 1 ? 1 : 2)
          users.seqW.fill(0, r * 2 * features.seqLen, (r + 1) * 2 * features.seqLen);
        expect(native.step(users, cols), `batch of ${size}`).toBeCloseTo(tape.step(users, cols), 4);
      }
    } finally {
      native.dispose();
      tape.dispose();
    }
  });
});
