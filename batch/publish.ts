import type { ItemRecord } from '../model/data/types.js';
import type { ItemVectorRow, ItemVectorStore } from '../stores/vectors/index.js';
import { ITEM_SCALARS, scalarsOf } from '../stores/vectors/item-fields.js';

/** Insert calls in flight: the SDK's protobuf encoding and Milvus' proxy overlap. */
export const INSERTS_IN_FLIGHT = 3;

export interface BuildResult {
  rows: number;
  /** Inserting the rows, without creating the collection or flushing. */
  insertSeconds: number;
  flushSeconds: number;
  indexSeconds: number;
  loadSeconds: number;
}

/**
 * Writes every item vector into the version's new collection, builds its HNSW index, loads it and
 * checks the row count. Any failure drops the half-built collection before the error goes up, so
 * a failed run leaves the store as it found it.
 */
export async function buildCollection(
  store: ItemVectorStore,
  version: string,
  records: ItemRecord[],
  vectors: Float32Array,
  dim: number,
  onProgress?: (inserted: number) => void,
  inFlight = INSERTS_IN_FLIGHT,
): Promise<BuildResult> {
  try {
    await store.create(version, {
      dim,
      scalars: ITEM_SCALARS,
      description: 'towerflow item vectors',
      writeOnce: true,
    });
    const tInsert = performance.now();
    const batch = 5000;
    const rowsOf = (i: number): ItemVectorRow[] => {
      const rows: ItemVectorRow[] = [];
      for (let j = i; j < Math.min(records.length, i + batch); j++) {
        const r = records[j] as ItemRecord;
        rows.push({
          item_id: r.id,
          vector: vectors.subarray(j * dim, (j + 1) * dim),
          ...scalarsOf(r),
        });
      }
      return rows;
    };
    // a few batches in flight: the SDK's serialisation and Milvus' proxy work overlap
    let next = 0;
    let inserted = 0;
    await Promise.all(
      Array.from({ length: Math.max(1, inFlight) }, async () => {
        for (let i = next; i < records.length; i = next) {
          next += batch;
          await store.insert(version, rowsOf(i));
          inserted += Math.min(batch, records.length - i);
          onProgress?.(inserted);
        }
      }),
    );
    const tFlush = performance.now();
    await store.flush(version);
    const t1 = performance.now();
    await store.buildIndex(version);
    const t2 = performance.now();
    await store.load(version);
    const count = await store.count(version);
    if (count !== records.length)
      throw new Error(
        `collection ${store.collectionOf(version)} holds ${count} rows after loading, expected ${records.length}`,
      );
    return {
      rows: count,
      insertSeconds: (tFlush - tInsert) / 1000,
      flushSeconds: (t1 - tFlush) / 1000,
      indexSeconds: (t2 - t1) / 1000,
      loadSeconds: (performance.now() - t2) / 1000,
    };
  } catch (e) {
    await store.drop(version).catch(() => {});
    throw e;
  }
}
