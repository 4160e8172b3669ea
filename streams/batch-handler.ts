import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchControl, ConsumedRecord } from '../clients/kafka/consumer.js';
import type { Message } from '../clients/kafka/rdkafka.js';
import type { TopicRole } from '../clients/kafka/topics.js';
import type { Logger } from '../runtime/logger.js';
import { CONTRACTS, type DecodableRole, type DlqKind, decodeRecord } from './decode.js';
import { deadLetter } from './dlq.js';
import type { StreamHealth } from './health.js';
import type { PartitionBatch, ProcessorName, StreamProcessor } from './runtime.js';
import type { StreamMetrics } from './stream-metrics.js';
import { visibleSeconds } from './visibility.js';

/**
 * The steps of one partition batch of a stream process (streams/runtime.ts): decode, dead-letter
 * what fails, write the rest (retrying), observe freshness. Runs for every Kafka batch: no
 * allocation per record beyond the decoded value and its dead letter.
 */

/** What a batch's steps share with the rest of the process. */
export interface StreamContext {
  name: ProcessorName;
  groupId: string;
  processor: StreamProcessor;
  log: Logger;
  m: StreamMetrics;
  /** The processor's child of towerflow_stream_visible_seconds (labels resolved once). */
  visible: { observe(seconds: number): void };
  roleOf: Map<string, TopicRole>;
  dlqTopic: string;
  health: StreamHealth;
}

export interface DeadLetterSink {
  sendAll(topic: string, msgs: Message[]): Promise<unknown>;
}

/** A batch's records sorted by their contract: valid values (with their Kafka timestamps) and dead letters. */
export interface DecodedBatch {
  valid: PartitionBatch['records'];
  validTimestamps: string[];
  dead: Message[];
  deadKinds: Map<DlqKind, number>;
}

export async function handleBatch(
  s: StreamContext,
  dlq: DeadLetterSink,
  records: ConsumedRecord[],
  control: BatchControl,
): Promise<void> {
  const first = records[0];
  if (!first) return;
  const role = s.roleOf.get(first.topic);
  if (!role) throw new Error(`record from unexpected topic ${first.topic}`);
  const labels = { processor: s.name, topic: first.topic };
  s.m.consumed.inc(labels, records.length);
  s.m.batchSize.observe({ processor: s.name }, records.length);
  const d = decodeBatch(s.name, role, records, s.processor.reject?.bind(s.processor));
  if (d.dead.length > 0) await sendDeadLetters(s, dlq, labels, first, d);
  const written = await writeWithRetry(
    s,
    {
      role,
      topic: first.topic,
      partition: first.partition,
      lastOffset: Number(records[records.length - 1]?.offset),
      records: d.valid,
    },
    control,
  );
  s.m.written.inc(labels, written);
  // freshness: each written record is visible in the store from now on
  observeVisible(s.visible, d.validTimestamps, Date.now());
}

export function decodeBatch(
  name: ProcessorName,
  role: TopicRole,
  records: readonly ConsumedRecord[],
  reject?: StreamProcessor['reject'],
): DecodedBatch {
  const valid: PartitionBatch['records'] = [];
  const validTimestamps: string[] = [];
  const dead: Message[] = [];
  const deadKinds = new Map<DlqKind, number>();
  for (const r of records) {
    const d = decodeRecord(role, r);
    const why = d.ok ? reject?.(role, d.value) : undefined;
    if (d.ok && why === undefined) {
      valid.push({ offset: Number(r.offset), value: d.value });
      validTimestamps.push(r.timestamp);
    } else {
      const kind = d.ok ? 'invalid' : d.kind;
      dead.push(deadLetter(name, r, d.ok ? `invalid ${contractName(role)}: ${why}` : d.reason));
      deadKinds.set(kind, (deadKinds.get(kind) ?? 0) + 1);
    }
  }
  return { valid, validTimestamps, dead, deadKinds };
}

/** The name a topic's records go by in a dead letter's reason, as its contract's own reasons say. */
const contractName = (role: TopicRole): string => CONTRACTS[role as DecodableRole]?.name ?? role;

/** Acknowledged by Kafka before the offsets move: a dead letter is never lost. */
async function sendDeadLetters(
  s: StreamContext,
  dlq: DeadLetterSink,
  labels: { processor: ProcessorName; topic: string },
  first: ConsumedRecord,
  d: DecodedBatch,
): Promise<void> {
  await dlq.sendAll(s.dlqTopic, d.dead);
  for (const [reason, n] of d.deadKinds) s.m.dlq.inc({ ...labels, reason }, n);
  s.log.warn(
    { count: d.dead.length, topic: first.topic, partition: first.partition, first: d.dead[0]?.headers },
    'dead-lettered',
  );
}

/**
 * Writes until it succeeds (a store that is down holds the partition, never skips it); gives up
 * by throwing, without a commit, when the consumer stops or a rebalance took the partition away.
 */
export async function writeWithRetry(
  s: StreamContext,
  batch: PartitionBatch,
  control: BatchControl,
): Promise<number> {
  const { name, log, m, health } = s;
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
      const n = await s.processor.write(batch);
      clearInterval(watchdog);
      end();
      health.writeSettled(batch.topic, batch.partition);
      return n;
    } catch (e) {
      clearInterval(watchdog);
      m.errors.inc({ processor: name, kind: 'write' });
      const err = (e as Error).message;
      health.writeFailed(batch.topic, batch.partition, err);
      log.warn({ err, attempt, topic: batch.topic, partition: batch.partition }, 'write failed; retrying');
      // stopping: give up without committing, the batch is re-delivered after restart
      if (!control.isRunning()) {
        health.writeSettled(batch.topic, batch.partition);
        throw e;
      }
      await sleep(Math.min(100 * 2 ** attempt, 5000));
      // a rebalance took the partition away: abandon the batch (no commit), the new owner redoes it
      await control.heartbeat().catch((e: { type?: string }) => {
        if (['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'].includes(e.type ?? '')) {
          health.writeSettled(batch.topic, batch.partition);
          throw e;
        }
      });
    }
  }
}

/** Per written record: seconds from its Kafka timestamp to `now` (records without a usable timestamp are skipped). */
export function observeVisible(
  visible: { observe(seconds: number): void },
  timestamps: readonly string[],
  now: number,
): void {
  for (const t of timestamps) {
    const seconds = visibleSeconds(t, now);
    if (seconds !== undefined) visible.observe(seconds);
  }
}
