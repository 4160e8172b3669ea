// Adam as one TensorFlow kernel per variable. tfjs's Adam runs about 14 element-wise kernels
// per variable, each a full pass over the weights and both moments; on this model's tables that
// memory traffic was a fifth of a training step (docs/decisions.md, Model: the fused Adam).
// TensorFlow's ResourceApplyAdam does the whole update in one pass (plus one copy of the
// weight, which the tfjs Variable still holds), but only on resource variables, so each weight
// gets resource twins holding it and its two moments; after each update the tfjs Variable is
// pointed at a read of the twin, so the towers, saving and serving keep plain tfjs Variables.

import { floatAttr, isNative, type NativeBackend, nativeBackend } from './fused-ops.js';
import { type NamedTensorMap, type Optimizer, type Tensor, tf, type Variable } from './tf.js';

type NamedTensor = { name: string; tensor: Tensor };

// TensorFlow turns this shared_name into a fresh unique one, so twins never collide with each
// other or with anything else in the process. In the pinned TensorFlow (2.18) such a resource
// is freed with its last handle (measured: twelve optimizers over a 4M-float weight, resident
// memory +0 MiB); dispose also runs DestroyResourceOp, for runtimes that keep it until then.
const ANONYMOUS = 'cd2c89b7-88b7-44c8-ad83-06c2a9158347';

interface Slots {
  weight: Tensor;
  m: Tensor;
  v: Tensor;
}

export class FusedAdam extends tf.Optimizer {
  private readonly slots = new Map<string, Slots>();
  private step = 0;
  private readonly backend: NativeBackend;

  constructor(
    public learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    super();
    if (!isNative()) throw new Error('FusedAdam needs the native tensorflow backend');
    this.backend = nativeBackend();
  }

  override applyGradients(grads: NamedTensorMap | NamedTensor[]): void {
    const list = Array.isArray(grads)
      ? grads.map((g) => [g.name, g.tensor] as const)
      : Object.entries(grads).map(([name, t]) => [name, t] as const);
    this.step++;
    const { binding } = this.backend;
    const attrs = [
      floatAttr(this.backend),
      { name: 'use_locking', type: binding.TF_ATTR_BOOL, value: false },
      { name: 'use_nesterov', type: binding.TF_ATTR_BOOL, value: false },
    ];
    const scalars = tf.tidy(() => [
      tf.scalar(this.beta1 ** this.step),
      tf.scalar(this.beta2 ** this.step),
      tf.scalar(this.learningRate),
      tf.scalar(this.beta1),
      tf.scalar(this.beta2),
      tf.scalar(this.epsilon),
    ]);
    try {
      for (const [name, grad] of list) {
        if (!grad) continue;
        const variable = tf.engine().registeredVariables[name] as Variable | undefined;
        if (!variable) throw new Error(`FusedAdam: no variable named ${name}`);
        const s = this.slotsFor(name, variable);
        this.backend.executeMultipleOutputs(
          'ResourceApplyAdam',
          attrs,
          [s.weight, s.m, s.v, ...scalars, grad],
          0,
        );
        const value = this.read(s.weight);
        variable.assign(value);
        value.dispose();
      }
    } finally {
      tf.dispose(scalars);
    }
  }

  private slotsFor(name: string, variable: Variable): Slots {
    let s = this.slots.get(name);
    if (!s) {
      s = {
        weight: this.resource(variable, variable),
        m: this.resource(variable, null),
        v: this.resource(variable, null),
      };
      this.slots.set(name, s);
    }
    return s;
  }

  /** A resource variable shaped like `like`, holding `init` (zeros when null). */
  private resource(like: Tensor, init: Tensor | null): Tensor {
    const { binding } = this.backend;
    const handle = this.backend.executeSingleOutput(
      'VarHandleOp',
      [
        { name: 'container', type: binding.TF_ATTR_STRING, value: '' },
        { name: 'shared_name', type: binding.TF_ATTR_STRING, value: ANONYMOUS },
        floatAttr(this.backend, 'dtype'),
        { name: 'shape', type: binding.TF_ATTR_SHAPE, value: like.shape },
      ],
      [],
    );
    const value = init ?? tf.zerosLike(like);
    this.backend.executeMultipleOutputs(
      'AssignVariableOp',
      [floatAttr(this.backend, 'dtype')],
      [handle, value],
      0,
    );
    if (!init) value.dispose();
    // the slots outlive the step that creates them, whatever tidy scope it runs in
    return tf.keep(handle);
  }

  private read(handle: Tensor): Tensor {
    return this.backend.executeSingleOutput('ReadVariableOp', [floatAttr(this.backend, 'dtype')], [handle]);
  }

  override dispose(): void {
    const { binding } = this.backend;
    for (const s of this.slots.values())
      for (const handle of [s.weight, s.m, s.v]) {
        this.backend.executeMultipleOutputs(
          'DestroyResourceOp',
          [{ name: 'ignore_lookup_error', type: binding.TF_ATTR_BOOL, value: true }],
          [handle],
          0,
        );
        handle.dispose();
      }
    this.slots.clear();
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
