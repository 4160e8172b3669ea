import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, type Registry } from 'prom-client';
import { ensureTopics } from '../clients/kafka/admin.js';
import { IdempotentProducer } from '../clients/kafka/rdkafka.js';
import { projectTopics, topicNames } from '../clients/kafka/topics.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import type { Exposure } from '../schemas/exposure.js';

export type ExposureOutcome = 'sent' | 'dropped' | 'failed';

/** The part of the exposure log a request uses: never waits, never throws. */
export interface ExposureSink {
  record(e: Exposure): void;
}

/**
 * Writes every answer the API returns to `recall.exposures` (DESIGN.md §9) without the request
 * waiting for Kafka: sends are fire-and-forget, and while Kafka is unreachable or slower than
 * the request rate (more than `maxInFlight` unacknowledged) exposures are dropped and counted,
 * so a slow broker costs the experiment some data, never the API its latency.
 */
export class ExposureLog implements ExposureSink {
  private producer: IdempotentProducer | undefined;
  private closed = false;
  private inFlight = 0;
  private readonly topic: string;
  private outcomes: Counter<'outcome'> | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
    private readonly maxInFlight = cfg.exposureMaxInFlight,
  ) {
    this.topic = topicNames(cfg).exposures;
  }

  registerMetrics(registry: Registry): void {
    this.outcomes = new Counter({
      name: 'towerflow_recall_exposures_total',
      help: 'Exposures by outcome (sent = acknowledged, dropped = Kafka not ready or too far behind, failed = refused)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of ['sent', 'dropped', 'failed']) this.outcomes.inc({ outcome }, 0);
  }

  /** Connects in the background until it succeeds or the log is closed. */
  async start(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      const p = new IdempotentProducer(this.cfg, { 'linger.ms': 20 });
      try {
        await p.connect(5000);
        if (this.closed) {
          await p.disconnect();
          return;
        }
        await ensureTopics(this.cfg, projectTopics(this.cfg)).catch(() => {});
        this.producer = p;
        return;
      } catch (e) {
        if (attempt === 0)
          this.log.warn({ err: (e as Error).message }, 'exposure log: Kafka not reachable; retrying');
        await sleep(Math.min(500 * 2 ** attempt, 5000));
      }
    }
  }

  record(e: Exposure): void {
    const p = this.producer;
    if (!p || this.inFlight >= this.maxInFlight) {
      this.count('dropped');
      return;
    }
    this.inFlight++;
    p.send(this.topic, { key: e.user_id, value: JSON.stringify(e) }).then(
      () => {
        this.inFlight--;
        this.count('sent');
      },
      () => {
        this.inFlight--;
        this.count('failed');
      },
    );
  }

  private count(outcome: ExposureOutcome): void {
    this.outcomes?.inc({ outcome });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.producer?.disconnect();
  }
}
