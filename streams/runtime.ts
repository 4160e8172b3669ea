import type { ConsumerConfig } from 'kafkajs';
import type { Registry } from 'prom-client';
import { ensureTopics, groupLag } from '../clients/kafka/admin.js';
import { type BatchControl, type ConsumedRecord, startBatchConsumer } from '../clients/kafka/consumer.js';
import { createKafka } from '../clients/kafka/kafkajs.js';
import { IdempotentProducer } from '../clients/kafka/rdkafka.js';
import { projectTopics, type TopicRole, topicNames } from '../clients/kafka/topics.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { serveMetrics } from '../runtime/metrics.js';
import { onShutdown } from '../runtime/shutdown.js';
import { announceTarget } from '../runtime/targets.js';
import { handleBatch, type StreamContext } from './batch-handler.js';
import { StreamHealth } from './health.js';
import { streamMetrics, zeroSeries } from './stream-metrics.js';

/** Processor names, in the order that fixes their metrics port (STREAM_METRICS_PORT_BASE + index). */
export const PROCESSOR_NAMES = ['history', 'sequence', 'items', 'embeddings', 'experiments'] as const;
export type ProcessorName = (typeof PROCESSOR_NAMES)[number];

/**
 * The topics (by role) each processor's consumer group reads. Its instances share these topics'
 * partitions, so their total is how many instances can each hold one (infra/local/apps.ts).
 */
export const PROCESSOR_ROLES: Readonly<Record<ProcessorName, readonly TopicRole[]>> = {
  history: ['behaviour'],
  sequence: ['behaviour'],
  items: ['items', 'users'],
  embeddings: ['behaviour'],
  experiments: ['exposures', 'behaviour'],
};

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
  /** Topics consumed, by role (PROCESSOR_ROLES of its name). */
  roles: readonly TopicRole[];
  /**
   * Why a record its topic's contract accepts still cannot be used (a rule across fields the
   * contract does not state): dead-lettered as `invalid` with this reason. Undefined: usable.
   */
  reject?(role: TopicRole, value: unknown): string | undefined;
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

/**
 * Runs a processor as a consumer-group member until SIGTERM/SIGINT: decodes each record with its
 * topic's contract, dead-letters what fails (with the reason and source offset) and goes on,
 * writes the rest (retrying while a store is down, never skipping), then commits
 * (streams/batch-handler.ts).
 */
export async function runStream(cfg: Config, processor: StreamProcessor, log: Logger): Promise<void> {
  const s = streamContext(cfg, processor, log);
  await prepare(cfg, s);
  const dlqProducer = new IdempotentProducer(cfg);
  await dlqProducer.connect();
  // metrics from before the group join, so a backlog's first seconds are visible too; ready
  // only once the consumer has joined its group
  const port = cfg.streamMetricsPortBase + PROCESSOR_NAMES.indexOf(s.name);
  const server = await serveHealth(cfg, s, port);
  // announced as soon as it answers, so Prometheus sees the join and the backlog's first seconds,
  // and the target exists by the time /readyz says 200
  const withdraw = announceTarget(cfg, `stream-${s.name}`, `${cfg.bindHost}:${port}`);
  const consumer = await joinGroup(cfg, s, (records, control) =>
    handleBatch(s, dlqProducer, records, control),
  ).catch(async (e) => {
    // no process left listening (or announced) with nothing behind it
    withdraw();
    await server.close();
    throw e;
  });
  const lag = await pollLag(cfg, s);
  log.info(
    {
      groupId: s.groupId,
      topics: [...s.roleOf.keys()],
      metrics: `http://${cfg.bindHost}:${port}/metrics`,
    },
    'consuming',
  );
  onShutdown(log, async () => {
    clearInterval(lag.timer);
    await consumer.stop(); // finishes and commits the batch in hand
    await lag.admin.disconnect().catch(() => {});
    await dlqProducer.disconnect();
    await processor.close();
    withdraw();
    await server.close();
  });
}

/** The process's metrics (with the processor's own series), its topics by name, and its health. */
function streamContext(cfg: Config, processor: StreamProcessor, log: Logger): StreamContext {
  const name = processor.name;
  const names = topicNames(cfg);
  const m = streamMetrics(name);
  processor.registerMetrics?.(m.registry);
  return {
    name,
    groupId: groupIdOf(cfg, name),
    processor,
    log,
    m,
    visible: m.visible.labels({ processor: name }),
    roleOf: new Map(processor.roles.map((r) => [names[r], r])),
    dlqTopic: names.dlq,
    health: new StreamHealth(),
  };
}

/** Topics created if missing (a warning otherwise), the processor's tables or state, series at 0. */
async function prepare(cfg: Config, s: StreamContext): Promise<void> {
  await ensureTopics(cfg, projectTopics(cfg)).catch((e: Error) =>
    s.log.warn({ err: e.message }, 'could not create missing topics (create them on the cluster)'),
  );
  await s.processor.setup();
  zeroSeries(s.m, s.name, s.roleOf.keys());
}

function serveHealth(cfg: Config, s: StreamContext, port: number) {
  return serveMetrics(s.m.registry, cfg.bindHost, port, () => ({
    ...s.health.report(),
    processor: s.name,
    groupId: s.groupId,
  }));
}

/**
 * Joins the processor's group. Its events keep the health present: a join or a fetch after a
 * broker error clears it (an idle topic fetches too, without batches); a crash without restart
 * ends liveness.
 */
async function joinGroup(
  cfg: Config,
  s: StreamContext,
  handle: (records: ConsumedRecord[], control: BatchControl) => Promise<void>,
) {
  const { log, health } = s;
  return startBatchConsumer(cfg, {
    groupId: s.groupId,
    topics: [...s.roleOf.keys()],
    handle,
    consumer: s.processor.consumer ?? {},
    partitionsConsumedConcurrently: cfg.streamConcurrency,
    instrument: (c) => {
      c.on(c.events.GROUP_JOIN, (ev) => {
        const assigned = ev.payload.memberAssignment;
        health.on({ type: 'joined', partitions: Object.values(assigned).flat().length });
        log.info({ memberId: ev.payload.memberId, assigned, ms: ev.payload.duration }, 'joined the group');
      });
      c.on(c.events.FETCH, () => health.on({ type: 'fetched' }));
      c.on(c.events.REBALANCING, () => {
        health.on({ type: 'rebalancing' });
        log.info('group rebalancing');
      });
      c.on(c.events.CRASH, (ev) => {
        const error = String(ev.payload.error);
        health.on({ type: 'crashed', error, restart: ev.payload.restart });
        log.error({ err: error, restart: ev.payload.restart }, 'consumer crashed');
      });
    },
  });
}

/** Lag from the group's committed offsets against each partition's end, every 2 s, also while idle. */
async function pollLag(cfg: Config, s: StreamContext) {
  const admin = createKafka(cfg).admin();
  await admin.connect();
  const poll = async () => {
    for (const topic of s.roleOf.keys())
      for (const [partition, lag] of await groupLag(admin, s.groupId, topic))
        s.m.lag.set({ processor: s.name, topic, partition: String(partition) }, lag);
  };
  const timer = setInterval(
    () => poll().catch((e) => s.log.debug({ err: e.message }, 'lag poll failed')),
    2000,
  );
  return { admin, timer };
}
