import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { BatchReport } from '../../../batch/job.js';
import { batchMetricsPort, withBatchMetrics } from '../../../batch/metrics.js';
import { loadConfig } from '../../../config/index.js';

const report = {
  version: 'v20261207-000000',
  steps: { train: 1.5, switch: 0.01 },
  training: { samples: 1234, samplesPerSecond: 100, finalLoss: 3 },
  metrics: { candidate: { 'HR@50': 0.3 }, popularity: { 'HR@50': 0.1 } },
  vectors: { rows: 10, perSecond: 500, indexSeconds: 1 },
  aliasSwitchMs: 20,
} as unknown as BatchReport;

describe('batch metrics of a single run', () => {
  it('serves the outcome while the run lasts', async () => {
    const cfg = loadConfig({
      ...process.env,
      STREAM_METRICS_PORT_BASE: '29401',
      PROMETHEUS_TARGETS_DIR: '/tmp/tf-test-targets',
    });
    let text = '';
    await withBatchMetrics(cfg, async (m) => {
      m.onStep({ step: 1, epoch: 0, loss: 4.5, samplesPerSecond: 99 } as never);
      text = await (await fetch(`http://127.0.0.1:${batchMetricsPort(cfg)}/metrics`)).text();
      return report;
    });
    expect(text).toMatch(/towerflow_batch_train_loss\{role="batch"\} 4\.5/);
  });

  it('still runs the job when the port is taken (a scheduler of the same stack)', async () => {
    const cfg = loadConfig({
      ...process.env,
      STREAM_METRICS_PORT_BASE: '29411',
      PROMETHEUS_TARGETS_DIR: '/tmp/tf-test-targets',
    });
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(batchMetricsPort(cfg), '127.0.0.1', res));
    try {
      const r = await withBatchMetrics(cfg, async () => report);
      expect(r.version).toBe('v20261207-000000');
    } finally {
      blocker.close();
    }
  });
});
