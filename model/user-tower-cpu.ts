// The user tower's forward pass in plain JS, for the few rows of one recall request. Through
// tfjs one row costs ~17 TensorFlow ops; here it is one pass over the weights, which took serve's
// CPU per request down by ~0.18 ms, 7 % (docs/decisions.md, Recall API). Same formula as
// `TwoTower.userTower` (towers.ts), checked against it by a unit test.

import type { UserInputs } from './features.js';
import type { ModelShapes, TowerConfig } from './towers.js';

type Weight = { shape: number[]; data: Float32Array };

export class CpuUserTower {
  private readonly layers: { kernel: Float32Array; bias: Float32Array; rows: number; cols: number }[];

  private constructor(
    private readonly towers: TowerConfig,
    private readonly shapes: ModelShapes,
    private readonly userId: Float32Array,
    private readonly itemId: Float32Array,
    private readonly userSide: Float32Array,
    weights: Map<string, Weight>,
  ) {
    const n = towers.hidden.length + 1;
    this.layers = Array.from({ length: n }, (_, l) => {
      const kernel = need(weights, `user/dense${l}/kernel`);
      return {
        kernel: kernel.data,
        bias: need(weights, `user/dense${l}/bias`).data,
        rows: kernel.shape[0] as number,
        cols: kernel.shape[1] as number,
      };
    });
    const first = this.layers[0];
    const want = 3 * towers.idDim + towers.sideDim * shapes.userSlots;
    if (first?.rows !== want)
      throw new Error(`user tower input is ${first?.rows} wide, the features ${want}`);
  }

  /**
   * The user side of a version's weights, read in place: they are views into the version's
   * weights buffer, which stays alive anyway (tfjs-node keeps a tensor's source array until
   * the tensor's first use, and serve never uses the item tower's), so this costs no memory.
   */
  static fromWeights(weights: Map<string, Weight>, towers: TowerConfig, shapes: ModelShapes): CpuUserTower {
    return new CpuUserTower(
      towers,
      shapes,
      need(weights, 'user_id').data,
      need(weights, 'item_id').data,
      need(weights, 'user_side').data,
      weights,
    );
  }

  /**
   * Unit user vectors [inputs.n × outDim]; `idRows` replaces the ID row of every row `r` with
   * `overridden[r]` set, as `embedUsers` does.
   */
  embed(
    inputs: UserInputs,
    seqLen: number,
    idRows?: { rows: Float32Array; overridden: Uint8Array },
  ): Float32Array {
    const { idDim: d, sideDim: s, outDim } = this.towers;
    const slots = this.shapes.userSlots;
    const width = 3 * d + s * slots;
    const out = new Float32Array(inputs.n * outDim);
    const x = new Float64Array(width);
    for (let r = 0; r < inputs.n; r++) {
      x.fill(0);
      // the ID row
      const own = idRows?.overridden[r] === 1;
      const idSrc = own ? (idRows as { rows: Float32Array }).rows : this.userId;
      const idAt = own ? r * d : (inputs.userIdx[r] as number) * d;
      checkRow(idAt, d, idSrc.length, 'user ID');
      for (let k = 0; k < d; k++) x[k] = idSrc[idAt + k] as number;
      // the two poolings of the recent sequence over the item-ID table
      for (let g = 0; g < 2; g++) {
        const base = d + g * d;
        for (let j = 0; j < seqLen; j++) {
          const w = inputs.seqW[(r * 2 + g) * seqLen + j] as number;
          if (w === 0) continue;
          const at = (inputs.seqIdx[r * seqLen + j] as number) * d;
          checkRow(at, d, this.itemId.length, 'item ID');
          for (let k = 0; k < d; k++)
            x[base + k] = (x[base + k] as number) + w * (this.itemId[at + k] as number);
        }
      }
      // side slots: profile fields, then time context
      for (let t = 0; t < slots; t++) {
        const at = (inputs.userSide[r * slots + t] as number) * s;
        checkRow(at, s, this.userSide.length, 'user side');
        const base = 3 * d + t * s;
        for (let k = 0; k < s; k++) x[base + k] = this.userSide[at + k] as number;
      }
      const y = this.mlp(x);
      let norm = 0;
      for (const v of y) norm += v * v;
      const inv = 1 / Math.sqrt(norm + 1e-12);
      for (let k = 0; k < outDim; k++) out[r * outDim + k] = (y[k] as number) * inv;
    }
    return out;
  }

  /** Dense layers with ReLU between them; the last layer's output is returned before the norm. */
  private mlp(x: Float64Array): Float64Array {
    let h = x;
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { kernel, bias, rows, cols } = this.layers[l] as CpuUserTower['layers'][number];
      const next = new Float64Array(cols);
      for (let j = 0; j < cols; j++) next[j] = bias[j] as number;
      // row by row (the kernel's own layout), four outputs a step: half the time of the plain
      // loop in V8, and the same sums in the same order
      const cols4 = cols - (cols % 4);
      for (let i = 0; i < rows; i++) {
        const v = h[i] as number;
        if (v === 0) continue;
        let k = i * cols;
        let j = 0;
        for (; j < cols4; j += 4, k += 4) {
          next[j] = (next[j] as number) + v * (kernel[k] as number);
          next[j + 1] = (next[j + 1] as number) + v * (kernel[k + 1] as number);
          next[j + 2] = (next[j + 2] as number) + v * (kernel[k + 2] as number);
          next[j + 3] = (next[j + 3] as number) + v * (kernel[k + 3] as number);
        }
        for (; j < cols; j++, k++) next[j] = (next[j] as number) + v * (kernel[k] as number);
      }
      if (l < last) for (let j = 0; j < cols; j++) if ((next[j] as number) < 0) next[j] = 0;
      h = next;
    }
    return h;
  }
}

function need(weights: Map<string, Weight>, name: string): Weight {
  const w = weights.get(name);
  if (!w) throw new Error(`model version has no weight ${name}`);
  return w;
}

function checkRow(at: number, width: number, length: number, table: string): void {
  if (!(at >= 0 && at + width <= length))
    throw new RangeError(`${table} row ${at / width} outside its table`);
}
