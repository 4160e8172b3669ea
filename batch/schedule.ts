import { Cron } from 'croner';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { createRegistry, serveMetrics } from '../runtime/metrics.js';
import { onShutdown } from '../runtime/shutdown.js';
import { announceTarget } from '../runtime/targets.js';
import type { BatchReport } from './job.js';
import { BatchMetrics, batchMetricsPort } from './metrics.js';

/** Port of the scheduler's /metrics: after the stream processors' block. */
export const schedulerPort = batchMetricsPort;

/**
 * `towerflow batch schedule`: runs `job` on BATCH_SCHEDULE (UTC). A run never overlaps another in
 * this process (croner's protect) nor in any other (the job's Redis lease), and reports each
 * step's duration, the samples, the gate metrics and the published version as metrics.
 */
export async function runScheduler(
  cfg: Config,
  log: Logger,
  job: (metrics: BatchMetrics) => Promise<BatchReport>,
): Promise<void> {
  const metrics = new BatchMetrics(createRegistry('batch'));
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
      const r = await job(metrics);
      metrics.succeeded(r);
      lastError = undefined;
      log.info({ version: r.version, gate: r.gate, steps: r.steps }, 'batch run published');
    } catch (e) {
      const err = e as Error;
      metrics.failed(err);
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
  const server = await serveMetrics(metrics.registry, cfg.bindHost, port, () => ({
    live: true,
    ready: true,
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
