import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis, type Redis } from '../clients/redis.js';
import type { Config } from '../config/index.js';
import { generatedKeyFile, resolveAllKeys } from '../runtime/api-keys.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { onShutdown } from '../runtime/shutdown.js';
import { announceTarget } from '../runtime/targets.js';
import { RedisAnswerStore } from '../stores/answers/redis.js';
import { RedisIdRowStore } from '../stores/embeddings/redis.js';
import { RedisUserVectorCache } from '../stores/embeddings/redis-user-vectors.js';
import { HBaseHistoryStore } from '../stores/history/hbase.js';
import { RedisPopularityStore } from '../stores/popularity/redis.js';
import { HBaseProfileStore } from '../stores/profiles/hbase.js';
import { RedisProfileCache } from '../stores/profiles/redis-cache.js';
import { seenSettings } from '../stores/seen/index.js';
import { RedisSeenStore } from '../stores/seen/redis.js';
import { RedisSequenceStore } from '../stores/sequence/redis.js';
import { openItemVectors } from '../stores/vectors/open.js';
import { onExperimentEvents, onModelEvents } from '../versions/channel.js';
import { ExperimentRegistry } from '../versions/experiments/registry.js';
import { ExperimentWatch } from '../versions/experiments/watch.js';
import { LiveModels } from '../versions/live-models.js';
import { registryDir } from '../versions/registry.js';
import { buildRecallApp } from './app.js';
import { ExposureLog } from './exposures.js';
import type { RecallDeps } from './recall.js';
import { SearchBatcher } from './search-batcher.js';

/** The recall API's dependencies from the configuration, and the Redis connection they share. */
export async function recallDeps(
  cfg: Config,
): Promise<
  RecallDeps & { redis: Redis; searcher: SearchBatcher; experiments: ExperimentWatch; close(): Promise<void> }
> {
  // no offline queue: while Redis is down each command fails at once and the request degrades
  // (features from HBase) instead of waiting for reconnects
  const redis = createRedis(cfg, { enableOfflineQueue: false });
  await redis.connect().catch(() => {}); // Redis down at start: requests degrade, ioredis reconnects
  const hbase = HBaseClient.fromConfig(cfg);
  const vectorStore = openItemVectors(cfg, { timeoutMs: cfg.recallMilvusTimeoutMs });
  const models = new LiveModels(cfg, redis, { cpuUserTower: cfg.recallUserTower === 'js' });
  const seen = seenSettings(cfg);
  // the alias's running experiment, in memory: requests read it for free; its versions stay
  // loaded and are loaded as soon as it starts (not by its first request)
  const registry = new ExperimentRegistry(redis, registryDir(cfg));
  const experiments = new ExperimentWatch(() => registry.running(cfg.milvusAlias), cfg.experimentRefreshMs, {
    onChange: (d) => {
      models.hold(d ? [d.control, d.candidate] : []);
      if (d) for (const v of [d.control, d.candidate]) models.preload(v);
    },
  });
  await experiments.start(); // Redis down at start: none until it answers
  const searcher = new SearchBatcher(
    vectorStore,
    Math.max(1, cfg.recallSearchBatch),
    cfg.recallMilvusTimeoutMs,
  );
  return {
    redis,
    sequence: new RedisSequenceStore(redis, {
      length: cfg.sequenceLength,
      ttlSeconds: cfg.sequenceTtlSeconds,
    }),
    history: new HBaseHistoryStore(hbase, cfg.historySaltBuckets),
    seen: new RedisSeenStore(redis, seen),
    seenIgnoredTypes: seen.ignoredTypes,
    answers: new RedisAnswerStore(redis, {
      windowSeconds: cfg.onlineWindowSeconds,
      items: cfg.onlineAnswerItems,
    }),
    profiles: new HBaseProfileStore(hbase),
    profileCache: new RedisProfileCache(redis, cfg.profileCacheTtlSeconds),
    idRows: new RedisIdRowStore(redis),
    userVectors: new RedisUserVectorCache(redis, cfg.userVectorTtlSeconds),
    popularity: new RedisPopularityStore(redis),
    searcher,
    models,
    experiments,
    sequenceLength: cfg.sequenceLength,
    async close() {
      experiments.stop();
      models.dispose();
      hbase.close();
      await vectorStore.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * `towerflow serve`: the recall API until SIGTERM; preloads each newly published version,
 * re-reads the running experiment on its announcements, logs every answer as an exposure.
 */
export async function runServe(cfg: Config): Promise<void> {
  const log = createLogger(cfg, 'serve');
  const deps = await recallDeps(cfg);
  const sub = deps.redis.duplicate({ enableOfflineQueue: true });
  await onModelEvents(
    sub,
    (version) => deps.models.preload(version),
    (why, message) => log.warn({ message }, why),
  ).catch((e: Error) => log.warn({ err: e.message }, 'no publish notifications'));
  await onExperimentEvents(sub, () => void deps.experiments.refresh()).catch((e: Error) =>
    log.warn({ err: e.message }, 'no experiment notifications: EXPERIMENT_REFRESH_MS polling only'),
  );
  const registry = createRegistry('serve');
  const exposures = new ExposureLog(cfg, log);
  exposures.registerMetrics(registry);
  // connects in the background: until Kafka answers, exposures are dropped and counted
  void exposures.start();
  const app = buildRecallApp(cfg, log, { ...deps, exposures }, registry, resolveAllKeys(cfg));
  await app.listen({ host: cfg.bindHost, port: cfg.recallPort });
  const withdraw = announceTarget(cfg, 'serve', `${cfg.bindHost}:${cfg.recallPort}`);
  log.info(
    {
      url: `http://${cfg.bindHost}:${cfg.recallPort}/v1/recall?user_id=1&k=10`,
      keys: cfg.recallApiKeys.length > 0 ? 'RECALL_API_KEYS' : generatedKeyFile(cfg, 'recall'),
    },
    'recall API listening',
  );
  onShutdown(log, async () => {
    await app.close();
    await sub.quit().catch(() => {});
    await exposures.close();
    await deps.close();
    withdraw();
  });
}
