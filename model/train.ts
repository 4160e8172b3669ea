import { seededRandom, shuffleInPlace } from './data/random.js';
import type { FeatureConfig } from './features.js';
import { adam } from './fused-adam.js';
import { sparseSoftmaxCrossEntropy } from './fused-ops.js';
import { sliceUserInputs, type TrainingSet } from './samples.js';
import { type Optimizer, type Scalar, type Tensor, type Tensor2D, tf } from './tf.js';
import { disposeUserTensors, type ItemFeatures, type TwoTower, userTensors } from './towers.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** Uniformly drawn corpus items added to every batch's in-batch negatives. */
  randomNegatives: number;
  learningRate: number;
  /** Subtract log of each column's sampling probability (in-batch ∝ popularity, random uniform). */
  logQ: boolean;
  /**
   * Down-sample positives of items seen more than this many times, keeping each with
   * probability (threshold / count)^0.75; 0 turns it off.
   */
  popularThreshold: number;
  /**
   * Learning rate at the last step as a fraction of `learningRate`, reached by cosine decay over
   * the run's steps; 1 keeps it constant.
   */
  finalLearningRate: number;
  /** Share of training examples whose user ID is replaced by the OOV row (0 = off). */
  idDropout: number;
  seed: number;
}

// chosen on ml-latest-small (docs/decisions.md: Model)
export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 10,
  batchSize: 1024,
  randomNegatives: 2048,
  learningRate: 0.002,
  logQ: true,
  popularThreshold: 0,
  finalLearningRate: 1,
  idDropout: 0,
  seed: 7,
};

/** The cosine schedule: `base` at step 0, `base·final` at `total`. */
export function learningRateAt(base: number, final: number, step: number, total: number): number {
  if (final === 1 || total <= 1) return base;
  const t = Math.min(1, step / (total - 1));
  return base * (final + ((1 - final) * (1 + Math.cos(Math.PI * t))) / 2);
}

export { seededRandom as rng } from './data/random.js';

export interface StepInfo {
  epoch: number;
  step: number;
  seen: number;
  loss: number;
  samplesPerSecond: number;
}

export interface TrainResult {
  losses: { step: number; loss: number }[];
  samples: number;
  seconds: number;
  samplesPerSecond: number;
}

/**
 * One training batch's columns: the distinct positive items (in-batch negatives for every other
 * row) followed by R uniform draws that are not among them. Deduplicating the columns is the
 * accidental-hit masking: a row's positive never appears as one of its negatives.
 *
 * The count of distinct positives changes from batch to batch, and every new column count is a
 * new matmul shape for oneDNN, which builds (JIT-compiles) and caches a kernel per shape; so the
 * columns are padded up to a multiple of `COLUMN_BUCKET` with masked columns (docs/decisions.md:
 * a handful of shapes per run instead of hundreds). A masked column's offset is `MASKED_OFFSET`:
 * its logit is so low that its softmax weight, and so every gradient through it, is exactly 0.
 */
export interface BatchColumns {
  /** Corpus rows of the columns: distinct positives, then random negatives, then padding. */
  columns: Int32Array;
  /** For each example, the column of its positive. */
  label: Int32Array;
  /** Per column: log of its sampling probability (log-q correction), 0 when off; padding masked. */
  offsets: Float32Array;
}

export const COLUMN_BUCKET = 128;
/** Subtracted from a padding column's logit: exp underflows to exactly 0 in float32. */
export const MASKED_OFFSET = 1e9;

export function batchColumns(
  pos: Int32Array,
  randomNegatives: number,
  nItems: number,
  logQ: Float32Array,
  logQNeg: number,
  random: () => number,
  bucket = COLUMN_BUCKET,
): BatchColumns {
  const colOf = new Map<number, number>();
  const label = new Int32Array(pos.length);
  pos.forEach((p, i) => {
    let c = colOf.get(p);
    if (c === undefined) {
      c = colOf.size;
      colOf.set(p, c);
    }
    label[i] = c;
  });
  const unique = colOf.size;
  const R = Math.min(randomNegatives, Math.max(0, nItems - unique));
  const used = unique + R;
  const width = bucket > 1 ? Math.ceil(used / bucket) * bucket : used;
  const columns = new Int32Array(width);
  const offsets = new Float32Array(width);
  for (const [p, c] of colOf) {
    columns[c] = p;
    offsets[c] = logQ[p] as number;
  }
  for (let j = 0; j < R; j++) {
    let r = Math.floor(random() * nItems);
    while (colOf.has(r)) r = Math.floor(random() * nItems);
    columns[unique + j] = r;
    offsets[unique + j] = logQNeg;
  }
  // padding repeats a real row (any in-range row would do: its weight is 0)
  columns.fill(columns[0] as number, used);
  offsets.fill(MASKED_OFFSET, used);
  return { columns, label, offsets };
}

/**
 * Listwise sampled softmax over the batch's columns: `scaledUser` holds unit user vectors
 * divided by the temperature, so logits are one matmul; offsets subtract log q per column.
 * Item vectors are unit too, so |logit| ≤ 1/τ + max |offset| over the unmasked columns: with
 * that bound the loss can skip its max subtraction.
 */
export function sampledSoftmaxLoss(
  model: TwoTower,
  items: ItemFeatures,
  scaledUser: Tensor2D,
  cols: BatchColumns,
): Tensor {
  let maxOffset = 0;
  for (const o of cols.offsets) if (o !== MASKED_OFFSET) maxOffset = Math.max(maxOffset, Math.abs(o));
  const v = model.itemTower(items, cols.columns); // [C, d]
  const logits = tf.sub(tf.matMul(scaledUser, v, false, true), tf.tensor1d(cols.offsets)) as Tensor2D; // [B, C]
  // bf16 matmul inputs keep 8 significant bits: a cosine may be off by up to ~2⁻⁷ (the loss
  // keeps ~20 of headroom above its threshold of 60 anyway)
  const invT = 1 / model.towers.temperature;
  const bound = invT * (1 + 2 ** -7) + maxOffset + 1e-3;
  return tf.mean(sparseSoftmaxCrossEntropy(logits, cols.label, bound));
}

/** What one optimizer step needs; built once per training run. */
export interface Stepper {
  model: TwoTower;
  items: ItemFeatures;
  set: TrainingSet;
  features: FeatureConfig;
  optimizer: Optimizer;
  randomNegatives: number;
  /** Per corpus row: log of its expected in-batch draw count (zeros when log-q is off). */
  logQ: Float32Array;
  logQNeg: number;
  random: () => number;
  /** Share of examples whose user ID is replaced by the OOV row (0 = off). */
  idDropout?: number;
}

/** One optimizer step on the training examples `idx`; returns the loss (the caller disposes it). */
export function trainStep(st: Stepper, idx: number[]): Scalar | null {
  const { model, items, set, features } = st;
  const inputs = sliceUserInputs(set.users, idx, features);
  // the OOV row learns to stand for "a user we have no row for" (new users, and serving's cold
  // start), and the tower leans on the sequence and context features
  if (st.idDropout) for (let r = 0; r < inputs.n; r++) if (st.random() < st.idDropout) inputs.userIdx[r] = 0;
  const users = userTensors(inputs, features);
  const pos = Int32Array.from(idx, (s) => set.positives[s] as number);
  const cols = batchColumns(pos, st.randomNegatives, items.itemIdx.length, st.logQ, st.logQNeg, st.random);
  try {
    return st.optimizer.minimize(
      () =>
        sampledSoftmaxLoss(
          model,
          items,
          tf.mul(model.userTower(users), 1 / model.towers.temperature),
          cols,
        ) as Scalar,
      true,
    );
  } finally {
    disposeUserTensors(users);
  }
}

/** Shuffled epochs of mini-batch Adam steps; `onStep` reports progress. */
export async function train(
  model: TwoTower,
  items: ItemFeatures,
  set: TrainingSet,
  cfg: TrainConfig,
  features: FeatureConfig,
  onStep?: (s: StepInfo) => void,
): Promise<TrainResult> {
  const random = seededRandom(cfg.seed);
  const nItems = items.itemIdx.length;
  const B = Math.min(cfg.batchSize, set.n);
  const R = cfg.randomNegatives;
  const optimizer = adam(cfg.learningRate);
  // log of the expected number of times each item is drawn into a batch of B positives
  const logQ = new Float32Array(nItems);
  for (let i = 0; i < nItems; i++)
    logQ[i] = cfg.logQ ? Math.log(Math.max(1e-12, (B * (set.itemCounts[i] ?? 0)) / set.n)) : 0;
  const logQNeg = cfg.logQ ? Math.log(Math.max(1e-12, R / nItems)) : 0;
  const stepper: Stepper = {
    model,
    items,
    set,
    features,
    optimizer,
    randomNegatives: R,
    logQ,
    logQNeg,
    random,
    idDropout: cfg.idDropout,
  };
  const losses: { step: number; loss: number }[] = [];
  let step = 0;
  let seen = 0;
  // the down-sampling of popular positives makes epochs a little shorter: an estimate suffices
  const totalSteps = cfg.epochs * Math.floor(set.n / B);
  const t0 = performance.now();
  // the optimizer holds TensorFlow resources (fused Adam): freed on every way out
  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const order: number[] = [];
      for (let i = 0; i < set.n; i++) {
        const c = set.itemCounts[set.positives[i] as number] as number;
        if (
          cfg.popularThreshold > 0 &&
          c > cfg.popularThreshold &&
          random() > (cfg.popularThreshold / c) ** 0.75
        )
          continue;
        order.push(i);
      }
      shuffleInPlace(order, random);
      let lastYield = performance.now();
      for (let start = 0; start + B <= order.length; start += B) {
        const idx = order.slice(start, start + B);
        // the optimizer reads its learning rate at every step (no schedule API of its own)
        if (cfg.finalLearningRate !== 1)
          optimizer.learningRate = learningRateAt(cfg.learningRate, cfg.finalLearningRate, step, totalSteps);
        const lossT = trainStep(stepper, idx);
        step++;
        seen += B;
        if (lossT) {
          const loss = (await lossT.data())[0] as number;
          lossT.dispose();
          if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${step}`);
          losses.push({ step, loss });
          onStep?.({ epoch, step, seen, loss, samplesPerSecond: seen / ((performance.now() - t0) / 1000) });
        }
        // tfjs-node's data() resolves at once (a microtask), so without this a long run would
        // starve every timer of the process: lock renewals, metrics scrapes, progress redraws
        if (performance.now() - lastYield > 200) {
          await new Promise((r) => setImmediate(r));
          lastYield = performance.now();
        }
      }
    }
  } finally {
    optimizer.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { losses, samples: seen, seconds, samplesPerSecond: seen / seconds };
}
