import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { HBaseHistoryStore } from '../../stores/history/hbase.js';
import type { HistoryEvent } from '../../stores/history/index.js';
import type { CountedEvent } from '../../stores/popularity/index.js';
import { popularitySettings, RedisPopularityStore } from '../../stores/popularity/redis.js';
import { groupIdOf, type PartitionBatch, PROCESSOR_ROLES, type StreamProcessor } from '../runtime.js';

/** Rows per Thrift call; chunks go out in parallel over the connection pool. */
const CHUNK = 500;

/**
 * behaviour.events → HBase history (idempotent rows keyed by event id) and the popularity
 * counters in Redis. Counting lives here because the history is the one store that remembers
 * every event: an event whose row already exists is a duplicate and is not counted again.
 * Per batch: (1) which rows exist, (2) count the new events and move the Redis fence, (3) put
 * the rows, (4) commit. A crash after (2) re-delivers the batch; the fence skips its counts.
 */
export function historyProcessor(cfg: Config): StreamProcessor {
  const hbase = HBaseClient.fromConfig(cfg);
  const redis = createRedis(cfg);
  const store = new HBaseHistoryStore(hbase, cfg.historySaltBuckets);
  const popularity = new RedisPopularityStore(redis, popularitySettings(cfg));
  const group = groupIdOf(cfg, 'history');
  return {
    name: 'history',
    roles: PROCESSOR_ROLES.history,
    async setup() {
      await redis.connect();
      await store.ensure();
    },
    async write(batch: PartitionBatch) {
      const events = batch.records.map((r) => toHistory(r.value as BehaviourEvent));
      const chunks: HistoryEvent[][] = [];
      for (let i = 0; i < events.length; i += CHUNK) chunks.push(events.slice(i, i + CHUNK));
      const exists = (await Promise.all(chunks.map((c) => store.exists(c)))).flat();
      const fresh: CountedEvent[] = [];
      const seen = new Set<string>();
      batch.records.forEach((r, i) => {
        const e = events[i] as HistoryEvent;
        if (exists[i] || seen.has(e.event_id)) return;
        seen.add(e.event_id);
        fresh.push({ offset: r.offset, item_id: e.item_id, ts: e.ts });
      });
      await popularity.count(
        { group, topic: batch.topic, partition: batch.partition },
        fresh,
        batch.lastOffset,
      );
      await Promise.all(chunks.map((c) => store.write(c)));
      return events.length;
    },
    async close() {
      hbase.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function toHistory(e: BehaviourEvent): HistoryEvent {
  const { v: _v, ...rest } = e;
  return rest;
}
