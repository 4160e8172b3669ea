import { setTimeout as sleep } from 'node:timers/promises';
import type { ProducerGlobalConfig } from 'node-rdkafka';
import { ensureTopics } from '../clients/kafka/admin.js';
import { IdempotentProducer, type Message } from '../clients/kafka/rdkafka.js';
import { projectTopics } from '../clients/kafka/topics.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';

export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
}

/**
 * The ingest API's producer. It connects in the background (the API starts and answers 503
 * while Kafka is unreachable) and bounds how long a request waits for acknowledgements.
 */
export class KafkaGate {
  private producer: IdempotentProducer | undefined;
  private closed = false;

  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {}

  get ready(): boolean {
    return this.producer !== undefined;
  }

  /** Keeps trying to connect until it succeeds or the gate is closed. */
  async start(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      const p = new IdempotentProducer(this.cfg, {
        'message.timeout.ms': Math.max(this.cfg.ingestAckTimeoutMs * 2, 10_000),
      } as ProducerGlobalConfig);
      try {
        await p.connect(5000);
        if (this.closed) {
          await p.disconnect();
          return;
        }
        await ensureTopics(this.cfg, projectTopics(this.cfg)).catch((e: Error) =>
          this.log.warn({ err: e.message }, 'could not create missing topics (create them on the cluster)'),
        );
        this.producer = p;
        this.log.info('kafka producer ready');
        return;
      } catch (e) {
        this.log.warn({ err: (e as Error).message, attempt }, 'kafka not reachable; retrying');
        await sleep(Math.min(500 * 2 ** attempt, 5000));
      }
    }
  }

  /** Sends every message and waits for all acknowledgements, or throws KafkaUnavailableError. */
  async sendAll(topic: string, msgs: Message[]): Promise<void> {
    const p = this.producer;
    if (!p) throw new KafkaUnavailableError('Kafka is not reachable yet');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new KafkaUnavailableError(`Kafka did not acknowledge within ${this.cfg.ingestAckTimeoutMs} ms`),
          ),
        this.cfg.ingestAckTimeoutMs,
      );
    });
    try {
      await Promise.race([p.sendAll(topic, msgs), timeout]);
    } catch (e) {
      if (e instanceof KafkaUnavailableError) throw e;
      throw new KafkaUnavailableError(`Kafka refused the events: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.producer?.disconnect();
  }
}
