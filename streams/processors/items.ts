import { HBaseClient } from '../../clients/hbase/thrift2.js';
import type { Config } from '../../config/index.js';
import type { ItemEvent } from '../../schemas/item.js';
import type { UserProfileEvent } from '../../schemas/user.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import type { PartitionBatch, StreamProcessor } from '../runtime.js';

/** item.events and user.events → HBase profiles (last write by event time wins). */
export function itemsProcessor(cfg: Config): StreamProcessor {
  const hbase = HBaseClient.fromConfig(cfg);
  const store = new HBaseProfileStore(hbase);
  return {
    name: 'items',
    roles: ['items', 'users'],
    setup: () => store.ensure(),
    async write(batch: PartitionBatch) {
      const values = batch.records.map((r) => r.value);
      if (batch.role === 'items') await store.applyItems(values as ItemEvent[]);
      else await store.applyUsers(values as UserProfileEvent[]);
      return values.length;
    },
    async close() {
      hbase.close();
    },
  };
}
