import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../runtime/logger.js';
import type { ShadowResult } from './recall.js';

export type ShadowOutcome = 'done' | 'failed' | 'skipped';

/**
 * Runs a shadow experiment's candidate computations after their live answers were sent, at most
 * `maxInFlight` at once (beyond: skipped and counted, so a slow candidate cannot pile up work and
 * memory beside the live traffic), and records what each measured: its latency and its
 * overlap@K with the live answer.
 */
export class ShadowRunner {
  private inFlight = 0;
  private readonly outcomes: Counter<'outcome'>;
  private readonly seconds: Histogram;
  private readonly overlap: Histogram;

  constructor(
    private readonly maxInFlight: number,
    registry: Registry,
    private readonly log?: Logger,
  ) {
    this.outcomes = new Counter({
      name: 'towerflow_recall_shadow_total',
      help: 'Shadow computations of a shadow experiment’s candidate by outcome (done, failed, skipped: SHADOW_MAX_IN_FLIGHT reached)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of ['done', 'failed', 'skipped']) this.outcomes.inc({ outcome }, 0);
    this.seconds = new Histogram({
      name: 'towerflow_recall_shadow_seconds',
      help: 'Time of the candidate’s answer computed in the shadow of a live one (its tower, ID row read and Milvus search)',
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    this.overlap = new Histogram({
      name: 'towerflow_recall_shadow_overlap',
      help: 'overlap@K of the candidate’s shadow answer with the live answer (shared items of the top k, over k)',
      buckets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers: [registry],
    });
  }

  /** Starts one computation unless `maxInFlight` are running; never throws, never waited for. */
  run(compute: () => Promise<ShadowResult>): void {
    if (this.inFlight >= this.maxInFlight) {
      this.outcomes.inc({ outcome: 'skipped' });
      return;
    }
    this.inFlight++;
    Promise.resolve()
      .then(compute)
      .then(
        (r) => {
          this.seconds.observe(r.seconds);
          this.overlap.observe(r.overlap);
          this.outcomes.inc({ outcome: 'done' });
        },
        (e: unknown) => {
          this.outcomes.inc({ outcome: 'failed' });
          this.log?.debug({ err: (e as Error).message }, 'shadow computation failed');
        },
      )
      .finally(() => {
        this.inFlight--;
      });
  }
}
