import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { RedisSequenceStore } from '../../stores/sequence/redis.js';
import { groupIdOf, type PartitionBatch, type StreamProcessor } from '../runtime.js';

/** behaviour.events → Redis: recent sequence per user, popularity counters, user-vector cache invalidation. */
export function sequenceProcessor(cfg: Config): StreamProcessor {
  const redis = createRedis(cfg);
  const store = new RedisSequenceStore(redis, {
    length: cfg.sequenceLength,
    ttlSeconds: cfg.sequenceTtlSeconds,
  });
  const group = groupIdOf(cfg, 'sequence');
  return {
    name: 'sequence',
    roles: ['behaviour'],
    concurrency: 2,
    setup: () => redis.connect(),
    async write(batch: PartitionBatch) {
      const r = await store.apply(
        { group, topic: batch.topic, partition: batch.partition },
        batch.records.map((x) => ({ offset: x.offset, event: x.value as BehaviourEvent })),
        batch.lastOffset,
      );
      return r.applied;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
