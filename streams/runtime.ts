import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerConfig } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ensureTopics, groupLag } from '../clients/kafka/admin.js';
import { type BatchControl, type ConsumedRecord, startBatchConsumer } from '../clients/kafka/consumer.js';
import { createKafka } from '../clients/kafka/kafkajs.js';
import { IdempotentProducer } from '../clients/kafka/rdkafka.js';
import { projectTopics, type TopicRole, topicNames } from '../clients/kafka/topics.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { createRegistry, serveMetrics } from '../runtime/metrics.js';
import { onShutdown } from '../runtime/shutdown.js';
import { announceTarget } from '../runtime/targets.js';
import { DLQ_KINDS, type DlqKind, decodeRecord } from './decode.js';
import { deadLetter } from './dlq.js';
import { VISIBLE_BUCKETS, visibleSeconds } from './visibility.js';

/** Processor names, in the order that fixes their metrics port (STREAM_METRICS_PORT_BASE + index). */
export const PROCESSOR_NAMES = ['history', 'sequence', 'items', 'embeddings'] as const;
export type ProcessorName = (typeof PROCESSOR_NAMES)[number];

/** One partition's valid records, in offset order. */
export interface PartitionBatch {
  role: TopicRole;
  topic: string;
  partition: number;
  /** Offset of the last record of the Kafka batch (valid or dead-lettered). */
  lastOffset: number;
  records: { offset: number; value: unknown }[];
}

export interface StreamProcessor {
  name: ProcessorName;
  /** Topics consumed, by role. */
  roles: TopicRole[];
  /** Creates tables or loads state; runs before consuming. */
  setup(): Promise<void>;
  /** Writes a batch; must be idempotent (a crash re-delivers everything after the last commit). Returns rows written. */
  write(batch: PartitionBatch): Promise<number>;
  close(): Promise<void>;
  /** Adds the processor's own series to the process's metrics registry. */
  registerMetrics?(registry: Registry): void;
  /** Fetch settings of its consumer (e.g. how long the broker may hold a fetch to fill a batch). */
  consumer?: Pick<ConsumerConfig, 'maxWaitTimeInMs' | 'minBytes' | 'maxBytesPerPartition'>;
}

export const groupIdOf = (cfg: Pick<Config, 'kafkaClientId'>, name: ProcessorName): string =>
  `${cfg.kafkaClientId}-${name}`;

function streamMetrics(name: ProcessorName) {
  const registry = createRegistry(`stream-${name}`);
  const labels = ['processor', 'topic'] as const;
  return {
    registry,
    consumed: new Counter({
      name: 'towerflow_stream_consumed_total',
      help: 'Records consumed',
      labelNames: labels,
      registers: [registry],
    }),
    written: new Counter({
      name: 'towerflow_stream_written_total',
      help: 'Records written to the stores',
      labelNames: labels,
      registers: [registry],
    }),
    dlq: new Counter({
      name: 'towerflow_stream_dlq_total',
      help: 'Records sent to the dead-letter topic, by reason (no_contract, empty, not_json, invalid)',
      labelNames: [...labels, 'reason'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'towerflow_stream_errors_total',
      help: 'Failed store writes (retried) and other errors',
      labelNames: ['processor', 'kind'],
      registers: [registry],
    }),
    writeSeconds: new Histogram({
      name: 'towerflow_stream_batch_write_seconds',
      help: 'Store write time per partition batch',
      labelNames: ['processor'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'towerflow_stream_batch_records',
      help: 'Records per partition batch',
      labelNames: ['processor'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    visible: new Histogram({
      name: 'towerflow_stream_visible_seconds',
      help: 'Per record: from its Kafka timestamp (sent by the ingest API) to its batch written (freshness SLI)',
      labelNames: ['processor'],
      buckets: VISIBLE_BUCKETS,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'towerflow_stream_consumer_lag',
      help: 'Records not yet committed by the group, per partition',
      labelNames: ['processor', 'topic', 'partition'],
      registers: [registry],
    }),
  };
}

/**
 * Runs a processor as a consumer-group member until SIGTERM/SIGINT: decodes each record with its
 * topic's contract, dead-letters what fails (with the reason and source offset) and goes on,
 * writes the rest (retrying while a store is down, never skipping), then commits.
 */
export async function runStream(cfg: Config, processor: StreamProcessor, log: Logger): Promise<void> {
  const name = processor.name;
  const names = topicNames(cfg);
  const roleOf = new Map(processor.roles.map((r) => [names[r], r]));
  const groupId = groupIdOf(cfg, name);
  const m = streamMetrics(name);
  const visible = m.visible.labels({ processor: name });
  processor.registerMetrics?.(m.registry);
  let healthy = true;
  let lastError: string | undefined;

  await ensureTopics(cfg, projectTopics(cfg)).catch((e: Error) =>
    log.warn({ err: e.message }, 'could not create missing topics (create them on the cluster)'),
  );
  await processor.setup();
  // series exist from the start (at 0), so dashboards and alerts see "none" rather than "no data"
  m.errors.inc({ processor: name, kind: 'write' }, 0);
  for (const topic of roleOf.keys()) {
    for (const reason of DLQ_KINDS) m.dlq.inc({ processor: name, topic, reason }, 0);
    m.consumed.inc({ processor: name, topic }, 0);
    m.written.inc({ processor: name, topic }, 0);
  }
  const dlqProducer = new IdempotentProducer(cfg);
  await dlqProducer.connect();

  async function writeWithRetry(batch: PartitionBatch, control: BatchControl): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const end = m.writeSeconds.startTimer({ processor: name });
      const started = Date.now();
      // a write that never settles would hold the partition silently: say so while it runs
      const watchdog = setInterval(
        () =>
          log.warn(
            {
              seconds: Math.round((Date.now() - started) / 1000),
              topic: batch.topic,
              partition: batch.partition,
            },
            'write still running',
          ),
        15_000,
      );
      try {
        const n = await processor.write(batch);
        clearInterval(watchdog);
        end();
        healthy = true;
        return n;
      } catch (e) {
        clearInterval(watchdog);
        m.errors.inc({ processor: name, kind: 'write' });
        lastError = (e as Error).message;
        healthy = false;
        log.warn(
          { err: lastError, attempt, topic: batch.topic, partition: batch.partition },
          'write failed; retrying',
        );
        // stopping: give up without committing, the batch is re-delivered after restart
        if (!control.isRunning()) throw e;
        await sleep(Math.min(100 * 2 ** attempt, 5000));
        // a rebalance took the partition away: abandon the batch (no commit), the new owner redoes it
        await control.heartbeat().catch((e: { type?: string }) => {
          if (['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'].includes(e.type ?? ''))
            throw e;
        });
      }
    }
  }

  async function handle(records: ConsumedRecord[], control: BatchControl): Promise<void> {
    const first = records[0];
    if (!first) return;
    const role = roleOf.get(first.topic);
    if (!role) throw new Error(`record from unexpected topic ${first.topic}`);
    const labels = { processor: name, topic: first.topic };
    m.consumed.inc(labels, records.length);
    m.batchSize.observe({ processor: name }, records.length);
    const valid: PartitionBatch['records'] = [];
    const validTimestamps: string[] = [];
    const dead = [];
    const deadKinds = new Map<DlqKind, number>();
    for (const r of records) {
      const d = decodeRecord(role, r);
      if (d.ok) {
        valid.push({ offset: Number(r.offset), value: d.value });
        validTimestamps.push(r.timestamp);
      } else {
        dead.push(deadLetter(name, r, d.reason));
        deadKinds.set(d.kind, (deadKinds.get(d.kind) ?? 0) + 1);
      }
    }
    if (dead.length > 0) {
      // acknowledged by Kafka before the offsets move: a dead letter is never lost
      await dlqProducer.sendAll(names.dlq, dead);
      for (const [reason, n] of deadKinds) m.dlq.inc({ ...labels, reason }, n);
      log.warn(
        { count: dead.length, topic: first.topic, partition: first.partition, first: dead[0]?.headers },
        'dead-lettered',
      );
    }
    const written = await writeWithRetry(
      {
        role,
        topic: first.topic,
        partition: first.partition,
        lastOffset: Number(records[records.length - 1]?.offset),
        records: valid,
      },
      control,
    );
    m.written.inc(labels, written);
    // freshness: each written record is visible in the store from now on
    const now = Date.now();
    for (const t of validTimestamps) {
      const seconds = visibleSeconds(t, now);
      if (seconds !== undefined) visible.observe(seconds);
    }
  }

  // metrics from before the group join, so a backlog's first seconds are visible too; healthy
  // only once the consumer runs
  let consuming = false;
  const port = cfg.streamMetricsPortBase + PROCESSOR_NAMES.indexOf(name);
  const server = await serveMetrics(m.registry, cfg.bindHost, port, () => ({
    ok: healthy && consuming,
    consuming,
    processor: name,
    groupId,
    lastError,
  }));
  const consumer = await startBatchConsumer(cfg, {
    groupId,
    topics: [...roleOf.keys()],
    handle,
    consumer: processor.consumer ?? {},
    partitionsConsumedConcurrently: cfg.streamConcurrency,
    instrument: (c) => {
      c.on(c.events.GROUP_JOIN, (ev) =>
        log.info(
          { memberId: ev.payload.memberId, assigned: ev.payload.memberAssignment, ms: ev.payload.duration },
          'joined the group',
        ),
      );
      c.on(c.events.REBALANCING, () => log.info('group rebalancing'));
    },
  }).catch(async (e) => {
    // no process left listening with nothing behind it
    await server.close();
    throw e;
  });
  consumer.consumer.on(consumer.consumer.events.CRASH, (ev) => {
    healthy = false;
    lastError = String(ev.payload.error);
    log.error({ err: lastError }, 'consumer crashed');
  });

  // Lag from the group's committed offsets against each partition's end, also while idle.
  const admin = createKafka(cfg).admin();
  await admin.connect();
  const pollLag = async () => {
    for (const topic of roleOf.keys())
      for (const [partition, lag] of await groupLag(admin, groupId, topic))
        m.lag.set({ processor: name, topic, partition: String(partition) }, lag);
  };
  const lagTimer = setInterval(
    () => pollLag().catch((e) => log.debug({ err: e.message }, 'lag poll failed')),
    2000,
  );

  consuming = true;
  const withdraw = announceTarget(cfg, `stream-${name}`, `${cfg.bindHost}:${port}`);
  log.info(
    { groupId, topics: [...roleOf.keys()], metrics: `http://${cfg.bindHost}:${port}/metrics` },
    'consuming',
  );

  onShutdown(log, async () => {
    clearInterval(lagTimer);
    await consumer.stop(); // finishes and commits the batch in hand
    await admin.disconnect().catch(() => {});
    await dlqProducer.disconnect();
    await processor.close();
    withdraw();
    await server.close();
  });
}
