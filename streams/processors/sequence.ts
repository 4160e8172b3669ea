import { Counter, Histogram, type Registry } from 'prom-client';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { RedisAnswerStore } from '../../stores/answers/redis.js';
import { seenSettings } from '../../stores/seen/index.js';
import { RedisSeenStore } from '../../stores/seen/redis.js';
import { RedisSequenceStore } from '../../stores/sequence/redis.js';
import { attribute } from '../online-hits.js';
import { type PartitionBatch, PROCESSOR_ROLES, type StreamProcessor } from '../runtime.js';

/** Ranks the online hit-rate histogram resolves: HR@K online for these K. */
const RANK_BUCKETS = [1, 5, 10, 20, 50, 100, 200, 500];

/**
 * behaviour.events → Redis: each user's recent sequence (and invalidation of their cached user
 * vector), their seen set (what recall leaves out), and the online hit rate: each event against
 * the last recall answer the user got within ONLINE_WINDOW_SECONDS.
 */
export function sequenceProcessor(cfg: Config): StreamProcessor {
  const redis = createRedis(cfg);
  const store = new RedisSequenceStore(redis, {
    length: cfg.sequenceLength,
    ttlSeconds: cfg.sequenceTtlSeconds,
  });
  const seen = new RedisSeenStore(redis, seenSettings(cfg));
  const answers = new RedisAnswerStore(redis, {
    windowSeconds: cfg.onlineWindowSeconds,
    items: cfg.onlineAnswerItems,
  });
  let online: ReturnType<typeof onlineMetrics> | undefined;
  return {
    name: 'sequence',
    roles: PROCESSOR_ROLES.sequence,
    setup: () => redis.connect(),
    registerMetrics(registry) {
      online = onlineMetrics(registry);
    },
    async write(batch: PartitionBatch) {
      const events = batch.records.map((x) => x.value as BehaviourEvent);
      // the answers are read before this batch's events can change anything; the counts are
      // metrics, so a batch re-delivered after a crash may count twice (the stores do not)
      const [last] = await Promise.all([
        online ? answers.lastOf([...new Set(events.map((e) => e.user_id))]) : undefined,
        store.apply(events),
        seen.add(events),
      ]);
      if (online && last)
        for (const a of attribute(events, last, cfg.onlineWindowSeconds * 1000)) {
          const labels = { model_version: a.version, source: a.source };
          online.events.inc(labels);
          if (a.rank !== undefined) {
            online.hits.inc(labels);
            online.rank.observe(labels, a.rank);
          }
        }
      return batch.records.length;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function onlineMetrics(registry: Registry) {
  const labelNames = ['model_version', 'source'] as const;
  return {
    events: new Counter({
      name: 'towerflow_online_events_total',
      help: 'Behaviour events of users who got a recall answer in the window before them, by the answer’s version and source',
      labelNames,
      registers: [registry],
    }),
    hits: new Counter({
      name: 'towerflow_online_hits_total',
      help: 'Of those, events whose item was in the answer (online hit rate = hits / events)',
      labelNames,
      registers: [registry],
    }),
    rank: new Histogram({
      name: 'towerflow_online_hit_rank',
      help: 'Rank of the item in the answer for each hit (HR@K online = bucket le=K / events)',
      labelNames,
      buckets: RANK_BUCKETS,
      registers: [registry],
    }),
  };
}
