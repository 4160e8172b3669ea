import { describe, expect, it } from 'vitest';
import {
  bagRows,
  gatherRows,
  l2Normalize,
  relu,
  type SparseBag,
  sparseBag,
  sparsePool,
  sparseSoftmaxCrossEntropy,
} from '../../../model/fused-ops.js';
import { type Tensor, type Tensor1D, type Tensor2D, tf } from '../../../model/tf.js';

const disposeBag = (b: SparseBag) =>
  tf.dispose(b.shape ? [b.indices, b.values, b.shape] : [b.indices, b.values]);

const close = async (a: Tensor, b: Tensor, digits = 5) => {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [await a.data(), await b.data()];
  x.forEach((v, i) => {
    expect(v).toBeCloseTo(y[i] as number, digits);
  });
};

describe('fused ops', () => {
  it('relu: same values and gradient as tf.relu, zero included', async () => {
    const x = tf.tensor2d([-2, -0.5, 0, 0.25, 3, 0, -1e-8, 7], [2, 4]);
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    await close(relu(x), tf.relu(x));
    const g = tf.grad((t: Tensor) => tf.sum(tf.mul(relu(t), w)))(x);
    const ref = tf.grad((t: Tensor) => tf.sum(tf.mul(tf.relu(t), w)))(x);
    await close(g, ref);
    expect(Array.from(await g.data())).toEqual([0, 0, 0, 4, 5, 0, 0, 8]);
  });

  it('sparse softmax cross-entropy: same loss and gradient as logSumExp minus the label logit', async () => {
    const logits = tf.tensor2d([0.5, -1, 2, 3, 0, 0, -4, 1, 10, 10, 10.5, -3], [3, 4]) as Tensor2D;
    const labels = Int32Array.from([2, 0, 3]);
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
    const reference = (l: Tensor2D) => tf.sub(tf.logSumExp(l, 1), tf.sum(tf.mul(l, oneHot), 1)) as Tensor1D;
    const weights = tf.tensor1d([1, -2, 0.5]);
    const ref = tf.grad((l: Tensor) => tf.sum(tf.mul(reference(l as Tensor2D), weights)))(logits);
    // the max-subtracting form, and the one a caller's bound on |logit| lets skip the max
    for (const bound of [undefined, 10.5]) {
      await close(sparseSoftmaxCrossEntropy(logits, labels, bound), reference(logits));
      const g = tf.grad((l: Tensor) =>
        tf.sum(tf.mul(sparseSoftmaxCrossEntropy(l as Tensor2D, labels, bound), weights)),
      )(logits);
      await close(g, ref);
    }
  });

  it('sparse softmax cross-entropy: a masked column (logit −1e9) weighs exactly 0, bounded or not', async () => {
    const logits = tf.tensor2d([1, 2, -1e9, 0.5, -1, -1e9], [2, 3]) as Tensor2D;
    const labels = Int32Array.from([1, 0]);
    const unmasked = tf.tensor2d([1, 2, 0.5, -1], [2, 2]) as Tensor2D;
    for (const bound of [undefined, 2]) {
      await close(
        sparseSoftmaxCrossEntropy(logits, labels, bound),
        sparseSoftmaxCrossEntropy(unmasked, labels),
      );
      const g = await tf
        .grad((l: Tensor) => tf.sum(sparseSoftmaxCrossEntropy(l as Tensor2D, labels, bound)))(logits)
        .data();
      expect([g[2], g[5]]).toEqual([0, 0]);
    }
  });

  it('sparse softmax cross-entropy: labels outside the columns or of the wrong count are errors', () => {
    const logits = tf.zeros([2, 3]) as Tensor2D;
    expect(() => sparseSoftmaxCrossEntropy(logits, Int32Array.from([0, 3]))).toThrow(/label 3 of row 1/);
    expect(() => sparseSoftmaxCrossEntropy(logits, Int32Array.from([-1, 0]))).toThrow(/label -1 of row 0/);
    expect(() => sparseSoftmaxCrossEntropy(logits, Int32Array.from([0]))).toThrow(/1 labels for 2 rows/);
  });
});

describe('sparse pooling', () => {
  // 3 rows, 2 groups, width 3: dense [rows, width] indices and [rows, groups, width] weights
  const index = Int32Array.from([1, 2, 2, 0, 0, 0, 3, 1, 4]);
  const weights = Float32Array.from([0.5, 0.25, 0.25, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0.2, 0.3, 0.5, 1, 0, 0]);
  const table = () =>
    tf.tensor2d(
      Array.from({ length: 5 * 4 }, (_, i) => (i % 7) - 3 + i / 10),
      [5, 4],
    ) as Tensor2D;
  const dense = (t: Tensor2D, rows: number[]) =>
    tf.reshape(
      tf.matMul(
        tf.tensor3d(
          rows.flatMap((r) => Array.from(weights.subarray(r * 6, r * 6 + 6))),
          [rows.length, 2, 3],
        ),
        tf.gather(
          t,
          tf.tensor2d(
            rows.flatMap((r) => Array.from(index.subarray(r * 3, r * 3 + 3))),
            [rows.length, 3],
            'int32',
          ),
        ),
      ),
      [rows.length * 2, 4],
    ) as Tensor2D;

  it('bagRows keeps only the non-zero weights, per row and group', () => {
    const b = bagRows(index, weights, 3, 2, 3);
    expect(Array.from(b.start)).toEqual([0, 4, 4, 8]);
    expect(Array.from(b.group)).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(b.col)).toEqual([1, 2, 2, 2, 3, 1, 4, 3]);
    expect(Array.from(b.w)).toEqual(Array.from(Float32Array.from([0.5, 0.25, 0.25, 1, 0.2, 0.3, 0.5, 1])));
  });

  it('same values and table gradient as gather + batched matmul, for all rows and a selection with repeats', async () => {
    const bags = bagRows(index, weights, 3, 2, 3);
    for (const rows of [
      [0, 1, 2],
      [2, 0, 2],
    ]) {
      const sel = rows.length === 3 && rows[0] === 0 ? undefined : Int32Array.from(rows);
      const bag = sparseBag(bags, 5, sel);
      const t = table();
      await close(sparsePool(t, bag), dense(t, rows));
      const w = tf.randomNormal([rows.length * 2, 4], 0, 1, 'float32', 3);
      const g = tf.grad((x: Tensor) => tf.sum(tf.mul(sparsePool(x as Tensor2D, bag), w)))(t);
      const ref = tf.grad((x: Tensor) => tf.sum(tf.mul(dense(x as Tensor2D, rows), w)))(t);
      await close(g, ref);
      disposeBag(bag);
    }
  });

  it('an empty bag pools to zeros', async () => {
    const bag = sparseBag(bagRows(index, new Float32Array(18), 3, 2, 3), 5);
    expect(Array.from(await sparsePool(table(), bag).data()).every((v) => v === 0)).toBe(true);
    disposeBag(bag);
  });
});

describe('fused ops on the pure-JS backend (the bench compares the same model)', () => {
  it('fall back to tfjs formulas with the same values and gradients', async () => {
    const index = Int32Array.from([1, 2, 0, 3]);
    const weights = Float32Array.from([0.5, 0.5, 1, 0, 0.25, 0.75, 0, 1]);
    const tableData = Array.from({ length: 16 }, (_, i) => Math.sin(i));
    const logitsData = [0.5, -1, 2, 3, 0, 0, -4, 1];
    const run = async () => {
      const table = tf.tensor2d(tableData, [4, 4]) as Tensor2D;
      const bag = sparseBag(bagRows(index, weights, 2, 2, 2), 4, Int32Array.from([1, 0]));
      const pooled = await sparsePool(table, bag).data();
      const grad = await tf
        .grad((t: Tensor) => tf.sum(tf.square(sparsePool(t as Tensor2D, bag))))(table)
        .data();
      const labels = Int32Array.from([3, 1]);
      const logits = tf.tensor2d(logitsData, [2, 4]) as Tensor2D;
      const xent = await sparseSoftmaxCrossEntropy(logits, labels).data();
      const xentGrad = await tf
        .grad((l: Tensor) => tf.sum(tf.square(sparseSoftmaxCrossEntropy(l as Tensor2D, labels, 20))))(logits)
        .data();
      const x = tf.tensor1d([-1, 0, 2, 0.5]);
      const reluGrad = await tf
        .grad((t: Tensor) => tf.sum(tf.mul(relu(t), tf.tensor1d([1, 2, 3, 4]))))(x)
        .data();
      disposeBag(bag);
      return [...pooled, ...grad, ...xent, ...xentGrad, ...reluGrad];
    };
    const native = await run();
    await tf.setBackend('cpu');
    try {
      expect(tf.getBackend()).toBe('cpu');
      const js = await run();
      js.forEach((v, i) => {
        expect(v).toBeCloseTo(native[i] as number, 5);
      });
    } finally {
      await tf.setBackend('tensorflow');
    }
  });
});

describe('l2Normalize and gatherRows', () => {
  it('l2Normalize: unit rows, same gradient as the autodiff of the formula', async () => {
    const h = tf.tensor2d([3, 4, 0, -1, 2, 2, 0.5, 0, 0], [3, 3]) as Tensor2D;
    const formula = (x: Tensor2D) => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)));
    const y = l2Normalize(h);
    await close(y, formula(h));
    expect(Array.from(await tf.sum(tf.square(y), 1).data()).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([
      1, 1, 1,
    ]);
    const w = tf.tensor2d([1, -2, 3, 0.5, 4, -1, 2, 2, 7], [3, 3]);
    const g = tf.grad((x: Tensor) => tf.sum(tf.mul(l2Normalize(x as Tensor2D), w)))(h);
    const ref = tf.grad((x: Tensor) => tf.sum(tf.mul(formula(x as Tensor2D), w)))(h);
    await close(g, ref);
  });

  it('gatherRows: rows of the table, repeated ids summing into the table gradient', async () => {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]) as Tensor2D;
    const ids = tf.tensor1d([2, 0, 2], 'int32') as Tensor1D;
    await close(gatherRows(table, ids), tf.gather(table, ids));
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const g = tf.grad((t: Tensor) => tf.sum(tf.mul(gatherRows(t as Tensor2D, ids), w)))(table);
    expect(Array.from(await g.data())).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
  });
});
