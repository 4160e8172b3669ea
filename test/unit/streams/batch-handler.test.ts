import { pino } from 'pino';
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { BatchControl, ConsumedRecord } from '../../../clients/kafka/consumer.js';
import type { Message } from '../../../clients/kafka/rdkafka.js';
import {
  decodeBatch,
  handleBatch,
  observeVisible,
  type StreamContext,
  writeWithRetry,
} from '../../../streams/batch-handler.js';
import { StreamHealth } from '../../../streams/health.js';
import type { PartitionBatch, StreamProcessor } from '../../../streams/runtime.js';
import { streamMetrics, zeroSeries } from '../../../streams/stream-metrics.js';

const TOPIC = 'behaviour.events';
const event = (i: number) =>
  JSON.stringify({ event_id: `e${i}`, user_id: 'u1', item_id: `i${i}`, type: 'view', ts: 1_700_000_000_000 });

const record = (offset: number, value: string | null, timestamp = '1000'): ConsumedRecord => ({
  topic: TOPIC,
  partition: 3,
  offset: String(offset),
  key: 'u1',
  value: value === null ? null : Buffer.from(value, 'utf8'),
  timestamp,
  headers: {},
});

/** A processor whose write fails `failures` times, then returns the number of records. */
function fakeProcessor(failures = 0) {
  const batches: PartitionBatch[] = [];
  let left = failures;
  const processor: StreamProcessor = {
    name: 'history',
    roles: ['behaviour'],
    setup: async () => {},
    close: async () => {},
    write: async (b) => {
      batches.push(b);
      if (left-- > 0) throw new Error(`store down ${left}`);
      return b.records.length;
    },
  };
  return { processor, batches };
}

function context(processor: StreamProcessor): StreamContext & { observed: number[] } {
  const m = streamMetrics('history');
  const observed: number[] = [];
  return {
    name: 'history',
    groupId: 'g',
    processor,
    log: pino({ level: 'silent' }),
    m,
    visible: { observe: (s) => observed.push(s) },
    roleOf: new Map([[TOPIC, 'behaviour']]),
    dlqTopic: 'dlq.topic',
    health: joinedHealth(),
    observed,
  };
}

/** A process whose consumer joined with one partition: ready until a write fails. */
function joinedHealth(): StreamHealth {
  const h = new StreamHealth();
  h.on({ type: 'joined', partitions: 1 });
  return h;
}

const running: BatchControl = { isRunning: () => true, heartbeat: async () => {} };

async function sampleOf(c: Counter, labels: Record<string, string>): Promise<number | undefined> {
  const { values } = await c.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('stream batch: decode', () => {
  it('keeps valid records with their offsets and timestamps, and dead-letters the rest by kind', () => {
    const d = decodeBatch('history', 'behaviour', [
      record(10, event(1), '111'),
      record(11, null),
      record(12, '{"event_id": '),
      record(13, event(2), '222'),
      record(14, '{"event_id": "x"}'),
      record(15, ''),
    ]);
    expect(d.valid.map((v) => v.offset)).toEqual([10, 13]);
    expect(d.validTimestamps).toEqual(['111', '222']);
    expect(d.dead).toHaveLength(4);
    expect(d.deadKinds).toEqual(
      new Map([
        ['empty', 2],
        ['not_json', 1],
        ['invalid', 1],
      ]),
    );
  });
});

describe('stream batch: a processor’s own rule', () => {
  it('dead-letters a record the contract accepts but the processor rejects, with its reason', () => {
    const d = decodeBatch(
      'history',
      'behaviour',
      [record(20, event(1)), record(21, event(2))],
      (role, value) =>
        role === 'behaviour' && (value as { item_id: string }).item_id === 'i2'
          ? 'item i2 is not wanted'
          : undefined,
    );
    expect(d.valid.map((v) => v.offset)).toEqual([20]);
    expect(d.deadKinds).toEqual(new Map([['invalid', 1]]));
    const letter = JSON.parse(String(d.dead[0]?.value)) as { reason: string; source: { offset: string } };
    expect(letter.reason).toBe('invalid behaviour event: item i2 is not wanted');
    expect(letter.source.offset).toBe('21');
  });
});

describe('stream batch: handle', () => {
  it('counts, dead-letters, writes the valid records up to the batch end and observes their freshness', async () => {
    const { processor, batches } = fakeProcessor();
    const s = context(processor);
    const sent: [string, Message[]][] = [];
    const dlq = { sendAll: async (topic: string, msgs: Message[]) => sent.push([topic, msgs]) };
    const now = Date.now();
    await handleBatch(
      s,
      dlq,
      [record(5, event(1), String(now - 2000)), record(6, event(2), '-1'), record(7, 'nope')],
      running,
    );
    expect(sent.map(([t, msgs]) => [t, msgs.length])).toEqual([['dlq.topic', 1]]);
    expect(batches).toEqual([
      {
        role: 'behaviour',
        topic: TOPIC,
        partition: 3,
        lastOffset: 7,
        records: [
          { offset: 5, value: expect.objectContaining({ event_id: 'e1' }) },
          { offset: 6, value: expect.objectContaining({ event_id: 'e2' }) },
        ],
      },
    ]);
    const labels = { processor: 'history', topic: TOPIC };
    expect(await sampleOf(s.m.consumed, labels)).toBe(3);
    expect(await sampleOf(s.m.written, labels)).toBe(2);
    expect(await sampleOf(s.m.dlq, { ...labels, reason: 'not_json' })).toBe(1);
    // the record stamped -1 has no usable timestamp
    expect(s.observed).toHaveLength(1);
    expect(s.observed[0]).toBeGreaterThanOrEqual(2);
    expect(s.observed[0]).toBeLessThan(60);
  });

  it('ignores an empty batch and refuses a record of a topic it does not consume', async () => {
    const { processor, batches } = fakeProcessor();
    const s = context(processor);
    const dlq = { sendAll: async () => [] };
    await handleBatch(s, dlq, [], running);
    expect(batches).toEqual([]);
    await expect(handleBatch(s, dlq, [{ ...record(1, event(1)), topic: 'other' }], running)).rejects.toThrow(
      'record from unexpected topic other',
    );
  });
});

describe('stream batch: write with retry', () => {
  const batch = (): PartitionBatch => ({
    role: 'behaviour',
    topic: TOPIC,
    partition: 0,
    lastOffset: 1,
    records: [],
  });

  it('retries a failed write until it succeeds, not ready meanwhile, counting each failure', async () => {
    const { processor, batches } = fakeProcessor(2);
    const s = context(processor);
    const health: boolean[] = [];
    let beats = 0;
    const n = await writeWithRetry(s, batch(), {
      isRunning: () => {
        health.push(s.health.report().ready);
        return true;
      },
      heartbeat: async () => {
        beats++;
      },
    });
    expect(n).toBe(0);
    expect(batches).toHaveLength(3);
    expect(beats).toBe(2);
    expect(health).toEqual([false, false]);
    expect(s.health.report()).toMatchObject({ ready: true, errors: [] });
    expect(await sampleOf(s.m.errors, { processor: 'history', kind: 'write' })).toBe(2);
  });

  it('gives up (throws, no retry) when the consumer is stopping', async () => {
    const { processor, batches } = fakeProcessor(5);
    const s = context(processor);
    await expect(
      writeWithRetry(s, batch(), { isRunning: () => false, heartbeat: async () => {} }),
    ).rejects.toThrow('store down 4');
    expect(batches).toHaveLength(1);
    // the write is no longer in progress: its error is not a present condition any more
    expect(s.health.report().errors).toEqual([]);
  });

  it('abandons the batch when a rebalance took the partition, and goes on after another heartbeat error', async () => {
    const rebalance = Object.assign(new Error('rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    const other = Object.assign(new Error('timeout'), { type: 'REQUEST_TIMED_OUT' });
    const abandoned = fakeProcessor(5);
    await expect(
      writeWithRetry(context(abandoned.processor), batch(), {
        isRunning: () => true,
        heartbeat: () => Promise.reject(rebalance),
      }),
    ).rejects.toBe(rebalance);
    expect(abandoned.batches).toHaveLength(1);
    const kept = fakeProcessor(1);
    const n = await writeWithRetry(context(kept.processor), batch(), {
      isRunning: () => true,
      heartbeat: () => Promise.reject(other),
    });
    expect(n).toBe(0);
    expect(kept.batches).toHaveLength(2);
  });
});

describe('stream batch: freshness and series', () => {
  it('observes seconds from each usable timestamp to now', () => {
    const seen: number[] = [];
    observeVisible({ observe: (x) => seen.push(x) }, ['1000', '', 'x', '-1', '9000', '12000'], 10_000);
    expect(seen).toEqual([9, 1, 0]);
  });

  it('creates every series of the processor at 0 before the first batch', async () => {
    const m = streamMetrics('sequence');
    zeroSeries(m, 'sequence', ['a', 'b']);
    const labels = (c: Counter) => c.get().then((g) => g.values.map((v) => [v.labels, v.value]));
    expect(await labels(m.errors)).toEqual([[{ processor: 'sequence', kind: 'write' }, 0]]);
    expect(await labels(m.consumed)).toEqual([
      [{ processor: 'sequence', topic: 'a' }, 0],
      [{ processor: 'sequence', topic: 'b' }, 0],
    ]);
    expect((await m.dlq.get()).values).toHaveLength(8);
    expect((await m.written.get()).values.every((v) => v.value === 0)).toBe(true);
  });
});
