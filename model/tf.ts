import { createRequire } from 'node:module';
import { readSetting } from '../config/index.js';

// TensorFlow's C library prints oneDNN/CPU-feature notices on load; keep warnings and errors.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

// oneDNN reads its float32 math mode once, at its first kernel, so it is set before TensorFlow
// loads. BF16 lets large float32 matmuls run on AMX / AVX-512 BF16 (docs/decisions.md, Model).
// A mode the user set wins; one derived here is marked, so that a child process, which inherits
// the environment, derives its own from its TF_MATMUL_PRECISION instead of taking it as set.
const DERIVED = 'TOWERFLOW_FPMATH_DERIVED';
if (!process.env.ONEDNN_DEFAULT_FPMATH_MODE || process.env[DERIVED] === '1') {
  process.env.ONEDNN_DEFAULT_FPMATH_MODE = readSetting('tfMatmulPrecision') === 'bf16' ? 'BF16' : 'STRICT';
  process.env[DERIVED] = '1';
}

// tfjs-node is CommonJS; load it once, natively (scripts/setup-tf.sh builds the binding).
const require = createRequire(import.meta.url);
export const tf = require('@tensorflow/tfjs-node') as typeof import('@tensorflow/tfjs-node');
export type Tensor = import('@tensorflow/tfjs-node').Tensor;
export type Tensor1D = import('@tensorflow/tfjs-node').Tensor1D;
export type Tensor2D = import('@tensorflow/tfjs-node').Tensor2D;
export type Variable = import('@tensorflow/tfjs-node').Variable;
export type Scalar = import('@tensorflow/tfjs-node').Scalar;
export type Optimizer = import('@tensorflow/tfjs-node').Optimizer;
export type NamedTensorMap = import('@tensorflow/tfjs-node').NamedTensorMap;
