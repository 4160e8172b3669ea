import { type Config, ConfigError } from '../config/index.js';
import { seededRandom } from './data/random.js';
import {
  allocUserInputs,
  type FeatureConfig,
  fillUserRow,
  type HistoryEntry,
  type UserInputs,
  userSideLayout,
  type Vocabularies,
} from './features.js';
import { sparseSoftmaxCrossEntropy } from './fused-ops.js';
import { type Tensor, type Tensor2D, tf } from './tf.js';
import { disposeUserTensors, type TwoTower, userTensors } from './towers.js';

/**
 * Incremental user-ID embeddings (design §1, "Incremental"): between daily retrains only the
 * ID rows of users with new behaviour move. Everything else (both towers, the item vectors in
 * Milvus) stays that of the live version, so a moved row is only meaningful with that version.
 *
 * For a user with ID row e and a new positive p at time t, the user vector is
 * u(e) = normalize(MLP([e, seq(t), side(t)])) with the frozen MLP and the sequence/context
 * features of the history strictly before the event. The loss is the model's sampled softmax
 * over the positive's live vector and R uniform draws from the live item vectors:
 *   ℓ = logsumexp(u·v_p/τ, u·v_j/τ − log(R/N) for the R negatives j) − u·v_p/τ
 * (the −log(R/N), training's log-q correction of uniform draws, only with `logQ`: off by default,
 * as it did not help on ml-latest-small).
 * A user's loss is the mean over its events in the micro-batch, so its step does not depend on
 * how many other users share the batch. Each step is plain SGD on the rows only:
 *   g ← ∇_e, g ← g · min(1, clip/‖g‖), e ← e − lr·g, e ← e · min(1, maxRowNorm/‖e‖).
 * Hence one call moves a row by at most steps·lr·clip, and no burst, however long, takes a
 * row outside the ball of radius maxRowNorm (by default the largest row the full training made).
 */

export interface IncrementalConfig {
  learningRate: number;
  /** Gradient steps per micro-batch. */
  steps: number;
  /** Uniform random negatives per step, shared by the micro-batch (never one of its positives). */
  negatives: number;
  /** Per-row, per-step gradient norm clip. */
  clipNorm: number;
  /** Largest L2 norm of a row; 0: the largest row norm of the version's user-ID table. */
  maxRowNorm: number;
  /** Subtract log(R/N) from the negatives' logits, as training does for uniform draws. */
  logQ: boolean;
  seed: number;
}

// tuned with `towerflow eval --prequential` on ml-latest-small (docs/decisions.md)
export const DEFAULT_INCREMENTAL: IncrementalConfig = {
  learningRate: 0.05,
  steps: 5,
  negatives: 256,
  clipNorm: 1,
  maxRowNorm: 0,
  logQ: false,
  seed: 11,
};

type EmbeddingSettings = Pick<
  Config,
  | 'embeddingsLearningRate'
  | 'embeddingsSteps'
  | 'embeddingsNegatives'
  | 'embeddingsClipNorm'
  | 'embeddingsMaxRowNorm'
>;

/** The updater's configuration from the EMBEDDINGS_* settings. */
export function incrementalFromSettings(s: EmbeddingSettings): IncrementalConfig {
  const positive = (v: number, env: string): number => {
    if (!(v > 0)) throw new ConfigError(`${env} must be a positive number, got ${v}`);
    return v;
  };
  return {
    ...DEFAULT_INCREMENTAL,
    learningRate: positive(s.embeddingsLearningRate, 'EMBEDDINGS_LEARNING_RATE'),
    steps: s.embeddingsSteps,
    negatives: s.embeddingsNegatives,
    clipNorm: positive(s.embeddingsClipNorm, 'EMBEDDINGS_CLIP_NORM'),
    maxRowNorm: s.embeddingsMaxRowNorm,
  };
}

/** What the updater needs of a version: a loaded ModelVersion or a freshly fitted model. */
export interface FrozenVersion {
  model: TwoTower;
  vocab: Vocabularies;
  features: FeatureConfig;
}

/** The live version's item vectors: row `rowOf.get(id)` of `vectors` [N × outDim]. */
export interface LiveItems {
  vectors: Float32Array;
  rowOf: ReadonlyMap<string, number>;
}

export interface Behaviour {
  itemId: string;
  /** Unix seconds. */
  ts: number;
}

/** One user of a micro-batch. */
export interface UserUpdate {
  userId: string;
  /**
   * The user's current ID row [idDim] (e.g. from Redis). Absent: the version's table row of
   * `vocab.users.lookup(userId)`, which is the OOV row (index 0) for users unseen in training.
   */
  idRow?: Float32Array;
  /** Profile fields (users.csv columns). */
  profile?: Record<string, string>;
  /** Behaviour before `events`, oldest first; entries later than an event are not its context. */
  history: Behaviour[];
  /** The new positives, oldest first; each one's context also holds the events before it. */
  events: Behaviour[];
}

export interface UpdateStats {
  users: number;
  /** Users with at least one usable event: the rows that moved. */
  activeUsers: number;
  /** Events used as positives. */
  events: number;
  /** Events whose item has no live vector (not in `rowOf`): context only. */
  skippedEvents: number;
  steps: number;
  /** Mean L2 length of one step of one row. */
  meanStepNorm: number;
  /** Row steps whose gradient was clipped. */
  clipped: number;
  /** Row steps scaled back onto the max-norm ball. */
  projected: number;
  /** Mean per-user loss before the first and after the last step (same negatives each). */
  lossBefore: number;
  lossAfter: number;
}

export interface UpdateResult {
  /** New ID row of each input user, in input order (a copy of the start row when it had no usable event). */
  rows: Float32Array[];
  stats: UpdateStats;
}

/** One training example per usable event: its features as of just before it. */
export interface UpdateExamples {
  inputs: UserInputs;
  /** Index (into the micro-batch) of each example's user. */
  user: Int32Array;
  /** Live item row of each example's positive. */
  positive: Int32Array;
  skipped: number;
}

export function updateExamples(
  version: FrozenVersion,
  rowOf: ReadonlyMap<string, number>,
  users: readonly UserUpdate[],
): UpdateExamples {
  const { vocab, features: cfg } = version;
  const layout = userSideLayout(vocab, cfg);
  const picked: { user: number; k: number; row: number }[] = [];
  let skipped = 0;
  users.forEach((u, i) => {
    u.events.forEach((e, k) => {
      const row = rowOf.get(e.itemId);
      if (row === undefined) skipped++;
      else picked.push({ user: i, k, row });
    });
  });
  const inputs = allocUserInputs(picked.length, cfg);
  const entry = (b: Behaviour): HistoryEntry => ({ itemIdx: vocab.items.lookup(b.itemId), ts: b.ts });
  // per user, once: its history and events mapped to entries, its ID and profile indices
  const prepared = new Map<number, { all: HistoryEntry[]; latest: number; userIdx: number; cat: number[] }>();
  const prepare = (i: number) => {
    const u = users[i] as UserUpdate;
    const all = [...u.history.map(entry), ...u.events.map(entry)];
    const latest = u.history.reduce((m, h) => Math.max(m, h.ts), Number.NEGATIVE_INFINITY);
    const cat = cfg.userCategorical.map((f) => vocab.userCategorical[f]?.lookup(u.profile?.[f] ?? '') ?? 0);
    const p = { all, latest, userIdx: vocab.users.lookup(u.userId), cat };
    prepared.set(i, p);
    return p;
  };
  picked.forEach((p, r) => {
    const u = users[p.user] as UserUpdate;
    const e = u.events[p.k] as Behaviour;
    const pre = prepared.get(p.user) ?? prepare(p.user);
    // strictly the past: history up to the event's time, then the batch's earlier events. When
    // no history entry is later than the event (the usual case), that is a prefix of `all`.
    let past = pre.all;
    let end = u.history.length + p.k;
    if (pre.latest > e.ts) {
      past = [...u.history.filter((h) => h.ts <= e.ts).map(entry), ...pre.all.slice(u.history.length)];
      end = past.length - (u.events.length - p.k);
    }
    fillUserRow(inputs, r, cfg, layout, pre.userIdx, pre.cat, e.ts, past, end);
  });
  return {
    inputs,
    user: Int32Array.from(picked, (p) => p.user),
    positive: Int32Array.from(picked, (p) => p.row),
    skipped,
  };
}

/** The largest L2 norm among the rows of the version's user-ID table (OOV row included). */
export function largestIdRowNorm(model: TwoTower): number {
  const t = tf.tidy(() => tf.max(tf.sqrt(tf.sum(tf.square(model.w('user_id')), 1))));
  const v = (t.dataSync() as Float32Array)[0] as number;
  t.dispose();
  return v;
}

/** R distinct-from-positives uniform draws over N rows (the batchColumns rule). */
function drawNegatives(
  R: number,
  n: number,
  positives: ReadonlySet<number>,
  random: () => number,
): Int32Array {
  const count = Math.min(R, Math.max(0, n - positives.size));
  const out = new Int32Array(count);
  for (let j = 0; j < count; j++) {
    let r = Math.floor(random() * n);
    while (positives.has(r)) r = Math.floor(random() * n);
    out[j] = r;
  }
  return out;
}

function norm(x: Float32Array, from: number, len: number): number {
  let s = 0;
  for (let i = from; i < from + len; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s);
}

/**
 * Holds the live item vectors as a tensor and a seeded RNG across micro-batches (the stream
 * updater keeps one per model version). Call `dispose` when the version is retired.
 */
export class IdRowUpdater {
  readonly maxRowNorm: number;
  private readonly items: Tensor2D;
  private readonly n: number;
  private readonly random: () => number;

  constructor(
    readonly version: FrozenVersion,
    readonly live: LiveItems,
    readonly cfg: IncrementalConfig = DEFAULT_INCREMENTAL,
  ) {
    const dim = version.model.towers.outDim;
    if (live.vectors.length % dim !== 0)
      throw new Error(
        `item vectors hold ${live.vectors.length} values, not a multiple of the model's ${dim}`,
      );
    this.n = live.vectors.length / dim;
    if (this.n === 0) throw new Error('no live item vectors');
    this.maxRowNorm = cfg.maxRowNorm > 0 ? cfg.maxRowNorm : largestIdRowNorm(version.model);
    this.random = seededRandom(cfg.seed);
    this.items = tf.tensor2d(live.vectors, [this.n, dim]);
  }

  /** The start row of every user: its given row, else the table row (OOV for unknown users). */
  private startRows(users: readonly UserUpdate[]): Float32Array {
    const { model, vocab } = this.version;
    const d = model.towers.idDim;
    const out = new Float32Array(users.length * d);
    const fromTable = users.flatMap((u, i) => (u.idRow ? [] : [i]));
    if (fromTable.length > 0) {
      const t = tf.tidy(() =>
        tf.gather(
          model.w('user_id'),
          tf.tensor1d(
            fromTable.map((i) => vocab.users.lookup((users[i] as UserUpdate).userId)),
            'int32',
          ),
        ),
      );
      const rows = t.dataSync() as Float32Array;
      t.dispose();
      fromTable.forEach((i, j) => {
        out.set(rows.subarray(j * d, (j + 1) * d), i * d);
      });
    }
    users.forEach((u, i) => {
      if (!u.idRow) return;
      if (u.idRow.length !== d)
        throw new Error(`ID row of user ${u.userId} has ${u.idRow.length} values, the model's rows ${d}`);
      out.set(u.idRow, i * d);
    });
    return out;
  }

  update(users: readonly UserUpdate[]): UpdateResult {
    const { model } = this.version;
    const { cfg } = this;
    const d = model.towers.idDim;
    const rows = this.startRows(users);
    const ex = updateExamples(this.version, this.live.rowOf, users);
    const K = ex.positive.length;
    const stats: UpdateStats = {
      users: users.length,
      activeUsers: 0,
      events: K,
      skippedEvents: ex.skipped,
      steps: 0,
      meanStepNorm: 0,
      clipped: 0,
      projected: 0,
      lossBefore: 0,
      lossAfter: 0,
    };
    const split = () => users.map((_, i) => rows.slice(i * d, (i + 1) * d));
    if (K === 0 || cfg.steps <= 0) return { rows: split(), stats };

    // the users with examples, compacted: the optimised matrix E holds only their rows
    const active = [...new Set(ex.user)];
    const slot = new Map(active.map((u, a) => [u, a]));
    const A = active.length;
    stats.activeUsers = A;
    const perUser = new Float32Array(A);
    for (const u of ex.user) {
      const a = slot.get(u) as number;
      perUser[a] = (perUser[a] as number) + 1;
    }
    const weight = Float32Array.from(ex.user, (u) => 1 / (perUser[slot.get(u) as number] as number));
    const E = new Float32Array(A * d);
    active.forEach((u, a) => {
      E.set(rows.subarray(u * d, (u + 1) * d), a * d);
    });

    const ut = userTensors(ex.inputs, this.version.features);
    const fixed = tf.tidy(() => ({
      exampleSlot: tf.tensor1d(
        Int32Array.from(ex.user, (u) => slot.get(u) as number),
        'int32',
      ),
      posV: tf.gather(this.items, tf.tensor1d(ex.positive, 'int32')) as Tensor2D,
      w: tf.tensor1d(weight),
      // the sequence and profile part of the first layer does not move with the rows: once per call
      partial: model.userTowerPartial(ut),
      idKernel: model.idKernel(),
    }));
    disposeUserTensors(ut);
    // every example's positive is column 0 of its logits
    const label = new Int32Array(ex.user.length);
    const positives = new Set(ex.positive);
    const invT = 1 / model.towers.temperature;
    const lossOf = (e: Tensor2D, negV: Tensor2D, offset: number): Tensor => {
      // each user's row times the ID kernel once, then per example: A ≪ K rows when users have many events
      const first = tf.add(tf.gather(tf.matMul(e, fixed.idKernel), fixed.exampleSlot), fixed.partial);
      const u = tf.mul(model.userTowerFromFirstLayer(first as Tensor2D), invT);
      const sPos = tf.sum(tf.mul(u, fixed.posV), 1);
      const sNeg = tf.sub(tf.matMul(u, negV, false, true), offset);
      const all = tf.concat([tf.expandDims(sPos, 1), sNeg], 1);
      return tf.sum(tf.mul(sparseSoftmaxCrossEntropy(all as Tensor2D, label), fixed.w));
    };
    let stepNorms = 0;
    try {
      for (let s = 0; s < cfg.steps; s++) {
        const neg = drawNegatives(cfg.negatives, this.n, positives, this.random);
        const offset = cfg.logQ && neg.length > 0 ? Math.log(neg.length / this.n) : 0;
        const [lossT, gradT] = tf.tidy(() => {
          const negV = tf.gather(this.items, tf.tensor1d(neg, 'int32')) as Tensor2D;
          const { value, grad } = tf.valueAndGrad((e: Tensor) => lossOf(e as Tensor2D, negV, offset))(
            tf.tensor2d(E, [A, d]),
          );
          return [value, grad];
        });
        const loss = (lossT.dataSync() as Float32Array)[0] as number;
        const grad = gradT.dataSync() as Float32Array;
        tf.dispose([lossT, gradT]);
        if (!Number.isFinite(loss)) throw new Error(`incremental update diverged: loss is ${loss}`);
        if (s === 0) stats.lossBefore = loss / A;
        for (let a = 0; a < A; a++) {
          const o = a * d;
          const gn = norm(grad, o, d);
          const scale = gn > cfg.clipNorm ? cfg.clipNorm / gn : 1;
          if (scale < 1) stats.clipped++;
          const before = E.slice(o, o + d);
          for (let i = o; i < o + d; i++)
            E[i] = (E[i] as number) - cfg.learningRate * scale * (grad[i] as number);
          const rn = norm(E, o, d);
          if (rn > this.maxRowNorm) {
            stats.projected++;
            for (let i = o; i < o + d; i++) E[i] = ((E[i] as number) * this.maxRowNorm) / rn;
          }
          let moved = 0;
          for (let i = 0; i < d; i++) moved += ((E[o + i] as number) - (before[i] as number)) ** 2;
          stepNorms += Math.sqrt(moved);
        }
        stats.steps++;
        // the loss after the last step, on that step's negatives
        if (s === cfg.steps - 1) {
          const after = tf.tidy(() =>
            lossOf(
              tf.tensor2d(E, [A, d]),
              tf.gather(this.items, tf.tensor1d(neg, 'int32')) as Tensor2D,
              offset,
            ),
          );
          stats.lossAfter = ((after.dataSync() as Float32Array)[0] as number) / A;
          after.dispose();
        }
      }
    } finally {
      tf.dispose([fixed.exampleSlot, fixed.posV, fixed.w, fixed.partial, fixed.idKernel]);
    }
    stats.meanStepNorm = stepNorms / (A * stats.steps);
    active.forEach((u, a) => {
      rows.set(E.subarray(a * d, (a + 1) * d), u * d);
    });
    return { rows: split(), stats };
  }

  dispose(): void {
    this.items.dispose();
  }
}

/** One micro-batch with a fresh updater (seeded by `cfg.seed`): a pure function of its inputs. */
export function updateIdRows(
  version: FrozenVersion,
  live: LiveItems,
  users: readonly UserUpdate[],
  cfg: IncrementalConfig = DEFAULT_INCREMENTAL,
): UpdateResult {
  const updater = new IdRowUpdater(version, live, cfg);
  try {
    return updater.update(users);
  } finally {
    updater.dispose();
  }
}
