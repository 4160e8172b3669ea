import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics, projectTopics, topicNames } from '../../../clients/kafka/admin.js';
import { type ConsumedRecord, startBatchConsumer } from '../../../clients/kafka/consumer.js';
import { createKafka } from '../../../clients/kafka/kafkajs.js';
import { IdempotentProducer } from '../../../clients/kafka/rdkafka.js';
import { loadConfig } from '../../../config/index.js';

const cfg = loadConfig();

async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kafka (real broker)', () => {
  const admin = createKafka(cfg).admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it('has the project topics with the configured partition counts', async () => {
    await ensureTopics(cfg, projectTopics(cfg));
    const t = topicNames(cfg);
    const meta = await admin.fetchTopicMetadata({ topics: [t.behaviour, t.dlq, t.items, t.users] });
    const parts = Object.fromEntries(meta.topics.map((m) => [m.name, m.partitions.length]));
    expect(parts).toEqual({
      [t.behaviour]: cfg.topicBehaviourPartitions,
      [t.dlq]: cfg.topicDlqPartitions,
      [t.items]: cfg.topicItemPartitions,
      [t.users]: cfg.topicUserPartitions,
    });
    // idempotent: a second call creates nothing
    expect(await ensureTopics(cfg, projectTopics(cfg))).toEqual([]);
  });

  it('rdkafka and kafkajs put a key on the same partition (murmur2)', async () => {
    const topic = `test.partitioner.${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const rd = new IdempotentProducer(cfg);
    await rd.connect();
    const js = createKafka(cfg).producer({ idempotent: true, maxInFlightRequests: 1 });
    await js.connect();
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    for (const key of keys) await rd.send(topic, { key, value: 'rd' });
    await js.send({ topic, acks: -1, messages: keys.map((key) => ({ key, value: 'js' })) });
    await rd.disconnect();
    await js.disconnect();

    const seen = new Map<string, Set<number>>();
    const c = await startBatchConsumer(cfg, {
      groupId: `test-${randomUUID()}`,
      topics: [topic],
      handle: async (recs) => {
        for (const r of recs) {
          const s = seen.get(r.key ?? '') ?? new Set<number>();
          s.add(r.partition);
          seen.set(r.key ?? '', s);
        }
      },
    });
    let total = 0;
    await waitFor(() => {
      total = [...seen.values()].length;
      return total === keys.length;
    });
    await c.stop();
    for (const key of keys) expect(seen.get(key)?.size, key).toBe(1);
    await admin.deleteTopics({ topics: [topic] });
  });

  it('resumes a consumer group exactly from its committed offsets after a restart', async () => {
    const topic = `test.resume.${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = new IdempotentProducer(cfg);
    await producer.connect();
    const N = 3000;
    await producer.sendAll(
      topic,
      Array.from({ length: N }, (_, i) => ({ key: `k${i % 97}`, value: JSON.stringify({ i }) })),
    );
    await producer.disconnect();

    const groupId = `test-resume-${randomUUID()}`;
    const first: ConsumedRecord[] = [];
    let failNext = false;
    // Phase 1: process and commit about a third, then a handler failure leaves one batch uncommitted.
    const c1 = await startBatchConsumer(cfg, {
      groupId,
      topics: [topic],
      consumer: { maxBytesPerPartition: 4096 },
      handle: async (recs) => {
        if (failNext) throw new Error('simulated crash before commit');
        first.push(...recs);
        if (first.length >= N / 3) failNext = true;
      },
    });
    await waitFor(() => failNext);
    await c1.stop();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committedTotal =
      committed[0]?.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0) ?? 0;
    expect(committedTotal).toBe(first.length);

    // Phase 2: same group; must start exactly at the committed offsets and see the rest.
    const second: ConsumedRecord[] = [];
    const c2 = await startBatchConsumer(cfg, {
      groupId,
      topics: [topic],
      handle: async (recs) => {
        second.push(...recs);
      },
    });
    await waitFor(() => first.length + second.length >= N);
    await c2.stop();
    const ids = [...first, ...second].map((r) => JSON.parse(String(r.value)).i as number);
    expect(ids.length).toBe(N);
    expect(new Set(ids).size).toBe(N);
    await admin.deleteTopics({ topics: [topic] });
  });
});
