import { rm } from 'node:fs/promises';
import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { createKafka } from '../../clients/kafka/kafkajs.js';
import { topicNames } from '../../clients/kafka/topics.js';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import { HISTORY_TABLE } from '../../stores/history/hbase.js';
import { ITEMS_TABLE, USERS_TABLE } from '../../stores/profiles/hbase.js';
import { openItemVectors } from '../../stores/vectors/open.js';
import { groupIdOf, PROCESSOR_NAMES } from '../../streams/runtime.js';
import { ModelRegistry } from '../../versions/registry.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)(:\d+)?$/;

/** Whether every store the configuration names is on this machine (what a reset may wipe). */
export function storesAreLocal(cfg: Config): boolean {
  const redisHost = new URL(cfg.redisUrl).host;
  return [...cfg.kafkaBrokers, cfg.hbaseThriftAddress, cfg.milvusAddress, redisHost].every((a) =>
    LOOPBACK.test(a),
  );
}

export interface ResetScope {
  /** Also flush the configured Redis database and remove the model registry folder. */
  redisAndRegistry: boolean;
}

/**
 * Removes what the project keeps for one configuration: its topics and consumer groups, HBase
 * tables, Milvus alias and collections and, when asked, its Redis database and model registry.
 * The processes using them must be stopped first.
 */
export async function resetProjectState(cfg: Config, scope: ResetScope): Promise<void> {
  const admin = createKafka(cfg).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = Object.values(topicNames(cfg)).filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    await admin.deleteGroups(PROCESSOR_NAMES.map((p) => groupIdOf(cfg, p))).catch(() => {});
  } finally {
    await admin.disconnect();
  }
  const hbase = HBaseClient.fromConfig(cfg);
  try {
    for (const t of [HISTORY_TABLE, ITEMS_TABLE, USERS_TABLE]) await hbase.dropTable(t).catch(() => {});
  } finally {
    hbase.close();
  }
  // the alias and every collection named after it (one per published version)
  const vectorStore = openItemVectors(cfg);
  try {
    await vectorStore.dropLive().catch(() => {});
    for (const v of await vectorStore.versions()) await vectorStore.drop(v).catch(() => {});
  } finally {
    await vectorStore.close();
  }
  if (scope.redisAndRegistry) {
    const redis = createRedis(cfg);
    try {
      await rm(new ModelRegistry(cfg, redis).dir, { recursive: true, force: true });
      await redis.connect();
      await redis.flushdb();
    } finally {
      await redis.quit().catch(() => redis.disconnect());
    }
  }
}
