import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../../clients/redis.js';
import { IsolatedStack } from '../../../../infra/local/isolated-stack.js';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import { latestN } from '../../../../stores/order.js';
import { RedisSequenceStore } from '../../../../stores/sequence/redis.js';

// The kafka drill's missing sequence events without killing the broker: a producer posts the
// same batch again (its retry after a 503 or a timeout whose first post did land), so the log
// holds copies at new offsets, and a sequence processor behind the log reads them in one Kafka
// batch. The Redis database and ports are the chaos command's (no test runs it).
describe('sequence processor reading a producer’s retried posts in one batch (real Kafka, Redis)', () => {
  const LENGTH = 5;
  const stack = new IsolatedStack({
    redisDb: 4,
    portOffset: 60,
    extraEnv: { SEQUENCE_LENGTH: String(LENGTH) },
  });
  const redis = createRedis(stack.cfg);
  const store = new RedisSequenceStore(redis, { length: LENGTH, ttlSeconds: 60 });

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    await stack.up(['ingest']);
  });
  afterAll(async () => {
    await stack.close();
    await redis.quit();
  });

  it('keeps each user’s latest distinct events, as HBase’s tail would be', async () => {
    const users = ['ann', 'ben'];
    const events: BehaviourEvent[] = Array.from({ length: 16 }, (_, i) => ({
      event_id: `copy-${i}`,
      user_id: users[i % 2] as string,
      item_id: `i${i}`,
      type: 'click',
      ts: 1_700_000_000_000 + i * 1000,
    }));
    for (let k = 0; k < 3; k++)
      expect((await stack.post('/v1/events', { events })).body).toEqual({ accepted: events.length });
    expect(await stack.topicSize(stack.topics.behaviour)).toBe(3 * events.length);
    // started only now: its first fetch holds the whole backlog, the three copies together
    await stack.up(['stream-sequence']);
    await stack.waitForZeroLag(['sequence']);
    for (const u of users) {
      const expected = latestN(
        events.filter((e) => e.user_id === u),
        LENGTH,
      ).map((e) => e.event_id);
      expect({ u, held: (await store.recent(u)).map((e) => e.event_id) }).toEqual({ u, held: expected });
    }
  });
});
