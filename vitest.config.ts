import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // in CI also a JSON report, from which .ci/run prints the plain "N passed, N failed" line
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI ? { json: '.towerflow/test-results.json' } : undefined,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // numerics are checked against float32 references; test/unit/model/tf.test.ts covers bf16 (the
          // default, which the integration tests run) in child processes
          env: { TF_MATMUL_PRECISION: 'fp32', ONEDNN_DEFAULT_FPMATH_MODE: 'STRICT' },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // The real services are shared by every file: start them once, run files one at a time.
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
