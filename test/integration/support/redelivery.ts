import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import type { KafkaSettings } from '../../../clients/kafka/auth.js';
import { createKafka } from '../../../clients/kafka/kafkajs.js';

// What a kill -9 of a stream processor leaves for its restart to re-deliver. A crash test proves
// "applied once" only if the kill landed after the processor wrote part of a batch and before it
// committed the batch's offsets: these helpers measure that, so a test can insist on it instead
// of hoping a kill at a random moment hit the window.

/** Offsets per partition, both ends included. */
export type OffsetRanges = Map<number, { first: number; last: number }>;

export interface TopicRecord {
  partition: number;
  offset: number;
  value: Buffer;
}

/** Per partition, the next offset the group reads: its commit, or the partition's start without one. */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const out = new Map<number, number>();
  for (const end of await admin.fetchTopicOffsets(topic)) {
    const c = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    out.set(end.partition, c >= 0 ? c : Number(end.low));
  }
  return out;
}

/**
 * The offsets a processor applied past its group's commit: per partition, from the commit up to
 * the fence (the last offset applied, kept in Redis with the data). A restart re-delivers them.
 */
export function beyondCommit(committed: Map<number, number>, fences: Map<number, number>): OffsetRanges {
  const out: OffsetRanges = new Map();
  for (const [partition, next] of committed) {
    const fence = fences.get(partition) ?? -1;
    if (fence >= next) out.set(partition, { first: next, last: fence });
  }
  return out;
}

export const rangeSize = (r: OffsetRanges): number =>
  [...r.values()].reduce((n, { first, last }) => n + Math.max(0, last - first + 1), 0);

/** The records of `ranges`, read by a consumer group of its own (deleted afterwards), in offset order per partition. */
export async function readRanges(
  cfg: KafkaSettings,
  topic: string,
  ranges: OffsetRanges,
  timeoutMs = 60_000,
): Promise<TopicRecord[]> {
  const wanted = [...ranges].filter(([, r]) => r.last >= r.first);
  if (wanted.length === 0) return [];
  const groupId = `${cfg.kafkaClientId}-range-reader-${randomBytes(4).toString('hex')}`;
  const kafka = createKafka(cfg);
  const consumer = kafka.consumer({ groupId });
  const out: TopicRecord[] = [];
  const open = new Set(wanted.map(([p]) => p));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const r = ranges.get(partition);
        const offset = Number(message.offset);
        if (!r || offset < r.first || !open.has(partition)) return;
        if (offset <= r.last && message.value) out.push({ partition, offset, value: message.value });
        if (offset >= r.last) open.delete(partition);
      },
    });
    for (const [partition, r] of wanted) consumer.seek({ topic, partition, offset: String(r.first) });
    const end = Date.now() + timeoutMs;
    while (open.size > 0) {
      if (Date.now() > end)
        throw new Error(
          `partitions ${[...open].join(', ')} of ${topic} not read to their end after ${timeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
