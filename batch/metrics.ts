import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { StepInfo } from '../model/train.js';
import { createRegistry, serveMetrics } from '../runtime/metrics.js';
import { announceTarget } from '../runtime/targets.js';
import type { BatchReport } from './job.js';

/** Port of the batch job's /metrics (a scheduler or a single run): after the stream processors' block. */
export const batchMetricsPort = (cfg: Pick<Config, 'streamMetricsPortBase'>): number =>
  cfg.streamMetricsPortBase + 9;

/** What the daily job reports to Prometheus: each run's outcome, steps, training, gate and publish. */
export class BatchMetrics {
  private readonly stepSeconds: Gauge;
  private readonly runs: Counter;
  private readonly lastRun: Gauge;
  private readonly samples: Gauge;
  private readonly loss: Gauge;
  private readonly samplesPerSecond: Gauge;
  private readonly gate: Gauge;
  private readonly published: Gauge;
  private readonly vectorsPerSecond: Gauge;
  private readonly aliasSwitch: Gauge;

  constructor(readonly registry: Registry) {
    const g = (name: string, help: string, labelNames: string[] = []) =>
      new Gauge({ name, help, labelNames, registers: [registry] });
    this.stepSeconds = g('towerflow_batch_step_seconds', 'Duration of each step of the last run', ['step']);
    this.runs = new Counter({
      name: 'towerflow_batch_runs_total',
      help: 'Runs by result (published, refused by the gate, failed)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.lastRun = g(
      'towerflow_batch_last_run_timestamp_seconds',
      'When the last run of each result ended (Unix seconds)',
      ['result'],
    );
    this.samples = g('towerflow_batch_samples', 'Training samples of the last run');
    this.loss = g('towerflow_batch_train_loss', 'Training loss of the latest step (the curve over a run)');
    this.samplesPerSecond = g(
      'towerflow_batch_train_samples_per_second',
      'Training speed of the latest step',
    );
    this.gate = g('towerflow_batch_gate_hr50', 'HR@50 on the held-out slice of the last run, by model', [
      'model',
    ]);
    this.published = g(
      'towerflow_batch_published_info',
      'The version published by the last successful run (value: Unix seconds)',
      ['version'],
    );
    this.vectorsPerSecond = g(
      'towerflow_batch_vectors_per_second',
      'Item vectors inserted into Milvus per second',
    );
    this.aliasSwitch = g(
      'towerflow_batch_alias_switch_seconds',
      'Time to move the alias and the live pointer',
    );
    for (const result of ['published', 'refused', 'failed']) this.runs.inc({ result }, 0);
  }

  onStep(s: StepInfo): void {
    this.loss.set(s.loss);
    this.samplesPerSecond.set(s.samplesPerSecond);
  }

  succeeded(r: BatchReport): void {
    for (const [k, v] of Object.entries(r.steps)) this.stepSeconds.set({ step: k }, v);
    this.samples.set(r.training.samples);
    for (const [model, m] of Object.entries(r.metrics)) this.gate.set({ model }, m['HR@50'] ?? Number.NaN);
    this.published.reset();
    this.published.set({ version: r.version }, Date.now() / 1000);
    this.vectorsPerSecond.set(r.vectors.perSecond);
    this.aliasSwitch.set(r.aliasSwitchMs / 1000);
    this.runs.inc({ result: 'published' });
    this.lastRun.set({ result: 'published' }, Date.now() / 1000);
  }

  failed(err: Error): void {
    const result = err.name === 'GateRefusedError' ? 'refused' : 'failed';
    this.runs.inc({ result });
    this.lastRun.set({ result }, Date.now() / 1000);
  }
}

/**
 * Runs `job` with the batch metrics served on `batchMetricsPort` and announced to Prometheus for
 * the run's duration (a single `batch run`, or the demo's daily job), so that even a one-off run
 * shows on the dashboards. The scheduler serves them for its whole life instead.
 */
export async function withBatchMetrics<T extends BatchReport>(
  cfg: Config,
  job: (metrics: BatchMetrics) => Promise<T>,
  opts: { lingerMs?: number } = {},
): Promise<T> {
  const metrics = new BatchMetrics(createRegistry('batch'));
  const port = batchMetricsPort(cfg);
  // a scheduler of this stack may hold the port: the run then goes on without its own endpoint
  const server = await serveMetrics(metrics.registry, cfg.bindHost, port, () => ({
    live: true,
    ready: true,
  })).catch(() => undefined);
  const withdraw = server ? announceTarget(cfg, 'batch', `${cfg.bindHost}:${port}`) : () => {};
  try {
    const r = await job(metrics).catch((e: Error) => {
      metrics.failed(e);
      throw e;
    });
    metrics.succeeded(r);
    return r;
  } finally {
    // one more scrape sees the outcome (the local Prometheus scrapes every 5 s)
    if (server && opts.lingerMs) await new Promise((res) => setTimeout(res, opts.lingerMs));
    withdraw();
    await server?.close();
  }
}
