import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { RedisSequenceStore } from '../../stores/sequence/redis.js';
import type { PartitionBatch, StreamProcessor } from '../runtime.js';

/** behaviour.events → Redis: each user's recent sequence, and invalidation of their cached user vector. */
export function sequenceProcessor(cfg: Config): StreamProcessor {
  const redis = createRedis(cfg);
  const store = new RedisSequenceStore(redis, {
    length: cfg.sequenceLength,
    ttlSeconds: cfg.sequenceTtlSeconds,
  });
  return {
    name: 'sequence',
    roles: ['behaviour'],
    setup: () => redis.connect(),
    async write(batch: PartitionBatch) {
      await store.apply(batch.records.map((x) => x.value as BehaviourEvent));
      return batch.records.length;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
