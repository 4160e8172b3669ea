import { Cron } from 'croner';
import { Counter, Gauge } from 'prom-client';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { createRegistry, serveMetrics } from '../runtime/metrics.js';
import { onShutdown } from '../runtime/shutdown.js';
import { announceTarget } from '../runtime/targets.js';
import type { BatchReport } from './job.js';

/** Port of the scheduler's /metrics: after the stream processors' block. */
export const schedulerPort = (cfg: Pick<Config, 'streamMetricsPortBase'>): number =>
  cfg.streamMetricsPortBase + 9;

/**
 * `towerflow batch schedule`: runs `job` on BATCH_SCHEDULE (UTC). A run never overlaps another in
 * this process (croner's protect) nor in any other (the job's Redis lease), and reports each
 * step's duration, the samples, the gate metrics and the published version as metrics.
 */
export async function runScheduler(cfg: Config, log: Logger, job: () => Promise<BatchReport>): Promise<void> {
  const registry = createRegistry('batch');
  const stepSeconds = new Gauge({
    name: 'towerflow_batch_step_seconds',
    help: 'Duration of each step of the last run',
    labelNames: ['step'],
    registers: [registry],
  });
  const runs = new Counter({
    name: 'towerflow_batch_runs_total',
    help: 'Runs by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const samples = new Gauge({
    name: 'towerflow_batch_samples',
    help: 'Training samples of the last run',
    registers: [registry],
  });
  const gateMetric = new Gauge({
    name: 'towerflow_batch_gate_hr50',
    help: 'HR@50 on the held-out slice of the last run',
    labelNames: ['model'],
    registers: [registry],
  });
  const published = new Gauge({
    name: 'towerflow_batch_published_info',
    help: 'The version published by the last successful run (value: unix seconds)',
    labelNames: ['version'],
    registers: [registry],
  });
  for (const result of ['published', 'refused', 'failed']) runs.inc({ result }, 0);
  let running = false;
  let current: Promise<void> | undefined;
  let lastError: string | undefined;

  const cron = new Cron(cfg.batchSchedule, { timezone: 'UTC', protect: true }, () => {
    current = runOnce();
    return current;
  });
  async function runOnce(): Promise<void> {
    running = true;
    log.info('batch run starting');
    try {
      const r = await job();
      for (const [k, v] of Object.entries(r.steps)) stepSeconds.set({ step: k }, v);
      samples.set(r.training.samples);
      for (const [model, m] of Object.entries(r.metrics)) gateMetric.set({ model }, m['HR@50'] ?? Number.NaN);
      published.reset();
      published.set({ version: r.version }, Date.now() / 1000);
      runs.inc({ result: 'published' });
      lastError = undefined;
      log.info({ version: r.version, gate: r.gate, steps: r.steps }, 'batch run published');
    } catch (e) {
      const err = e as Error;
      runs.inc({ result: err.name === 'GateRefusedError' ? 'refused' : 'failed' });
      lastError = err.message;
      log.error(
        { err: err.message, kind: err.name },
        'batch run did not publish; the live version keeps serving',
      );
    } finally {
      running = false;
    }
  }
  const port = schedulerPort(cfg);
  const server = await serveMetrics(registry, cfg.bindHost, port, () => ({
    ok: true,
    running,
    next: cron.nextRun()?.toISOString(),
    lastError,
  }));
  const withdraw = announceTarget(cfg, 'batch', `${cfg.bindHost}:${port}`);
  log.info({ schedule: cfg.batchSchedule, next: cron.nextRun()?.toISOString() }, 'batch scheduler waiting');
  onShutdown(log, async () => {
    cron.stop();
    // a run in progress finishes (publishes or cleans up) before the process exits
    if (running) log.info('waiting for the run in progress');
    await current;
    withdraw();
    await server.close();
  });
}
