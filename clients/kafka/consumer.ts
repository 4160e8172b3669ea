import type { Consumer, ConsumerConfig, IHeaders } from 'kafkajs';
import type { Config } from '../../config/index.js';
import type { KafkaSettings } from './auth.js';
import { createKafka } from './kafkajs.js';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  timestamp: string;
  headers: IHeaders;
}

/** Lets a long handler (e.g. retrying a write while a store is down) stay in the group and notice a stop. */
export interface BatchControl {
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping: a handler still retrying should give up (throw). */
  isRunning(): boolean;
}

export interface BatchConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /**
   * Handles one partition's batch. The batch's offsets are committed only after this resolves,
   * so a crash re-delivers it (handlers must be idempotent); a throw stops the consumer.
   */
  handle: (records: ConsumedRecord[], control: BatchControl) => Promise<void>;
  consumer?: Partial<ConsumerConfig>;
  /** Partitions handled at once; each partition's batches stay in order. */
  partitionsConsumedConcurrently?: number;
  /** Called before the consumer joins its group, e.g. to listen to its instrumentation events. */
  instrument?: (consumer: Consumer) => void;
}

export interface RunningConsumer {
  consumer: Consumer;
  /** Finishes the batch in hand, commits it, leaves the group. */
  stop(): Promise<void>;
}

/** A consumer-group member with manual commits after each processed batch (at-least-once). */
export async function startBatchConsumer(
  cfg: KafkaSettings & Pick<Config, 'kafkaSessionTimeoutMs'>,
  opts: BatchConsumerOptions,
): Promise<RunningConsumer> {
  const consumer = createKafka(cfg).consumer({
    groupId: opts.groupId,
    sessionTimeout: cfg.kafkaSessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(cfg.kafkaSessionTimeoutMs / 10)),
    maxBytesPerPartition: 4 << 20,
    maxWaitTimeInMs: 100,
    ...opts.consumer,
  });
  opts.instrument?.(consumer);
  await consumer.connect();
  for (const topic of opts.topics)
    await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const records: ConsumedRecord[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ? m.key.toString() : null,
        value: m.value,
        timestamp: m.timestamp,
        headers: m.headers ?? {},
      }));
      await opts.handle(records, { heartbeat, isRunning: () => isRunning() && !isStale() });
      const last = records[records.length - 1]?.offset ?? batch.lastOffset();
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [
          {
            topic: batch.topic,
            partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }],
          },
        ],
      });
      await heartbeat();
    },
  });
  return {
    consumer,
    stop: () => consumer.disconnect(),
  };
}
