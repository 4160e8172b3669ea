// Cheaper forms of two ops whose tfjs gradients cost many kernels: a training step's time is
// per-kernel work on tensors of the batch's size (docs/decisions.md, Model, the kernel profile).

import { type Tensor, type Tensor1D, type Tensor2D, tf } from './tf.js';

/**
 * ReLU whose gradient is dy·sign(y) (2 kernels) instead of tfjs's dy·cast(step(x)), whose
 * `step` on the native backend is isNaN, greater, ones, fill and two selects over the input.
 * Same values: y > 0 gives 1, y = 0 gives 0 (tfjs's step(0) with alpha 0).
 */
export const relu = tf.customGrad((...args: unknown[]) => {
  const [x, save] = args as [Tensor, SaveFunc];
  const y = tf.relu(x);
  save([y]);
  return { value: y, gradFunc: (dy: Tensor, saved: Tensor[]) => tf.mul(dy, tf.sign(saved[0] as Tensor)) };
}) as <T extends Tensor>(x: T) => T;

type SaveFunc = (tensors: Tensor[]) => void;

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number };
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: Tensor[], n: number): Tensor[];
}

/**
 * Per-row softmax cross-entropy of `logits` [B, C] against the column `labels` [B] (int32):
 * TensorFlow's fused SparseSoftmaxCrossEntropyWithLogits, one kernel that also returns the
 * gradient (softmax − one-hot), where logSumExp minus the gathered positive logit is about a
 * dozen kernels forward and back. tfjs-node does not wrap the op, so it is run by name.
 */
export function sparseSoftmaxCrossEntropy(logits: Tensor2D, labels: Tensor1D): Tensor1D {
  const backend = tf.backend() as unknown as NativeBackend;
  const { binding } = backend;
  const attrs = [
    { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
    { name: 'Tlabels', type: binding.TF_ATTR_TYPE, value: binding.TF_INT32 },
  ];
  const op = tf.customGrad((...args: unknown[]) => {
    const [x, save] = args as [Tensor, SaveFunc];
    const [loss, backprop] = backend.executeMultipleOutputs(
      'SparseSoftmaxCrossEntropyWithLogits',
      attrs,
      [x, labels],
      2,
    ) as [Tensor1D, Tensor2D];
    save([backprop]);
    return {
      value: loss,
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.mul(saved[0] as Tensor2D, tf.expandDims(dy, 1)),
    };
  }) as (x: Tensor2D) => Tensor1D;
  return op(logits);
}
