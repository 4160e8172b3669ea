import { Counter, type Registry } from 'prom-client';
import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { ItemEvent } from '../../schemas/item.js';
import type { UserProfileEvent } from '../../schemas/user.js';
import { RedisUserVectorCache } from '../../stores/embeddings/redis-user-vectors.js';
import { applyUserProfiles } from '../../stores/profiles/apply-users.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import { RedisProfileCache } from '../../stores/profiles/redis-cache.js';
import { RedisItemChangeLog } from '../../stores/profiles/redis-changes.js';
import { openItemVectors } from '../../stores/vectors/open.js';
import { ItemBypass } from '../../versions/item-bypass.js';
import { LiveModels } from '../../versions/live-models.js';
import { type PartitionBatch, PROCESSOR_ROLES, type StreamProcessor } from '../runtime.js';

/**
 * item.events and user.events → HBase profiles (last write by event time wins); then the item
 * bypass re-infers changed items into the live Milvus collection, and a changed user profile
 * is copied to Redis for recall and drops that user's cached vector. Any failure fails the batch, which the runtime retries before
 * committing: every step is idempotent.
 */
export function itemsProcessor(cfg: Config): StreamProcessor {
  const hbase = HBaseClient.fromConfig(cfg);
  const store = new HBaseProfileStore(hbase);
  const redis = createRedis(cfg);
  const profileCache = new RedisProfileCache(redis, cfg.profileCacheTtlSeconds);
  const userVectors = new RedisUserVectorCache(redis, cfg.userVectorTtlSeconds);
  const vectorStore = openItemVectors(cfg);
  const models = new LiveModels(cfg, redis);
  const bypass = new ItemBypass(vectorStore, store, new RedisItemChangeLog(redis));
  let bypassed: Counter<'op'> | undefined;
  return {
    name: 'items',
    roles: PROCESSOR_ROLES.items,
    async setup() {
      await store.ensure();
      await redis.connect();
    },
    registerMetrics(registry: Registry) {
      bypassed = new Counter({
        name: 'towerflow_item_bypass_total',
        help: 'Items re-inferred into (upsert) or deleted from (delete) the live collection, or whose row already held their state (unchanged)',
        labelNames: ['op'],
        registers: [registry],
      });
      for (const op of ['upsert', 'delete', 'unchanged']) bypassed.inc({ op }, 0);
    },
    async write(batch: PartitionBatch) {
      const values = batch.records.map((r) => r.value);
      if (batch.role === 'items') {
        const events = values as ItemEvent[];
        await store.applyItems(events);
        const ids = [...new Set(events.map((e) => e.item_id))];
        await bypass.record(ids);
        const live = await models.current();
        if (live) {
          const r = await bypass.applyTo(live, ids);
          bypassed?.inc({ op: 'upsert' }, r.upserted);
          bypassed?.inc({ op: 'delete' }, r.deleted);
          bypassed?.inc({ op: 'unchanged' }, r.unchanged);
        }
      } else {
        const events = values as UserProfileEvent[];
        await applyUserProfiles(store, profileCache, events);
        await userVectors.drop(events.map((e) => e.user_id));
      }
      return values.length;
    },
    async close() {
      models.dispose();
      hbase.close();
      await vectorStore.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
