// The training step written out by hand on raw TensorFlow ops: the same towers, loss and Adam
// as the tfjs path (towers.ts, train.ts' sampledSoftmaxLoss, fused-adam.ts), with the backward
// pass derived once here instead of recorded on tfjs's tape at every step. It runs ~60 % of the
// taped step's kernels and none of tfjs's per-op bookkeeping (docs/decisions.md, Model: the
// hand-differentiated step); a unit test holds it to the taped step's losses and weights.
//
// The weights live in TensorFlow resource variables for the whole run, and their reads are
// dropped before Adam, so ResourceApplyAdam updates each buffer in place; `finish()` writes them
// back into the model's tfjs Variables.

import { type BatchColumns, logitBound } from './columns.js';
import type { FeatureConfig, UserInputs } from './features.js';
import { bagRows, labelPositions, needsMaxShift, sparseBagArrays } from './fused-ops.js';
import { type AdamSlots, type Handle, RawOps } from './raw-ops.js';
import type { ItemFeatures, TwoTower } from './towers.js';

type Tower = 'user' | 'item';

/** A tower's forward pass: each layer's input (layer ≥ 1: a ReLU output) and the last pre-activation. */
interface TowerPass {
  inputs: Handle[];
  out: Handle;
}

export class NativeStep {
  private readonly ops = new RawOps();
  private readonly slots = new Map<string, AdamSlots>();
  private t = 0;
  /** L2 penalty λ/2·‖W‖² on the user- and item-ID tables (0 = off). */
  embeddingL2 = 0;

  constructor(
    private readonly model: TwoTower,
    private readonly items: ItemFeatures,
    private readonly features: FeatureConfig,
    public learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    const o = this.ops;
    try {
      for (const [name, variable] of model.weights) this.slots.set(name, o.adamSlots(o.borrow(variable)));
      o.release();
    } catch (err) {
      // what was made so far (resource variables hold TensorFlow memory) goes with the error
      this.dispose();
      throw err;
    }
  }

  /** One Adam step on the examples `users` against the columns `cols`; returns their mean loss. */
  step(users: UserInputs, cols: BatchColumns): number {
    const o = this.ops;
    const reads = new Map<string, Handle>();
    try {
      const { loss, grads } = this.lossAndGradients(users, cols, reads);
      // Adam in place: no read of a weight may outlive this point
      for (const h of reads.values()) o.free(h);
      reads.clear();
      this.t++;
      const scalars = o.adamScalars(this.t, this.learningRate, this.beta1, this.beta2, this.epsilon);
      for (const [name, slot] of this.slots) {
        const g = grads.get(name);
        if (!g) throw new Error(`no gradient for weight ${name}`);
        o.applyAdam(slot, scalars, g);
      }
      return loss;
    } finally {
      for (const h of reads.values()) o.free(h);
      o.release();
    }
  }

  /** The mean loss and every weight's gradient, without a step (what the tests compare). */
  gradients(users: UserInputs, cols: BatchColumns): { loss: number; grads: Map<string, Float32Array> } {
    const o = this.ops;
    const reads = new Map<string, Handle>();
    try {
      const { loss, grads } = this.lossAndGradients(users, cols, reads);
      return { loss, grads: new Map([...grads].map(([name, g]) => [name, o.read(g).slice()])) };
    } finally {
      for (const h of reads.values()) o.free(h);
      o.release();
    }
  }

  /**
   * The forward and backward pass; the weights' reads go into `reads` (they alias the variables'
   * buffers, so the caller frees them before updating), everything else into the ops' scope.
   */
  private lossAndGradients(
    users: UserInputs,
    cols: BatchColumns,
    reads: Map<string, Handle>,
  ): { loss: number; grads: Map<string, Handle> } {
    const o = this.ops;
    const { idDim: d, sideDim: s, temperature } = this.model.towers;
    const shapes = this.model.shapes;
    const B = users.n;
    const C = cols.columns.length;
    const nItems = this.items.itemIdx.length;
    const pos = labelPositions(cols.label, B, C);
    const itemRows = new Int32Array(C);
    for (let j = 0; j < C; j++) {
      const r = cols.columns[j] as number;
      if (!(r >= 0 && r < nItems)) throw new RangeError(`item row ${r} outside the corpus [0, ${nItems})`);
      itemRows[j] = this.items.itemIdx[r] as number;
    }
    const w = (name: string): Handle => {
      let h = reads.get(name);
      if (!h) {
        const slot = this.slots.get(name);
        if (!slot) throw new Error(`model has no weight ${name}`);
        h = o.detach(o.readVariable(slot.value));
        reads.set(name, h);
      }
      return h;
    };

    // ---- inputs ----
    const slots = shapes.userSlots;
    const uIdx = o.int32(users.userIdx, [B]);
    const uSide = o.int32(users.userSide, [B * slots]);
    const seq = sparseBagArrays(bagRows(users.seqIdx, users.seqW, B, 2, this.features.seqLen));
    const seqI = o.int32(seq.ij, [seq.nnz, 2]);
    const seqV = o.float32(seq.w, [seq.nnz]);
    const seqShape = o.constInt64([seq.rows, shapes.items]);
    const iIdx = o.int32(itemRows, [C]);
    const side = sparseBagArrays(this.items.side, cols.columns);
    const sideI = o.int32(side.ij, [side.nnz, 2]);
    const sideV = o.float32(side.w, [side.nnz]);
    const sideShape = o.constInt64([side.rows, shapes.itemSideRows]);
    const iSlots = shapes.itemSlots;

    // ---- forward ----
    const xUser = o.concat(
      [
        o.gather(w('user_id'), uIdx),
        o.reshape(o.sparseMatMul(seqI, seqV, seqShape, w('item_id'), false), [B, 2 * d]),
        o.reshape(o.gather(w('user_side'), uSide), [B, slots * s]),
      ],
      1,
    );
    const xItem = o.concat(
      [
        o.gather(w('item_id'), iIdx),
        o.reshape(o.sparseMatMul(sideI, sideV, sideShape, w('item_side'), false), [C, iSlots * s]),
      ],
      1,
    );
    const user = this.towerForward('user', xUser, w);
    const item = this.towerForward('item', xItem, w);
    // user vectors are unit vectors divided by τ, so the logits are one matmul
    const invT = 1 / temperature;
    const [u, uScale] = this.normalize(user.out, invT);
    const [v, vScale] = this.normalize(item.out, 1);
    const logits = o.sub(o.matMul(u, v, false, true), o.float32(cols.offsets, [C]));
    const max = needsMaxShift(logitBound(temperature, cols.offsets))
      ? o.reduce('Max', logits, 1, true)
      : undefined;
    const e = o.exp(max ? o.sub(logits, max) : logits);
    const sum = o.reduce('Sum', e, 1, true);
    const at = o.int32(pos, [B, 1]);
    const labelLogit = o.read(o.gatherNd(o.reshape(logits, [B * C]), at));
    const logSum = o.read(o.log(sum));
    const maxes = max ? o.read(max) : undefined;
    let loss = 0;
    for (let i = 0; i < B; i++)
      loss += (logSum[i] as number) + (maxes ? (maxes[i] as number) : 0) - (labelLogit[i] as number);
    loss /= B;

    // ---- backward: d mean(loss) / d logits = (softmax − onehot(label)) / B ----
    const softmax = o.reshape(o.mul(e, o.div(o.constFloat(1 / B), sum)), [B * C]);
    const dLogits = o.reshape(o.scatterSub(softmax, at, o.constFloat(1 / B, B)), [B, C]);
    const dU = o.matMul(dLogits, v);
    const dV = o.matMul(dLogits, u, true, false);
    const grads = new Map<string, Handle>();
    const dxUser = this.towerBackward('user', user, this.normalizeGrad(dU, u, uScale, invT), w, grads);
    const dxItem = this.towerBackward('item', item, this.normalizeGrad(dV, v, vScale, 1), w, grads);
    const [dUserId, dSeq, dUserSide] = o.split(dxUser, [d, 2 * d, slots * s], 1) as [Handle, Handle, Handle];
    const [dItemId, dItemSide] = o.split(dxItem, [d, iSlots * s], 1) as [Handle, Handle];
    grads.set('user_id', o.segmentSum(dUserId, uIdx, shapes.users));
    grads.set('user_side', o.segmentSum(o.reshape(dUserSide, [B * slots, s]), uSide, shapes.userSideRows));
    grads.set(
      'item_id',
      o.add(
        o.sparseMatMul(seqI, seqV, seqShape, o.reshape(dSeq, [seq.rows, d]), true),
        o.segmentSum(dItemId, iIdx, shapes.items),
      ),
    );
    grads.set(
      'item_side',
      o.sparseMatMul(sideI, sideV, sideShape, o.reshape(dItemSide, [side.rows, s]), true),
    );
    const l2 = this.embeddingL2;
    if (l2)
      for (const name of ['user_id', 'item_id']) {
        const table = w(name);
        loss += (l2 / 2) * (o.read(o.reduce('Sum', o.reshape(o.square(table), [-1]), 0, false))[0] as number);
        grads.set(name, o.add(grads.get(name) as Handle, o.mul(table, o.constFloat(l2))));
      }
    return { loss, grads };
  }

  /** Dense layers with ReLU between them; the last layer's pre-activation is `out`. */
  private towerForward(tower: Tower, x: Handle, w: (name: string) => Handle): TowerPass {
    const o = this.ops;
    const layers = this.model.towers.hidden.length + 1;
    const inputs = [x];
    let h = x;
    for (let l = 0; l < layers; l++) {
      const z = o.biasAdd(o.matMul(h, w(`${tower}/dense${l}/kernel`)), w(`${tower}/dense${l}/bias`));
      if (l === layers - 1) return { inputs, out: z };
      h = o.relu(z);
      inputs.push(h);
    }
    throw new Error('a tower has at least one layer');
  }

  /** Gradients of the layers' weights into `grads`; returns the gradient of the tower's input. */
  private towerBackward(
    tower: Tower,
    pass: TowerPass,
    dOut: Handle,
    w: (name: string) => Handle,
    grads: Map<string, Handle>,
  ): Handle {
    const o = this.ops;
    let dz = dOut;
    for (let l = pass.inputs.length - 1; l >= 0; l--) {
      const input = pass.inputs[l] as Handle;
      grads.set(`${tower}/dense${l}/kernel`, o.matMul(input, dz, true, false));
      grads.set(`${tower}/dense${l}/bias`, o.biasAddGrad(dz));
      const dIn = o.matMul(dz, w(`${tower}/dense${l}/kernel`), false, true);
      if (l === 0) return dIn;
      dz = o.reluGrad(dIn, input);
    }
    throw new Error('a tower has at least one layer');
  }

  /** y = c·h/√(Σh² + 1e-12) per row; returns y and c/‖h‖ [n, 1]. */
  private normalize(h: Handle, c: number): [Handle, Handle] {
    const o = this.ops;
    let scale = o.rsqrt(o.add(o.reduce('Sum', o.square(h), 1, true), o.constFloat(1e-12)));
    if (c !== 1) scale = o.mul(scale, o.constFloat(c));
    return [o.mul(h, scale), scale];
  }

  /** dh from dy for y = c·h/‖h‖: (dy − y·Σ(dy·y)/c²)·c/‖h‖. */
  private normalizeGrad(dy: Handle, y: Handle, scale: Handle, c: number): Handle {
    const o = this.ops;
    let dot = o.reduce('Sum', o.mul(dy, y), 1, true);
    if (c !== 1) dot = o.mul(dot, o.constFloat(1 / (c * c)));
    return o.mul(o.sub(dy, o.mul(y, dot)), scale);
  }

  /** Writes the trained weights into the model's tfjs Variables. */
  finish(): void {
    const o = this.ops;
    for (const [name, slot] of this.slots) {
      const value = o.adopt(o.readVariable(slot.value));
      this.model.w(name).assign(value);
      value.dispose();
    }
  }

  dispose(): void {
    for (const slot of this.slots.values()) for (const h of [slot.value, slot.m, slot.v]) this.ops.destroy(h);
    this.slots.clear();
    this.ops.dispose();
  }
}
