import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../config/index.js';

function withoutMode(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.ONEDNN_DEFAULT_FPMATH_MODE;
  delete env.TOWERFLOW_FPMATH_DERIVED;
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

// bfloat16 keeps 8 significant bits: 1 + 2⁻¹² rounds to 1. Verified on AMX; a CPU with only
// AVX-512 BF16 may or may not take oneDNN's bf16 path, one without either must not.
const cpu = readFileSync('/proc/cpuinfo', 'utf8');
const amx = /\bamx_bf16\b/.test(cpu);
const bf16Only = !amx && /\bavx512_bf16\b/.test(cpu);
const expectBf16 = (v: number) => {
  if (bf16Only) expect([1, 1 + 2 ** -12]).toContain(v);
  else expect(v).toBe(amx ? 1 : 1 + 2 ** -12);
};

describe('TF_MATMUL_PRECISION', { timeout: 60_000 }, () => {
  it('fp32 keeps full float32 products', () => {
    expect(firstProduct({ TF_MATMUL_PRECISION: 'fp32' })).toBe(1 + 2 ** -12);
  });

  it(`bf16 rounds matmul inputs to bfloat16 on a CPU with AMX (this one: ${amx ? 'yes' : 'no'})`, () => {
    expectBf16(firstProduct({ TF_MATMUL_PRECISION: 'bf16' }));
  });

  it('a math mode inherited from a parent that derived it gives way to the setting; one the user set wins', () => {
    const inherited = { ONEDNN_DEFAULT_FPMATH_MODE: 'BF16', TOWERFLOW_FPMATH_DERIVED: '1' };
    expect(firstProduct({ ...inherited, TF_MATMUL_PRECISION: 'fp32' })).toBe(1 + 2 ** -12);
    expectBf16(firstProduct({ ONEDNN_DEFAULT_FPMATH_MODE: 'BF16', TF_MATMUL_PRECISION: 'fp32' }));
  });
});
