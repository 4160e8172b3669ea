import {
  type FeatureConfig,
  type ItemMatrix,
  itemSideLayout,
  type UserInputs,
  userSideLayout,
  userSlots,
  type Vocabularies,
} from './features.js';
import { type BagRows, bagRows, gatherRows, l2Normalize, relu, sparseBag, sparsePool } from './fused-ops.js';
import { type Tensor, type Tensor1D, type Tensor2D, tf, type Variable } from './tf.js';

export interface TowerConfig {
  /** ID embedding width (users, items; also the sequence pooling). */
  idDim: number;
  /** Width of side-feature embeddings (categories, buckets, text, context). */
  sideDim: number;
  /** Hidden layer widths of each tower. */
  hidden: number[];
  /** Output dimension: the vector in Milvus. */
  outDim: number;
  /** Softmax temperature on the cosine scores. */
  temperature: number;
}

export const DEFAULT_TOWERS: TowerConfig = {
  idDim: 64,
  sideDim: 16,
  hidden: [256],
  outDim: 64,
  temperature: 0.1,
};

/** Table sizes the parameters depend on (from the vocabularies and feature layout). */
export interface ModelShapes {
  users: number;
  items: number;
  itemSideRows: number;
  itemSlots: number;
  userSideRows: number;
  userSlots: number;
}

export function shapesOf(vocab: Vocabularies, cfg: FeatureConfig): ModelShapes {
  const item = itemSideLayout(vocab, cfg);
  const user = userSideLayout(vocab, cfg);
  return {
    users: vocab.users.size,
    items: vocab.items.size,
    itemSideRows: item.rows,
    itemSlots: Math.max(1, item.slots.length),
    userSideRows: user.rows,
    userSlots: userSlots(cfg),
  };
}

/**
 * The item feature matrix as the item tower reads it: each corpus row's ID-table row and its
 * side features as pooling bags (one output group per side slot).
 */
export interface ItemFeatures {
  itemIdx: Int32Array;
  side: BagRows;
}

export function itemFeatures(m: ItemMatrix): ItemFeatures {
  return {
    itemIdx: m.itemIdx,
    side: bagRows(m.sideIdx, m.sideW, m.ids.length, m.slots, m.sideWidth),
  };
}

type Weights = Map<string, Variable>;

function glorot(rows: number, cols: number, seed: number): Tensor2D {
  return tf.randomUniform(
    [rows, cols],
    -Math.sqrt(6 / (rows + cols)),
    Math.sqrt(6 / (rows + cols)),
    'float32',
    seed,
  );
}

function embedding(rows: number, dim: number, seed: number): Tensor2D {
  return tf.randomNormal([rows, dim], 0, 0.05, 'float32', seed) as Tensor2D;
}

/**
 * The two towers. Parameters are plain variables (embedding tables and dense layers), so a
 * version is a list of named float32 arrays: easy to save atomically, load anywhere and
 * warm-start from (rows of tables that grew are kept by name).
 */
export class TwoTower {
  readonly weights: Weights = new Map();

  constructor(
    readonly shapes: ModelShapes,
    readonly towers: TowerConfig,
    init?: Map<string, { shape: number[]; data: Float32Array }>,
    seed = 42,
  ) {
    let s = seed;
    const add = (name: string, make: () => Tensor) => {
      const fresh = make();
      const prior = init?.get(name);
      let value: Tensor = fresh;
      if (prior) {
        value = warmStart(fresh, prior);
        fresh.dispose();
      }
      // tfjs variable names are process-global: let it pick unique ones, keep ours as map keys
      this.weights.set(name, tf.variable(value, true));
      value.dispose();
    };
    const { idDim, sideDim, hidden, outDim } = towers;
    add('user_id', () => embedding(shapes.users, idDim, s++));
    add('item_id', () => embedding(shapes.items, idDim, s++));
    add('item_side', () => embedding(shapes.itemSideRows, sideDim, s++));
    add('user_side', () => embedding(shapes.userSideRows, sideDim, s++));

    // user id, two sequence poolings (long-term decayed, short-term recent), side slots
    const userIn = 3 * idDim + sideDim * shapes.userSlots;
    const itemIn = idDim + sideDim * shapes.itemSlots;
    for (const [tower, width] of [
      ['user', userIn],
      ['item', itemIn],
    ] as const) {
      let prev = width;
      [...hidden, outDim].forEach((h, layer) => {
        add(`${tower}/dense${layer}/kernel`, () => glorot(prev, h, s++));
        add(`${tower}/dense${layer}/bias`, () => tf.zeros([h]));
        prev = h;
      });
    }
  }

  w(name: string): Variable {
    const v = this.weights.get(name);
    if (!v) throw new Error(`model has no weight ${name}`);
    return v;
  }

  private mlp(tower: 'user' | 'item', x: Tensor2D): Tensor2D {
    return this.mlpFromFirst(
      tower,
      tf.add(tf.matMul(x, this.w(`${tower}/dense0/kernel`) as Tensor2D), this.w(`${tower}/dense0/bias`)),
    );
  }

  /** The tower from its first layer's pre-activation on: the remaining layers and the L2 norm. */
  private mlpFromFirst(tower: 'user' | 'item', first: Tensor2D): Tensor2D {
    const layers = this.towers.hidden.length + 1;
    let h = first;
    for (let l = 1; l < layers; l++)
      h = tf.add(
        tf.matMul(relu(h), this.w(`${tower}/dense${l}/kernel`) as Tensor2D),
        this.w(`${tower}/dense${l}/bias`),
      );
    return l2Normalize(h);
  }

  /** L2-normalised item vectors of corpus rows `rows`: the ID row and the side slots' pooled embeddings. */
  itemTower(items: ItemFeatures, rows: Int32Array): Tensor2D {
    const B = rows.length;
    const n = items.itemIdx.length;
    for (const r of rows)
      if (!(r >= 0 && r < n)) throw new RangeError(`item row ${r} outside the corpus [0, ${n})`);
    const ids = tf.tensor1d(
      rows.map((r) => items.itemIdx[r] as number),
      'int32',
    );
    const id = gatherRows(this.w('item_id') as Tensor2D, ids);
    const table = this.w('item_side') as Tensor2D;
    const bag = sparseBag(items.side, table.shape[0], rows);
    const side = tf.reshape(sparsePool(table, bag), [
      B,
      this.shapes.itemSlots * this.towers.sideDim,
    ]) as Tensor2D;
    return this.mlp('item', tf.concat([id, side], 1));
  }

  /** L2-normalised user vectors for the prediction points in `u`. */
  userTower(u: UserTensors): Tensor2D {
    return this.userTowerFromIdRows(gatherRows(this.w('user_id') as Tensor2D, u.userIdx), u);
  }

  /**
   * The user tower with the ID rows given [B, idDim] instead of gathered by `u.userIdx`: the
   * incremental updater differentiates through it, serving passes rows held outside the table.
   */
  userTowerFromIdRows(id: Tensor2D, u: UserTensors): Tensor2D {
    // one concat of the three parts: each concat costs a kernel forward and a split back
    return this.mlp('user', tf.concat([id, ...this.userContext(u)], 1));
  }

  /** The user tower's inputs besides the ID row: pooled sequence [B, 2·idDim], side features [B, ·]. */
  private userContext(u: UserTensors): [Tensor2D, Tensor2D] {
    const B = u.userIdx.shape[0];
    const table = this.w('item_id') as Tensor2D;
    const seq = tf.reshape(sparsePool(table, sparseBag(u.seq, table.shape[0])), [B, 2 * this.towers.idDim]);
    const side = tf.reshape(tf.gather(this.w('user_side'), u.userSide), [
      B,
      this.shapes.userSlots * this.towers.sideDim,
    ]);
    return [seq as Tensor2D, side as Tensor2D];
  }

  /**
   * The part of the user tower's first-layer pre-activation that does not depend on the ID row:
   * [seq, side] · W₀[idDim:] + b₀ [B, h₀]. Plus `id · idKernel()`, `userTowerFromFirstLayer`
   * gives the vectors of `userTowerFromIdRows`, while the sequence and side features are
   * computed once for many ID rows (the incremental updater's gradient steps).
   */
  userTowerPartial(u: UserTensors): Tensor2D {
    const d = this.towers.idDim;
    const kernel = this.w('user/dense0/kernel') as Tensor2D;
    const rest = tf.slice(kernel, [d, 0], [kernel.shape[0] - d, kernel.shape[1]]);
    return tf.add(tf.matMul(tf.concat(this.userContext(u), 1), rest), this.w('user/dense0/bias')) as Tensor2D;
  }

  /**
   * User vectors from the first layer's pre-activation [B, h₀] (`id · idKernel() + partial`): a
   * caller with many examples per ID row multiplies each row once, then gathers.
   */
  userTowerFromFirstLayer(first: Tensor2D): Tensor2D {
    return this.mlpFromFirst('user', first);
  }

  /** The first user layer's rows that multiply the ID row [idDim, h₀]. */
  idKernel(): Tensor2D {
    const kernel = this.w('user/dense0/kernel') as Tensor2D;
    return tf.slice(kernel, [0, 0], [this.towers.idDim, kernel.shape[1]]);
  }

  /** Named float32 arrays of every weight, for saving. */
  async export(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> {
    const out: { name: string; shape: number[]; data: Float32Array }[] = [];
    for (const [name, v] of this.weights)
      out.push({ name, shape: v.shape, data: (await v.data()) as Float32Array });
    return out;
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
  }
}

/** Copies overlapping rows/columns of a previous version's weight into a fresh one. */
function warmStart(fresh: Tensor, prior: { shape: number[]; data: Float32Array }): Tensor {
  const shape = fresh.shape;
  if (shape.length !== prior.shape.length) return fresh.clone();
  if (shape.every((d, i) => d === prior.shape[i])) return tf.tensor(prior.data, shape, 'float32');
  if (shape.length !== 2 || shape[1] !== prior.shape[1]) return fresh.clone();
  // a grown (or shrunk) table: keep the common leading rows; new rows stay freshly initialised
  const rows = Math.min(shape[0] as number, prior.shape[0] as number);
  const cols = shape[1] as number;
  const data = fresh.dataSync().slice() as Float32Array;
  data.set(prior.data.subarray(0, rows * cols));
  return tf.tensor(data, shape, 'float32');
}

export interface UserTensors {
  userIdx: Tensor1D;
  /** The recent sequence's two poolings over the item-ID table. */
  seq: BagRows;
  userSide: Tensor2D;
}

export function userTensors(u: UserInputs, cfg: FeatureConfig): UserTensors {
  return {
    userIdx: tf.tensor1d(u.userIdx, 'int32'),
    seq: bagRows(u.seqIdx, u.seqW, u.n, 2, cfg.seqLen),
    userSide: tf.tensor2d(u.userSide, [u.n, userSlots(cfg)], 'int32'),
  };
}

export function disposeUserTensors(t: UserTensors): void {
  tf.dispose([t.userIdx, t.userSide]);
}

/**
 * User vectors [inputs.n × outDim] for prepared inputs (evaluation and serving share this).
 * `idRows` [n × idDim] replaces the table's ID row of every row `r` with `overridden[r]` set.
 */
export function embedUsers(
  model: TwoTower,
  inputs: UserInputs,
  cfg: FeatureConfig,
  idRows?: { rows: Float32Array; overridden: Uint8Array },
): Float32Array {
  const t = userTensors(inputs, cfg);
  try {
    const v = tf.tidy(() => {
      if (!idRows) return model.userTower(t);
      const n = inputs.n;
      const table = tf.gather(model.w('user_id'), t.userIdx) as Tensor2D;
      const given = tf.tensor2d(idRows.rows, [n, model.towers.idDim]);
      const m = tf.tensor2d(Float32Array.from(idRows.overridden), [n, 1]);
      // an exact select: x·1 + y·0 = x for finite rows
      const id = tf.add(tf.mul(table, tf.sub(1, m)), tf.mul(given, m)) as Tensor2D;
      return model.userTowerFromIdRows(id, t);
    });
    const out = v.dataSync() as Float32Array;
    v.dispose();
    return out;
  } finally {
    disposeUserTensors(t);
  }
}

/** Vectors for all corpus rows, in batches. */
export function embedAllItems(model: TwoTower, items: ItemFeatures, batch = 4096): Float32Array {
  const n = items.itemIdx.length;
  const d = model.towers.outDim;
  const out = new Float32Array(n * d);
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const rows = Int32Array.from({ length: e - s }, (_, i) => s + i);
    const v = tf.tidy(() => model.itemTower(items, rows));
    out.set(v.dataSync() as Float32Array, s * d);
    v.dispose();
  }
  return out;
}
