import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../config/index.js';

function withoutMode(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.ONEDNN_DEFAULT_FPMATH_MODE;
  return env;
}

// oneDNN fixes its math mode at its first kernel, so each setting needs a fresh process
function firstProduct(env: Record<string, string>): number {
  const script = `import { tf } from './model/tf.ts';
const a = tf.fill([64, 64], 1 + 2 ** -12);
process.stdout.write(String(tf.matMul(a, tf.eye(64)).dataSync()[0]));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot(),
    env: { ...withoutMode(), ...env },
    encoding: 'utf8',
  });
  return Number(out.trim());
}

// bfloat16 keeps 8 significant bits: 1 + 2⁻¹² rounds to 1
const bf16Cpu = /\b(amx_bf16|avx512_bf16)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

describe('TF_MATMUL_PRECISION', { timeout: 60_000 }, () => {
  it('fp32 keeps full float32 products', () => {
    expect(firstProduct({ TF_MATMUL_PRECISION: 'fp32' })).toBe(1 + 2 ** -12);
  });

  it(`bf16 rounds matmul inputs to bfloat16 on a CPU with bf16 units (this one: ${bf16Cpu ? 'yes' : 'no'})`, () => {
    expect(firstProduct({ TF_MATMUL_PRECISION: 'bf16' })).toBe(bf16Cpu ? 1 : 1 + 2 ** -12);
  });
});
