import { describe, expect, it } from 'vitest';
import { relu, sparseSoftmaxCrossEntropy } from '../../../model/fused-ops.js';
import { type Tensor, type Tensor1D, type Tensor2D, tf } from '../../../model/tf.js';

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
    const labels = tf.tensor1d([2, 0, 3], 'int32') as Tensor1D;
    const reference = (l: Tensor2D) =>
      tf.sub(tf.logSumExp(l, 1), tf.sum(tf.mul(l, tf.oneHot(labels, 4)), 1)) as Tensor1D;
    await close(sparseSoftmaxCrossEntropy(logits, labels), reference(logits));
    const weights = tf.tensor1d([1, -2, 0.5]);
    const g = tf.grad((l: Tensor) =>
      tf.sum(tf.mul(sparseSoftmaxCrossEntropy(l as Tensor2D, labels), weights)),
    )(logits);
    const ref = tf.grad((l: Tensor) => tf.sum(tf.mul(reference(l as Tensor2D), weights)))(logits);
    await close(g, ref);
  });
});
