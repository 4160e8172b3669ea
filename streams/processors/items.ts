import { Counter, type Registry } from 'prom-client';
import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { ItemEvent } from '../../schemas/item.js';
import type { UserProfileEvent } from '../../schemas/user.js';
import { RedisUserVectorCache } from '../../stores/embeddings/redis-user-vectors.js';
import { applyUserProfiles } from '../../stores/profiles/apply-users.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import { RedisProfileCache } from '../../stores/profiles/redis-cache.js';
import { RedisItemChangeLog } from '../../stores/profiles/redis-changes.js';
import { openItemVectors } from '../../stores/vectors/open.js';
import { versionsBeside } from '../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../versions/experiments/registry.js';
import { ExperimentWatch } from '../../versions/experiments/watch.js';
import { ItemBypass } from '../../versions/item-bypass.js';
import { LiveModels } from '../../versions/live-models.js';
import { registryDir } from '../../versions/registry.js';
import { type PartitionBatch, PROCESSOR_ROLES, type StreamProcessor } from '../runtime.js';

/**
 * item.events and user.events → HBase profiles (last write by event time wins); then the item
 * bypass re-infers changed items into the live Milvus collection, and a changed user profile
 * is copied to Redis for recall and drops that user's cached vector. Any failure fails the batch, which the runtime retries before
 * committing: every step is idempotent. While an experiment runs, changed items also go into
 * the collections of the versions it serves beside the live one, with their own item towers,
 * so its arms search the same catalogue; a failure there is counted and logged, never retried
 * at the live collection's expense.
 */
export function itemsProcessor(cfg: Config, log?: Logger): StreamProcessor {
  const hbase = HBaseClient.fromConfig(cfg);
  const store = new HBaseProfileStore(hbase);
  const redis = createRedis(cfg);
  const profileCache = new RedisProfileCache(redis, cfg.profileCacheTtlSeconds);
  const userVectors = new RedisUserVectorCache(redis, cfg.userVectorTtlSeconds);
  const vectorStore = openItemVectors(cfg);
  const models = new LiveModels(cfg, redis);
  const bypass = new ItemBypass(vectorStore, store, new RedisItemChangeLog(redis));
  const experiments = new ExperimentRegistry(redis, registryDir(cfg));
  // polled only: an item changed in the first EXPERIMENT_REFRESH_MS of an experiment may miss its candidate
  const watch = new ExperimentWatch(() => experiments.running(cfg.milvusAlias), cfg.experimentRefreshMs);
  let bypassed: Counter<'op'> | undefined;
  let besideBypassed: Counter<'op'> | undefined;
  return {
    name: 'items',
    roles: PROCESSOR_ROLES.items,
    async setup() {
      await store.ensure();
      await redis.connect();
      await watch.start();
    },
    registerMetrics(registry: Registry) {
      bypassed = new Counter({
        name: 'towerflow_item_bypass_total',
        help: 'Items re-inferred into (upsert) or deleted from (delete) the live collection, or whose row already held their state (unchanged)',
        labelNames: ['op'],
        registers: [registry],
      });
      for (const op of ['upsert', 'delete', 'unchanged']) bypassed.inc({ op }, 0);
      besideBypassed = new Counter({
        name: 'towerflow_item_bypass_experiment_total',
        help: 'Items re-inferred into (upsert) or deleted from (delete) the collections a running experiment serves beside the live one, unchanged, or not applied (failed: that version could not be loaded or written)',
        labelNames: ['op'],
        registers: [registry],
      });
      for (const op of ['upsert', 'delete', 'unchanged', 'failed']) besideBypassed.inc({ op }, 0);
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
          const beside = versionsBeside(live.pointer.version, watch.current);
          models.hold([live.pointer.version, ...beside]);
          for (const version of beside) {
            try {
              const served = await models.served(version);
              const b = await bypass.applyTo({ pointer: { version }, model: served.model }, ids);
              besideBypassed?.inc({ op: 'upsert' }, b.upserted);
              besideBypassed?.inc({ op: 'delete' }, b.deleted);
              besideBypassed?.inc({ op: 'unchanged' }, b.unchanged);
            } catch (e) {
              besideBypassed?.inc({ op: 'failed' }, ids.length);
              log?.warn(
                { version, err: (e as Error).message },
                'item bypass into an experiment’s collection failed',
              );
            }
          }
        }
      } else {
        const events = values as UserProfileEvent[];
        await applyUserProfiles(store, profileCache, events);
        await userVectors.drop(events.map((e) => e.user_id));
      }
      return values.length;
    },
    async close() {
      watch.stop();
      models.dispose();
      hbase.close();
      await vectorStore.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
