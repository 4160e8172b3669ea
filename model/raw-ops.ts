// TensorFlow ops run straight through tfjs-node's binding, outside the tfjs engine. Each tfjs op
// costs about twice the binding's own ~12 µs in engine bookkeeping (tensor tracking, the tape,
// scalar tensors for its axis and shape arguments), which at ~200 ops a step was a fifth of a
// training step (docs/decisions.md, Model: the hand-differentiated step). Here a tensor is the
// binding's integer handle plus its shape; every output belongs to the current scope until
// `release()`, and small int32 arguments (axes, shapes) are created once and kept.

import { type Tensor, tf } from './tf.js';

/** Whether TensorFlow's own kernels can be run by name (tfjs-node's native backend). */
export function isNative(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/** A TensorFlow eager tensor held by the binding. */
export interface Handle {
  readonly id: number;
  readonly shape: readonly number[];
}

/** A weight and its Adam moments, as TensorFlow resource variables. */
export interface AdamSlots {
  value: Handle;
  m: Handle;
  v: Handle;
}

/** tfjs-node's binding: its tensor calls and type constants. */
interface Binding {
  executeOp(name: string, attrs: unknown[], inputs: number[], outputs: number): Handle[];
  createTensor(shape: readonly number[], dtype: number, values: Float32Array | Int32Array): number;
  deleteTensor(id: number): void;
  tensorDataSync(id: number): Float32Array | Int32Array;
  TF_ATTR_TYPE: number;
  TF_ATTR_INT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_STRING: number;
  TF_ATTR_SHAPE: number;
  TF_FLOAT: number;
  TF_INT32: number;
  TF_INT64: number;
}

interface Backend {
  binding: Binding;
  getInputTensorIds(tensors: Tensor[]): number[];
  createOutputTensor(metadata: Handle): Tensor;
}

/** Kept constants beyond which `release()` drops them all (a training run keeps ~25). */
const MAX_KEPT = 512;

export class RawOps {
  private readonly b: Binding;
  private readonly backend: Backend;
  private scope: number[] = [];
  private readonly kept = new Map<string, Handle>();
  private readonly F: unknown;
  private readonly I32: unknown;

  constructor() {
    if (!isNative()) throw new Error('raw TensorFlow ops need the native tensorflow backend');
    this.backend = tf.backend() as unknown as Backend;
    this.b = this.backend.binding;
    this.F = this.type('T', this.b.TF_FLOAT);
    this.I32 = this.type('Tidx', this.b.TF_INT32);
  }

  private type(name: string, value: number): unknown {
    return { name, type: this.b.TF_ATTR_TYPE, value };
  }

  private flag(name: string, value: boolean): unknown {
    return { name, type: this.b.TF_ATTR_BOOL, value };
  }

  /** Runs `name`; its outputs join the current scope. */
  run(name: string, attrs: unknown[], inputs: Handle[], outputs = 1): Handle[] {
    const out = this.b.executeOp(
      name,
      attrs,
      inputs.map((h) => h.id),
      outputs,
    );
    for (const h of out) this.scope.push(h.id);
    return out;
  }

  private one(name: string, attrs: unknown[], inputs: Handle[]): Handle {
    return this.run(name, attrs, inputs, 1)[0] as Handle;
  }

  float32(values: Float32Array, shape: readonly number[]): Handle {
    const id = this.b.createTensor(shape, this.b.TF_FLOAT, values);
    this.scope.push(id);
    return { id, shape };
  }

  int32(values: Int32Array, shape: readonly number[]): Handle {
    const id = this.b.createTensor(shape, this.b.TF_INT32, values);
    this.scope.push(id);
    return { id, shape };
  }

  /** An int32 vector (axes, shapes, split sizes) kept until `dispose()`; scalar when `scalar`. */
  private constInt(values: readonly number[], scalar = false): Handle {
    const key = `i${scalar ? 's' : 'v'}${values.join(',')}`;
    let h = this.kept.get(key);
    if (!h) {
      const shape = scalar ? [] : [values.length];
      h = { id: this.b.createTensor(shape, this.b.TF_INT32, Int32Array.from(values)), shape };
      this.kept.set(key, h);
    }
    return h;
  }

  /** A float32 scalar or vector of one repeated value, kept until `dispose()`. */
  constFloat(value: number, length?: number): Handle {
    const key = `f${value}/${length ?? 's'}`;
    let h = this.kept.get(key);
    if (!h) {
      const shape = length === undefined ? [] : [length];
      const data = new Float32Array(length ?? 1).fill(value);
      h = { id: this.b.createTensor(shape, this.b.TF_FLOAT, data), shape };
      this.kept.set(key, h);
    }
    return h;
  }

  /** An int64 vector (the sparse ops' dense shape), kept until `dispose()`. */
  constInt64(values: readonly number[]): Handle {
    const key = `l${values.join(',')}`;
    let h = this.kept.get(key);
    if (!h) {
      h = this.castToInt64(this.constInt(values));
      this.kept.set(key, h);
    }
    return h;
  }

  /** An int64 vector of `values` in the current scope (tfjs has no int64 dtype). */
  int64(values: Int32Array): Handle {
    const h = this.castToInt64(this.int32(values, [values.length]));
    this.scope.push(h.id);
    return h;
  }

  private castToInt64(x: Handle): Handle {
    const [cast] = this.b.executeOp(
      'Cast',
      [this.type('SrcT', this.b.TF_INT32), this.type('DstT', this.b.TF_INT64), this.flag('Truncate', false)],
      [x.id],
      1,
    );
    return cast as Handle;
  }

  /** The binding handle of a tfjs tensor (still owned by tfjs). */
  borrow(t: Tensor): Handle {
    return { id: this.backend.getInputTensorIds([t])[0] as number, shape: t.shape };
  }

  /**
   * One kernel for a tfjs caller: `fn` runs ops on borrowed tfjs tensors, its result becomes a
   * tfjs tensor, and whatever else it made is freed.
   */
  wrap(fn: (o: RawOps) => Handle): Tensor {
    try {
      return this.adopt(fn(this));
    } finally {
      this.release();
    }
  }

  /** A tfjs tensor that takes over `h` (an op's output, which carries its dtype). */
  adopt(h: Handle): Tensor {
    return this.backend.createOutputTensor(this.detach(h));
  }

  read(h: Handle): Float32Array {
    return this.b.tensorDataSync(h.id) as Float32Array;
  }

  /**
   * Deletes every tensor made since the last release. Kept constants stay, unless a caller
   * whose shapes keep changing has piled up more than `MAX_KEPT` of them: then they go too
   * (they are made again when next asked for).
   */
  release(): void {
    for (const id of this.scope) this.b.deleteTensor(id);
    this.scope = [];
    if (this.kept.size > MAX_KEPT) {
      for (const h of this.kept.values()) this.b.deleteTensor(h.id);
      this.kept.clear();
    }
  }

  /** Takes `h` out of the current scope: the caller deletes it with `free`. */
  detach(h: Handle): Handle {
    const i = this.scope.lastIndexOf(h.id);
    if (i >= 0) this.scope.splice(i, 1);
    return h;
  }

  free(h: Handle): void {
    this.b.deleteTensor(h.id);
  }

  dispose(): void {
    this.release();
    for (const h of this.kept.values()) this.b.deleteTensor(h.id);
    this.kept.clear();
  }

  // ---- float32 ops ----

  // BatchMatMulV2 rather than MatMul: on these 2-D shapes it ran the step's products in 8.3 ms
  // against MatMul's 12.3 (bf16 on AMX, docs/decisions.md), as tfjs's own matMul does
  matMul(a: Handle, b: Handle, transposeA = false, transposeB = false): Handle {
    return this.one(
      'BatchMatMulV2',
      [this.F, this.flag('adj_x', transposeA), this.flag('adj_y', transposeB)],
      [a, b],
    );
  }

  biasAdd(x: Handle, bias: Handle): Handle {
    return this.one('BiasAdd', [this.F, this.str('data_format', 'NHWC')], [x, bias]);
  }

  /** Column sums of a [n, m] gradient: the bias' gradient. */
  biasAddGrad(dy: Handle): Handle {
    return this.one('BiasAddGrad', [this.F, this.str('data_format', 'NHWC')], [dy]);
  }

  private str(name: string, value: string): unknown {
    return { name, type: this.b.TF_ATTR_STRING, value };
  }

  private unary(name: string, x: Handle): Handle {
    return this.one(name, [this.F], [x]);
  }

  private binary(name: string, a: Handle, b: Handle): Handle {
    return this.one(name, [this.F], [a, b]);
  }

  relu = (x: Handle) => this.unary('Relu', x);
  /** dy where the ReLU's output `y` is positive, else 0. */
  reluGrad = (dy: Handle, y: Handle) => this.binary('ReluGrad', dy, y);
  exp = (x: Handle) => this.unary('Exp', x);
  log = (x: Handle) => this.unary('Log', x);
  square = (x: Handle) => this.unary('Square', x);
  rsqrt = (x: Handle) => this.unary('Rsqrt', x);
  add = (a: Handle, b: Handle) => this.binary('AddV2', a, b);
  sub = (a: Handle, b: Handle) => this.binary('Sub', a, b);
  mul = (a: Handle, b: Handle) => this.binary('Mul', a, b);
  div = (a: Handle, b: Handle) => this.binary('RealDiv', a, b);

  /** Sum (or max) over `axis`, keeping it as size 1 when `keepDims`. */
  reduce(name: 'Sum' | 'Max', x: Handle, axis: number, keepDims: boolean): Handle {
    return this.one(
      name,
      [this.F, this.I32, this.flag('keep_dims', keepDims)],
      [x, this.constInt([axis], true)],
    );
  }

  reshape(x: Handle, shape: readonly number[], dtype: 'float32' | 'int32' = 'float32'): Handle {
    return this.one(
      'Reshape',
      [dtype === 'float32' ? this.F : this.type('T', this.b.TF_INT32), this.type('Tshape', this.b.TF_INT32)],
      [x, this.constInt(shape)],
    );
  }

  /** Rows `indices` (int32) of `table`. */
  gather(table: Handle, indices: Handle): Handle {
    return this.one(
      'GatherV2',
      [
        this.type('Tparams', this.b.TF_FLOAT),
        this.type('Tindices', this.b.TF_INT32),
        this.type('Taxis', this.b.TF_INT32),
        { name: 'batch_dims', type: this.b.TF_ATTR_INT, value: 0 },
      ],
      [table, indices, this.constInt([0], true)],
    );
  }

  /** [segments, …]: rows of `data` summed by their segment in `ids` (the gather's gradient). */
  segmentSum(data: Handle, ids: Handle, segments: number): Handle {
    return this.one(
      'UnsortedSegmentSum',
      [this.F, this.type('Tindices', this.b.TF_INT32), this.type('Tnumsegments', this.b.TF_INT32)],
      [data, ids, this.constInt([segments], true)],
    );
  }

  concat(parts: Handle[], axis: number): Handle {
    return this.one(
      'ConcatV2',
      [{ name: 'N', type: this.b.TF_ATTR_INT, value: parts.length }, this.F, this.I32],
      [...parts, this.constInt([axis], true)],
    );
  }

  split(x: Handle, sizes: readonly number[], axis: number): Handle[] {
    return this.run(
      'SplitV',
      [
        { name: 'num_split', type: this.b.TF_ATTR_INT, value: sizes.length },
        this.F,
        this.type('Tlen', this.b.TF_INT32),
      ],
      [x, this.constInt(sizes), this.constInt([axis], true)],
      sizes.length,
    );
  }

  /** A·dense (Aᵀ·dense when `adjointA`) for the sparse A given as COO indices, values, int64 shape. */
  sparseMatMul(indices: Handle, values: Handle, shape: Handle, dense: Handle, adjointA: boolean): Handle {
    return this.one(
      'SparseTensorDenseMatMul',
      [
        this.F,
        this.type('Tindices', this.b.TF_INT32),
        this.flag('adjoint_a', adjointA),
        this.flag('adjoint_b', false),
      ],
      [indices, values, shape, dense],
    );
  }

  /** `t` with `u[i]` subtracted at the positions `at[i]` [n, 1]. */
  scatterSub(t: Handle, at: Handle, u: Handle): Handle {
    return this.one('TensorScatterSub', [this.F, this.type('Tindices', this.b.TF_INT32)], [t, at, u]);
  }

  gatherNd(x: Handle, at: Handle): Handle {
    return this.one(
      'GatherNd',
      [this.type('Tparams', this.b.TF_FLOAT), this.type('Tindices', this.b.TF_INT32)],
      [x, at],
    );
  }

  // ---- resource variables and Adam ----

  /** A resource variable holding a copy of `init` (kept until `destroy`). */
  variable(init: Handle): Handle {
    const [handle] = this.b.executeOp(
      'VarHandleOp',
      [
        this.str('container', ''),
        // TensorFlow turns this shared_name into a fresh unique one, so variables never collide
        // with each other or with anything else in the process. In the pinned TensorFlow (2.18)
        // one is freed with its last handle (measured: twelve optimizers over a 4M-float weight,
        // resident memory +0 MiB); `destroy` also runs DestroyResourceOp, for runtimes that keep
        // it until then.
        this.str('shared_name', 'cd2c89b7-88b7-44c8-ad83-06c2a9158347'),
        this.type('dtype', this.b.TF_FLOAT),
        { name: 'shape', type: this.b.TF_ATTR_SHAPE, value: init.shape },
      ],
      [],
      1,
    );
    this.b.executeOp(
      'AssignVariableOp',
      [this.type('dtype', this.b.TF_FLOAT)],
      [(handle as Handle).id, init.id],
      0,
    );
    return handle as Handle;
  }

  /** The variable's value: an alias of its buffer while it lives (an update then copies it). */
  readVariable(v: Handle): Handle {
    return this.one('ReadVariableOp', [this.type('dtype', this.b.TF_FLOAT)], [v]);
  }

  /** Frees the variable's resource; `h` itself stays for its owner to delete. */
  destroyResource(v: Handle): void {
    this.b.executeOp('DestroyResourceOp', [this.flag('ignore_lookup_error', true)], [v.id], 0);
  }

  /** Frees the variable's resource and its handle. */
  destroy(v: Handle): void {
    this.destroyResource(v);
    this.b.deleteTensor(v.id);
  }

  /**
   * Adam's three resource variables for a weight: its value (holding `init`) and both moments at
   * zero. If one cannot be made, those already made are destroyed.
   */
  adamSlots(init: Handle): AdamSlots {
    const made: Handle[] = [];
    try {
      made.push(this.variable(init));
      const zeros = this.float32(new Float32Array(init.shape.reduce((a, b) => a * b, 1)), init.shape);
      made.push(this.variable(zeros), this.variable(zeros));
    } catch (err) {
      for (const h of made) this.destroy(h);
      throw err;
    }
    const [value, m, v] = made as [Handle, Handle, Handle];
    return { value, m, v };
  }

  /** ResourceApplyAdam's scalar inputs for step `t` (1-based); they join the current scope. */
  adamScalars(t: number, learningRate: number, beta1: number, beta2: number, epsilon: number): Handle[] {
    return [
      this.float32(Float32Array.of(beta1 ** t), []),
      this.float32(Float32Array.of(beta2 ** t), []),
      this.float32(Float32Array.of(learningRate), []),
      this.constFloat(beta1),
      this.constFloat(beta2),
      this.constFloat(epsilon),
    ];
  }

  /** One Adam update of the slots' value in place; `scalars` from `adamScalars`. */
  applyAdam(slots: AdamSlots, scalars: Handle[], grad: Handle): void {
    this.b.executeOp(
      'ResourceApplyAdam',
      [this.F, this.flag('use_locking', false), this.flag('use_nesterov', false)],
      [slots.value, slots.m, slots.v, ...scalars, grad].map((h) => h.id),
      0,
    );
  }
}

let shared: RawOps | undefined;

/** One RawOps for code that wraps single kernels into tfjs ops (fused-ops.ts); native only. */
export function sharedRawOps(): RawOps {
  shared ??= new RawOps();
  return shared;
}
