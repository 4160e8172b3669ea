import type { ItemVectors } from '../clients/milvus/client.js';
import type { Redis } from '../clients/redis.js';
import type { ItemState, ProfileStore } from '../stores/profiles/index.js';
import { ITEMS_CHANGED_KEY } from '../stores/sequence/keys.js';
import type { Live } from './live-models.js';
import { scalarsOf } from './publish.js';
import { itemRecordOf } from './window.js';

/** How long the change log keeps an item: longer than any daily job runs. */
const CHANGE_LOG_MS = 2 * 86_400_000;

export interface BypassResult {
  /** The live version whose collection was changed; undefined before the first publish. */
  version?: string;
  upserted: number;
  deleted: number;
}

/**
 * The item bypass (DESIGN.md §1): between daily publishes, an item whose features changed gets
 * a vector from the live item tower, upserted into the live collection; a removed item is
 * deleted from it. It works from the profile state in HBase after the write, not from the event,
 * so a late or re-delivered event re-applies the winning state: idempotent by item id.
 */
export class ItemBypass {
  constructor(
    private readonly milvus: ItemVectors,
    private readonly profiles: ProfileStore,
    private readonly redis: Redis,
  ) {}

  /**
   * Logs that these items changed. Call it before reading the live pointer: a daily job that
   * switches after that read finds the items here and re-infers them with its own towers.
   */
  async record(itemIds: string[]): Promise<void> {
    if (itemIds.length === 0) return;
    const now = Date.now();
    const [[err]] = ((await this.redis
      .multi()
      .zadd(ITEMS_CHANGED_KEY, ...itemIds.flatMap((id) => [now, id]))
      .zremrangebyscore(ITEMS_CHANGED_KEY, '-inf', now - CHANGE_LOG_MS)
      .exec()) ?? [[null]]) as [[Error | null]];
    if (err) throw err;
  }

  /** Items the processor applied since `ms` (wall clock). */
  changedSince(ms: number): Promise<string[]> {
    return this.redis.zrangebyscore(ITEMS_CHANGED_KEY, ms, '+inf');
  }

  /** Writes the current state of `itemIds` into `live`'s collection with `live`'s item tower. */
  async applyTo(live: Live, itemIds: string[]): Promise<BypassResult> {
    const ids = [...new Set(itemIds)];
    const states = await this.profiles.getItems(ids);
    const present: ItemState[] = [];
    const removed: string[] = [];
    ids.forEach((id, i) => {
      const s = states[i];
      if (!s || s.removed) removed.push(id);
      else present.push(s);
    });
    const collection = live.pointer.collection;
    if (present.length > 0) {
      const records = present.map(itemRecordOf);
      const vectors = live.model.itemVectors(records);
      const dim = live.model.dim;
      await this.milvus.upsert(
        collection,
        records.map((r, j) => ({
          item_id: r.id,
          vector: Array.from(vectors.subarray(j * dim, (j + 1) * dim)),
          ...scalarsOf(r),
        })),
      );
    }
    if (removed.length > 0) await this.milvus.deleteByIds(collection, removed);
    return { version: live.pointer.version, upserted: present.length, deleted: removed.length };
  }
}
