import { readSetting } from '../config/index.js';
import { type BatchColumns, batchColumns, logitBound } from './columns.js';
import { seededRandom, shuffleInPlace } from './data/random.js';
import type { FeatureConfig, UserInputs } from './features.js';
import { adam } from './fused-adam.js';
import { sparseSoftmaxCrossEntropy } from './fused-ops.js';
import { NativeStep } from './native-step.js';
import { isNative } from './raw-ops.js';
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
  /** L2 penalty λ/2·‖W‖² on the user- and item-ID tables, added to the loss (0 = off). */
  embeddingL2?: number;
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
  // docs/decisions.md, "Model on sparse catalogues": +0.008 / +0.009 HR@50 (3-seed means) on
  // ml-latest-small / ml-sparse, and a trained OOV row for users the model has no row for
  idDropout: 0.2,
  seed: 7,
};

/** The cosine schedule: `base` at step 0, `base·final` at `total`. */
export function learningRateAt(base: number, final: number, step: number, total: number): number {
  if (final === 1 || total <= 1) return base;
  const t = Math.min(1, step / (total - 1));
  return base * (final + ((1 - final) * (1 + Math.cos(Math.PI * t))) / 2);
}

export { type BatchColumns, batchColumns, COLUMN_BUCKET, MASKED_OFFSET } from './columns.js';
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
  const v = model.itemTower(items, cols.columns); // [C, d]
  const logits = tf.sub(tf.matMul(scaledUser, v, false, true), tf.tensor1d(cols.offsets)) as Tensor2D; // [B, C]
  const bound = logitBound(model.towers.temperature, cols.offsets);
  return tf.mean(sparseSoftmaxCrossEntropy(logits, cols.label, bound));
}

/**
 * One Adam step on prepared examples. The runner holds the optimizer's state, and may hold the
 * weights too until `finish()`: the native step keeps them in TensorFlow resource variables.
 */
export interface StepRunner {
  /** Read at every step (the cosine schedule sets it). */
  learningRate: number;
  /** L2 penalty on the ID tables (TrainConfig.embeddingL2); 0 = off. */
  embeddingL2: number;
  /** One step of the examples `users` against the columns `cols`; returns their mean loss. */
  step(users: UserInputs, cols: BatchColumns): number;
  /** Leaves the trained weights in the model's variables. */
  finish(): void;
  dispose(): void;
}

/** The taped step: tfjs's autodiff of `sampledSoftmaxLoss`, then Adam; runs on any backend. */
export class TapeStep implements StepRunner {
  private readonly optimizer: Optimizer & { learningRate: number };
  embeddingL2 = 0;

  constructor(
    private readonly model: TwoTower,
    private readonly items: ItemFeatures,
    private readonly features: FeatureConfig,
    learningRate: number,
  ) {
    this.optimizer = adam(learningRate);
  }

  get learningRate(): number {
    return this.optimizer.learningRate;
  }

  set learningRate(value: number) {
    this.optimizer.learningRate = value;
  }

  step(inputs: UserInputs, cols: BatchColumns): number {
    const { model, items } = this;
    const users = userTensors(inputs, this.features);
    try {
      const l2 = this.embeddingL2;
      const loss = this.optimizer.minimize(() => {
        const data = sampledSoftmaxLoss(
          model,
          items,
          tf.mul(model.userTower(users), 1 / model.towers.temperature),
          cols,
        ) as Scalar;
        if (!l2) return data;
        const penalty = tf.add(tf.sum(tf.square(model.w('user_id'))), tf.sum(tf.square(model.w('item_id'))));
        return tf.add(data, tf.mul(penalty, l2 / 2)) as Scalar;
      }, true) as Scalar;
      const value = loss.dataSync()[0] as number;
      loss.dispose();
      return value;
    } finally {
      disposeUserTensors(users);
    }
  }

  finish(): void {}

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** The configured step (`TF_TRAIN_STEP`): the hand-differentiated one needs native TensorFlow. */
export function stepRunner(
  model: TwoTower,
  items: ItemFeatures,
  features: FeatureConfig,
  learningRate: number,
  kind = readSetting('tfTrainStep'),
): StepRunner {
  return kind === 'native' && isNative()
    ? new NativeStep(model, items, features, learningRate)
    : new TapeStep(model, items, features, learningRate);
}

/** What one optimizer step needs; built once per training run. */
export interface Stepper {
  items: ItemFeatures;
  set: TrainingSet;
  features: FeatureConfig;
  runner: StepRunner;
  randomNegatives: number;
  /** Per corpus row: log of its expected in-batch draw count (zeros when log-q is off). */
  logQ: Float32Array;
  logQNeg: number;
  random: () => number;
  /** Share of examples whose user ID is replaced by the OOV row (0 = off). */
  idDropout?: number;
}

/** One optimizer step on the training examples `idx`; returns their mean loss. */
export function trainStep(st: Stepper, idx: number[]): number {
  const { items, set, features } = st;
  const inputs = sliceUserInputs(set.users, idx, features);
  // the OOV row learns to stand for "a user we have no row for" (new users, and serving's cold
  // start), and the tower leans on the sequence and context features
  if (st.idDropout) for (let r = 0; r < inputs.n; r++) if (st.random() < st.idDropout) inputs.userIdx[r] = 0;
  const pos = Int32Array.from(idx, (s) => set.positives[s] as number);
  const cols = batchColumns(pos, st.randomNegatives, items.itemIdx.length, st.logQ, st.logQNeg, st.random);
  return st.runner.step(inputs, cols);
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
  const runner = stepRunner(model, items, features, cfg.learningRate);
  runner.embeddingL2 = cfg.embeddingL2 ?? 0;
  // log of the expected number of times each item is drawn into a batch of B positives
  const logQ = new Float32Array(nItems);
  for (let i = 0; i < nItems; i++)
    logQ[i] = cfg.logQ ? Math.log(Math.max(1e-12, (B * (set.itemCounts[i] ?? 0)) / set.n)) : 0;
  const logQNeg = cfg.logQ ? Math.log(Math.max(1e-12, R / nItems)) : 0;
  const stepper: Stepper = {
    items,
    set,
    features,
    runner,
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
  // the runner holds TensorFlow resources (Adam's moments, the native step's weights): freed on
  // every way out
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
          runner.learningRate = learningRateAt(cfg.learningRate, cfg.finalLearningRate, step, totalSteps);
        const loss = trainStep(stepper, idx);
        step++;
        seen += B;
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${step}`);
        losses.push({ step, loss });
        onStep?.({ epoch, step, seen, loss, samplesPerSecond: seen / ((performance.now() - t0) / 1000) });
        // a step is synchronous, so without this a long run would starve every timer of the
        // process: lock renewals, metrics scrapes, progress redraws
        if (performance.now() - lastYield > 200) {
          await new Promise((r) => setImmediate(r));
          lastYield = performance.now();
        }
      }
    }
    runner.finish();
  } finally {
    runner.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { losses, samples: seen, seconds, samplesPerSecond: seen / seconds };
}
