// Cheaper forms of ops whose tfjs gradients cost many kernels: a training step's time is
// per-kernel work on tensors of the batch's size (docs/decisions.md, Model, the kernel profile).
// The TensorFlow kernels run by name need the native backend; on any other backend (the
// pure-JS comparison of `bench train`) sparse pooling falls back to the same formula in tfjs ops.

import { isNative, sharedRawOps } from './raw-ops.js';
import { type Tensor, type Tensor1D, type Tensor2D, tf } from './tf.js';

/**
 * ReLU whose gradient is TensorFlow's ReluGrad (one kernel; dy·sign(y) off the native backend)
 * instead of tfjs's dy·cast(step(x)), whose `step` on the native backend is isNaN, greater,
 * ones, fill and two selects over the input. Same values: y > 0 gives 1, y = 0 gives 0 (tfjs's
 * step(0) with alpha 0); ReluGrad's "features > 0" holds for y exactly where it holds for x.
 */
export const relu = tf.customGrad((...args: unknown[]) => {
  const [x, save] = args as [Tensor, SaveFunc];
  const y = tf.relu(x);
  save([y]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const y2 = saved[0] as Tensor;
      if (!isNative()) return tf.mul(dy, tf.sign(y2));
      return sharedRawOps().wrap((o) => o.reluGrad(o.borrow(dy), o.borrow(y2)));
    },
  };
}) as <T extends Tensor>(x: T) => T;

type SaveFunc = (tensors: Tensor[]) => void;

/**
 * Rows scaled to unit L2 norm, y = h / √(Σh² + 1e-12), with the gradient written out:
 * dh = (dy − y·Σ(dy·y)) / ‖h‖, 5 kernels where tfjs's autodiff of the same formula runs ~22.
 */
export const l2Normalize = tf.customGrad((...args: unknown[]) => {
  const [h, save] = args as [Tensor2D, SaveFunc];
  const inv = tf.rsqrt(tf.add(tf.sum(tf.square(h), 1, true), 1e-12));
  const y = tf.mul(h, inv);
  save([y, inv]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [y2, inv2] = saved as [Tensor2D, Tensor2D];
      return tf.mul(tf.sub(dy, tf.mul(y2, tf.sum(tf.mul(dy, y2), 1, true))), inv2);
    },
  };
}) as (h: Tensor2D) => Tensor2D;

/**
 * Rows `ids` [n] of `table`, whose gradient is one segment sum into the table's shape (tfjs's
 * gather gradient adds reshapes and two transposes around it).
 */
export function gatherRows(table: Tensor2D, ids: Tensor1D): Tensor2D {
  const rows = table.shape[0];
  const op = tf.customGrad((...args: unknown[]) => {
    const [t, save] = args as [Tensor2D, SaveFunc];
    save([ids]);
    return {
      value: tf.gather(t, ids) as Tensor2D,
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.unsortedSegmentSum(dy, saved[0] as Tensor1D, rows),
    };
  }) as (t: Tensor2D) => Tensor2D;
  return op(table);
}

/**
 * Per-row softmax cross-entropy of `logits` [B, C] against the column `labels` [B] (each in
 * [0, C), checked) with a hand-written gradient: softmax·dy, minus dy at each label.
 * TensorFlow's fused SparseSoftmaxCrossEntropyWithLogits, one op, was slower on this machine
 * (7.7–8.1 ms on [1024 × 1,160] for its forward alone, against 6.7–8.0 ms for both passes of
 * an earlier form of this one). Each pass over the logits costs ~0.5–1 ms at [1024 × 1,536],
 * so: the labels' flat positions are computed here, not by three kernels; when the caller
 * bounds |logit| by `maxAbsLogit` ≤ 60 (over all but masked columns, which may be any large
 * negative number) the max subtraction is skipped, since exp cannot overflow or underflow to a
 * zero sum there; and the gradient subtracts dy at the labels in place (TensorScatterSub).
 */
export function sparseSoftmaxCrossEntropy(
  logits: Tensor2D,
  labels: Int32Array,
  maxAbsLogit = Number.POSITIVE_INFINITY,
): Tensor1D {
  const [B, C] = logits.shape;
  const pos = labelPositions(labels, B, C);
  const stable = needsMaxShift(maxAbsLogit);
  const op = tf.customGrad((...args: unknown[]) => {
    const [x, save] = args as [Tensor2D, SaveFunc];
    const at = tf.tensor2d(pos, [B, 1], 'int32');
    const max = stable ? tf.max(x, 1, true) : undefined;
    const e = tf.exp(max ? tf.sub(x, max) : x);
    const sum = tf.sum(e, 1, true);
    const lse = tf.reshape(max ? tf.add(tf.log(sum), max) : tf.log(sum), [B]);
    const loss = tf.sub(lse, tf.gatherND(tf.reshape(x, [B * C]), at));
    save([e, sum, at]);
    return {
      value: loss as Tensor1D,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [e2, sum2, at2] = saved as [Tensor2D, Tensor2D, Tensor2D];
        const softmaxDy = tf.reshape(tf.mul(e2, tf.div(tf.expandDims(dy, 1), sum2)), [B * C]);
        return tf.reshape(scatterSub(softmaxDy as Tensor1D, at2, dy as Tensor1D), [B, C]);
      },
    };
  }) as (x: Tensor2D) => Tensor1D;
  return op(logits);
}

/** Each row's label as a position in the flattened [B, C] logits, i·C + label; labels checked. */
export function labelPositions(labels: Int32Array, B: number, C: number): Int32Array {
  if (labels.length !== B) throw new RangeError(`${labels.length} labels for ${B} rows`);
  const pos = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    const l = labels[i] as number;
    if (!(l >= 0 && l < C)) throw new RangeError(`label ${l} of row ${i} outside [0, ${C})`);
    pos[i] = i * C + l;
  }
  return pos;
}

/**
 * Whether a softmax over logits bounded by `maxAbsLogit` must subtract each row's max: up to
 * 60, exp can neither overflow nor sum to 0 in float32.
 */
export function needsMaxShift(maxAbsLogit: number): boolean {
  return !(maxAbsLogit <= 60);
}

/** `t` with `u[i]` subtracted at positions `at[i]` [n, 1] (distinct): one kernel natively. */
function scatterSub(t: Tensor1D, at: Tensor2D, u: Tensor1D): Tensor1D {
  if (!isNative()) return tf.sub(t, tf.scatterND(at, u, t.shape));
  return sharedRawOps().wrap((o) => o.scatterSub(o.borrow(t), o.borrow(at), o.borrow(u))) as Tensor1D;
}

/**
 * Rows of weighted table rows to pool, compressed (CSR, zero weights dropped): source row r
 * holds entries start[r]..start[r+1], each adding w·table[col] to its output group.
 */
export interface BagRows {
  start: Int32Array;
  group: Int32Array;
  col: Int32Array;
  w: Float32Array;
  /** Output rows per source row (e.g. two poolings of one sequence, one per item side slot). */
  groups: number;
}

/**
 * From dense `index` [rows, width] and `weights` [rows, groups, width]: output group g of row r
 * pools table rows index[r, j] with weights[r, g, j].
 */
export function bagRows(
  index: Int32Array,
  weights: Float32Array,
  rows: number,
  groups: number,
  width: number,
): BagRows {
  let nnz = 0;
  for (let i = 0; i < rows * groups * width; i++) if (weights[i] !== 0) nnz++;
  const out: BagRows = {
    start: new Int32Array(rows + 1),
    group: new Int32Array(nnz),
    col: new Int32Array(nnz),
    w: new Float32Array(nnz),
    groups,
  };
  let k = 0;
  for (let r = 0; r < rows; r++) {
    out.start[r] = k;
    for (let g = 0; g < groups; g++) {
      const base = (r * groups + g) * width;
      for (let j = 0; j < width; j++) {
        const x = weights[base + j] as number;
        if (x === 0) continue;
        out.group[k] = g;
        out.col[k] = index[r * width + j] as number;
        out.w[k++] = x;
      }
    }
  }
  out.start[rows] = k;
  return out;
}

/** The sparse matrix A [rows.length·groups × tableRows] of the source rows `rows` (all when omitted). */
export interface SparseBag {
  /** [nnz, 2] int32: (output row, table row). */
  indices: Tensor2D;
  /** [nnz] float32 weights. */
  values: Tensor1D;
  /** [2] int64: (rows, tableRows); an int64 handle tfjs labels int32, never read back. Native backend only. */
  shape: Tensor1D | null;
  rows: number;
}

export function sparseBag(src: BagRows, tableRows: number, rows?: Int32Array): SparseBag {
  const { ij, w, nnz, rows: out } = sparseBagArrays(src, rows);
  return {
    indices: tf.tensor2d(ij, [nnz, 2], 'int32'),
    values: tf.tensor1d(w, 'float32'),
    shape: isNative() ? int64Vector([out, tableRows]) : null,
    rows: out,
  };
}

/** The COO form of the bag's source rows `rows` (all when omitted): (output row, table row) pairs. */
export function sparseBagArrays(
  src: BagRows,
  rows?: Int32Array,
): { ij: Int32Array; w: Float32Array; nnz: number; rows: number } {
  const n = rows ? rows.length : src.start.length - 1;
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    const r = rows ? (rows[i] as number) : i;
    nnz += (src.start[r + 1] as number) - (src.start[r] as number);
  }
  const ij = new Int32Array(2 * nnz);
  const w = new Float32Array(nnz);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const r = rows ? (rows[i] as number) : i;
    for (let e = src.start[r] as number; e < (src.start[r + 1] as number); e++) {
      ij[2 * k] = i * src.groups + (src.group[e] as number);
      ij[2 * k + 1] = src.col[e] as number;
      w[k++] = src.w[e] as number;
    }
  }
  return { ij, w, nnz, rows: n * src.groups };
}

/** An int64 vector for ops whose inputs must be int64 (tfjs has no int64 dtype). */
function int64Vector(values: number[]): Tensor1D {
  // tfjs-node warns on every int64 output it wraps; this one is only ever passed back to TF
  const warn = console.warn;
  console.warn = () => {};
  try {
    return sharedRawOps().wrap((o) => o.int64(Int32Array.from(values))) as Tensor1D;
  } finally {
    console.warn = warn;
  }
}

/**
 * A·table [bag.rows, D]: each output row the weighted sum of its table rows, as TensorFlow's
 * SparseTensorDenseMatMul (one kernel; its gradient, Aᵀ·dy, one more), where gathering every
 * row into a [rows, width, D] tensor, a batched matmul and the gather's segment-sum gradient
 * move the whole gathered tensor through memory four times.
 */
export function sparsePool(table: Tensor2D, bag: SparseBag): Tensor2D {
  const shape = bag.shape;
  if (!shape) {
    const [out, col] = tf.split(bag.indices, 2, 1);
    const rows = tf.mul(tf.gather(table, tf.reshape(col as Tensor, [-1])), tf.expandDims(bag.values, 1));
    return tf.unsortedSegmentSum(rows, tf.reshape(out as Tensor, [-1]) as Tensor1D, bag.rows) as Tensor2D;
  }
  const run = (b: Tensor, adjointA: boolean, [indices, values, shape]: Tensor[]): Tensor2D =>
    sharedRawOps().wrap((o) =>
      o.sparseMatMul(
        o.borrow(indices as Tensor),
        o.borrow(values as Tensor),
        o.borrow(shape as Tensor),
        o.borrow(b),
        adjointA,
      ),
    ) as Tensor2D;
  const op = tf.customGrad((...args: unknown[]) => {
    const [x, save] = args as [Tensor2D, SaveFunc];
    const bagTensors = [bag.indices, bag.values, shape];
    // kept for the backward pass: a gradient's forward scope disposes what it does not save
    save(bagTensors);
    return {
      value: run(x, false, bagTensors),
      gradFunc: (dy: Tensor, saved: Tensor[]) => run(dy, true, saved),
    };
  }) as (x: Tensor2D) => Tensor2D;
  return op(table);
}
