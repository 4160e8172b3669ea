// Adam as one TensorFlow kernel per variable. tfjs's Adam runs about 14 element-wise kernels
// per variable, each a full pass over the weights and both moments; on this model's tables that
// memory traffic was a fifth of a training step (docs/decisions.md, Model: the fused Adam).
// TensorFlow's ResourceApplyAdam does the whole update in one pass (plus one copy of the
// weight, which the tfjs Variable still holds), but only on resource variables, so each weight
// gets resource twins holding it and its two moments; after each update the tfjs Variable is
// pointed at a read of the twin, so the towers, saving and serving keep plain tfjs Variables.

import { type AdamSlots, isNative, RawOps } from './raw-ops.js';
import { type NamedTensorMap, type Optimizer, type Tensor, tf, type Variable } from './tf.js';

type NamedTensor = { name: string; tensor: Tensor };

/** A weight's resource twins: their binding handles, and the tfjs tensors that own them. */
interface Twins {
  slots: AdamSlots;
  owners: Tensor[];
}

export class FusedAdam extends tf.Optimizer {
  private readonly twins = new Map<string, Twins>();
  private step = 0;
  private readonly ops: RawOps;

  constructor(
    public learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    super();
    if (!isNative()) throw new Error('FusedAdam needs the native tensorflow backend');
    this.ops = new RawOps();
  }

  override applyGradients(grads: NamedTensorMap | NamedTensor[]): void {
    const list = Array.isArray(grads)
      ? grads.map((g) => [g.name, g.tensor] as const)
      : Object.entries(grads).map(([name, t]) => [name, t] as const);
    this.step++;
    const o = this.ops;
    try {
      const scalars = o.adamScalars(this.step, this.learningRate, this.beta1, this.beta2, this.epsilon);
      for (const [name, grad] of list) {
        if (!grad) continue;
        const variable = tf.engine().registeredVariables[name] as Variable | undefined;
        if (!variable) throw new Error(`FusedAdam: no variable named ${name}`);
        const { slots } = this.twinsOf(name, variable);
        o.applyAdam(slots, scalars, o.borrow(grad));
        const value = o.adopt(o.readVariable(slots.value));
        variable.assign(value);
        value.dispose();
      }
    } finally {
      o.release();
    }
  }

  private twinsOf(name: string, variable: Variable): Twins {
    let t = this.twins.get(name);
    if (!t) {
      const slots = this.ops.adamSlots(this.ops.borrow(variable));
      // tfjs tensors own the handles (so tf.memory() counts them); the twins outlive the step
      // that makes them, whatever tidy scope it runs in
      t = { slots, owners: [slots.value, slots.m, slots.v].map((h) => tf.keep(this.ops.adopt(h))) };
      this.twins.set(name, t);
    }
    return t;
  }

  override dispose(): void {
    for (const { slots, owners } of this.twins.values()) {
      for (const h of [slots.value, slots.m, slots.v]) this.ops.destroyResource(h);
      tf.dispose(owners);
    }
    this.twins.clear();
    this.ops.dispose();
    super.dispose();
  }

  override getConfig(): Record<string, number> {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static className = 'FusedAdam';
}

/** Adam with a settable learning rate: fused on the native backend, tfjs's own elsewhere. */
export function adam(learningRate: number): Optimizer & { learningRate: number } {
  return isNative()
    ? new FusedAdam(learningRate)
    : (tf.train.adam(learningRate) as unknown as Optimizer & { learningRate: number });
}
