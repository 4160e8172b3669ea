import type { ConsumedRecord } from '../clients/kafka/consumer.js';
import type { Message } from '../clients/kafka/rdkafka.js';

/** What a dead letter carries: why, where it came from, and the original bytes. */
export interface DeadLetter {
  reason: string;
  processor: string;
  source: { topic: string; partition: number; offset: string; timestamp: string; key: string | null };
  /** The original value as UTF-8 text, or base64 when it is not valid UTF-8. */
  payload: string;
  payload_encoding: 'utf8' | 'base64';
  at: string;
}

export function deadLetter(processor: string, record: ConsumedRecord, reason: string): Message {
  const raw = record.value ?? Buffer.alloc(0);
  const text = raw.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(raw);
  const letter: DeadLetter = {
    reason,
    processor,
    source: {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      key: record.key,
    },
    payload: utf8 ? text : raw.toString('base64'),
    payload_encoding: utf8 ? 'utf8' : 'base64',
    at: new Date().toISOString(),
  };
  // keyed by source position: every processor of a topic dead-letters the same record once,
  // and a reader can de-duplicate on the key
  return {
    key: `${record.topic}:${record.partition}:${record.offset}`,
    value: JSON.stringify(letter),
    headers: { 'x-dlq-reason': reason.slice(0, 200), 'x-dlq-processor': processor },
  };
}
