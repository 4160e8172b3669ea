import { HBaseClient } from '../../clients/hbase/thrift2.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { HBaseHistoryStore } from '../../stores/history/hbase.js';
import type { HistoryEvent } from '../../stores/history/index.js';
import type { PartitionBatch, StreamProcessor } from '../runtime.js';

/** Rows per Thrift putMultiple call; chunks go out in parallel over the connection pool. */
const PUT_CHUNK = 500;

/** behaviour.events → HBase history (idempotent rows keyed by event id). */
export function historyProcessor(cfg: Config): StreamProcessor {
  const hbase = HBaseClient.fromConfig(cfg);
  const store = new HBaseHistoryStore(hbase, cfg.historySaltBuckets);
  return {
    name: 'history',
    roles: ['behaviour'],
    concurrency: 2,
    setup: () => store.ensure(),
    async write(batch: PartitionBatch) {
      const events = batch.records.map((r) => toHistory(r.value as BehaviourEvent));
      const chunks: HistoryEvent[][] = [];
      for (let i = 0; i < events.length; i += PUT_CHUNK) chunks.push(events.slice(i, i + PUT_CHUNK));
      await Promise.all(chunks.map((c) => store.write(c)));
      return events.length;
    },
    async close() {
      hbase.close();
    },
  };
}

function toHistory(e: BehaviourEvent): HistoryEvent {
  const { v: _v, ...rest } = e;
  return rest;
}
