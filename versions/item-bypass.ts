import { itemRecordOf } from '../model/data/profiles.js';
import type { ModelVersion } from '../model/version.js';
import type { ItemChangeLog, ItemState, ProfileStore } from '../stores/profiles/index.js';
import type { ItemVectorRow, ItemVectorStore } from '../stores/vectors/index.js';
import { ITEM_SCALARS, scalarsOf } from '../stores/vectors/item-fields.js';

/** The version whose collection the bypass writes, with its towers (the live one, or an experiment's). */
export interface BypassTarget {
  pointer: { version: string };
  model: ModelVersion;
}

export interface BypassResult {
  /** The live version whose collection was changed; undefined before the first publish. */
  version?: string;
  upserted: number;
  deleted: number;
  /** Items whose row already held what the bypass would write (or, removed, held no row). */
  unchanged: number;
}

/** Ids per Milvus query and write: bounds the filter expression's length. */
const CHUNK = 1000;

const SCALAR_NAMES = ITEM_SCALARS.map((f) => f.name);

/**
 * Largest difference of one vector component still taken for the same vector. The item tower
 * run on another batch size can round a few components differently (1 item in 300 of a publish
 * re-inferred alone, in the integration test); a changed feature moves a unit vector by far more.
 */
export const VECTOR_TOLERANCE = 1e-6;

/** Whether a stored row (vector and scalars as Milvus returns them) holds the row about to be written. */
export function sameRow(stored: Record<string, unknown> | undefined, row: ItemVectorRow): boolean {
  if (!stored) return false;
  for (const name of SCALAR_NAMES) if (String(stored[name]) !== String(row[name])) return false;
  const v = stored.vector as ArrayLike<number> | undefined;
  if (!v || v.length !== row.vector.length) return false;
  for (let i = 0; i < v.length; i++)
    if (!(Math.abs((v[i] as number) - (row.vector[i] as number)) <= VECTOR_TOLERANCE)) return false;
  return true;
}

/**
 * The item bypass (DESIGN.md §1): between daily publishes, an item whose features changed gets
 * a vector from the live item tower, upserted into the live collection; a removed item is
 * deleted from it. It works from the profile state in HBase after the write, not from the event,
 * so a late or re-delivered event re-applies the winning state: idempotent by item id.
 */
export class ItemBypass {
  constructor(
    private readonly vectorStore: ItemVectorStore,
    private readonly profiles: ProfileStore,
    private readonly changes: ItemChangeLog,
  ) {}

  /**
   * Logs that these items changed. Call it before reading the live pointer: a daily job that
   * switches after that read finds the items here and re-infers them with its own towers.
   */
  record(itemIds: string[]): Promise<void> {
    return this.changes.record(itemIds);
  }

  /** Items the processor applied since `ms` (wall clock). */
  changedSince(ms: number): Promise<string[]> {
    return this.changes.since(ms);
  }

  /**
   * Writes the current state of `itemIds` into `live`'s collection with `live`'s item tower (the
   * live version's, or one a running experiment serves beside it).
   * Rows that already hold those scalars and that vector (within VECTOR_TOLERANCE) are left
   * alone, and ids with no row are not deleted: a re-delivered batch or a replayed catalogue writes nothing. Each write
   * leaves a deleted copy in its sealed segment, and a version's collection is never compacted
   * (docs/decisions.md, "Full segments"), so only real changes may cost memory until the next
   * publish.
   */
  async applyTo(live: BypassTarget, itemIds: string[]): Promise<BypassResult> {
    const ids = [...new Set(itemIds)];
    const out: BypassResult = { version: live.pointer.version, upserted: 0, deleted: 0, unchanged: 0 };
    for (let i = 0; i < ids.length; i += CHUNK) {
      const r = await this.applyChunk(live, ids.slice(i, i + CHUNK));
      out.upserted += r.upserted;
      out.deleted += r.deleted;
      out.unchanged += r.unchanged;
    }
    return out;
  }

  private async applyChunk(live: BypassTarget, ids: string[]): Promise<Omit<BypassResult, 'version'>> {
    const version = live.pointer.version;
    const [states, rows] = await Promise.all([
      this.profiles.getItems(ids),
      this.vectorStore.fetch(version, ids, ['item_id', 'vector', ...SCALAR_NAMES]),
    ]);
    const stored = new Map(rows.map((r) => [String(r.item_id), r]));
    const present: ItemState[] = [];
    const removed: string[] = [];
    let unchanged = 0;
    ids.forEach((id, i) => {
      const s = states[i];
      if (s && !s.removed) present.push(s);
      else if (stored.has(id)) removed.push(id);
      else unchanged++;
    });
    const writes: ItemVectorRow[] = [];
    if (present.length > 0) {
      const records = present.map(itemRecordOf);
      const vectors = live.model.itemVectors(records);
      const dim = live.model.dim;
      records.forEach((r, j) => {
        const row: ItemVectorRow = {
          item_id: r.id,
          vector: vectors.subarray(j * dim, (j + 1) * dim),
          ...scalarsOf(r),
        };
        if (sameRow(stored.get(r.id), row)) unchanged++;
        else writes.push(row);
      });
    }
    if (writes.length > 0) await this.vectorStore.upsert(version, writes);
    if (removed.length > 0) await this.vectorStore.delete(version, removed);
    return { upserted: writes.length, deleted: removed.length, unchanged };
  }
}
