import type { ItemRow, ItemVectors } from '../clients/milvus/client.js';
import type { FilterableField } from '../clients/milvus/filter.js';
import type { ItemRecord } from '../model/data/types.js';

/** Filterable scalar fields of every item collection (the serving layer's filter whitelist). */
export const ITEM_SCALARS: FilterableField[] = [
  { name: 'category', type: 'varchar' },
  { name: 'published_at', type: 'int64' },
];

/** The scalar values of an item: its first category (or genre) and its publish time (ms, 0 when unknown). */
export function scalarsOf(r: ItemRecord): { category: string; published_at: number } {
  const cat = r.categorical.category?.[0] ?? r.categorical.genres?.[0] ?? '';
  const published = r.numeric.published_at ?? 0;
  return { category: cat.slice(0, 256), published_at: Math.trunc(published) };
}

export interface BuildResult {
  rows: number;
  insertSeconds: number;
  indexSeconds: number;
  loadSeconds: number;
}

/**
 * Writes every item vector into a new collection, builds its HNSW index, loads it and checks the
 * row count. Any failure drops the half-built collection before the error goes up, so a failed
 * run leaves Milvus as it found it.
 */
export async function buildCollection(
  milvus: ItemVectors,
  name: string,
  records: ItemRecord[],
  vectors: Float32Array,
  dim: number,
  onProgress?: (inserted: number) => void,
): Promise<BuildResult> {
  const t0 = performance.now();
  try {
    await milvus.createCollection({
      name,
      dim,
      scalars: ITEM_SCALARS,
      description: 'towerflow item vectors',
    });
    const batch = 5000;
    for (let i = 0; i < records.length; i += batch) {
      const rows: ItemRow[] = [];
      for (let j = i; j < Math.min(records.length, i + batch); j++) {
        const r = records[j] as ItemRecord;
        rows.push({
          item_id: r.id,
          vector: Array.from(vectors.subarray(j * dim, (j + 1) * dim)),
          ...scalarsOf(r),
        });
      }
      await milvus.insert(name, rows);
      onProgress?.(Math.min(records.length, i + batch));
    }
    await milvus.flush(name);
    const t1 = performance.now();
    await milvus.createHnswIndex(name);
    await milvus.waitForIndex(name);
    const t2 = performance.now();
    await milvus.load(name);
    const count = await milvus.count(name);
    if (count !== records.length)
      throw new Error(`collection ${name} holds ${count} rows after loading, expected ${records.length}`);
    return {
      rows: count,
      insertSeconds: (t1 - t0) / 1000,
      indexSeconds: (t2 - t1) / 1000,
      loadSeconds: (performance.now() - t2) / 1000,
    };
  } catch (e) {
    await milvus.dropCollection(name).catch(() => {});
    throw e;
  }
}
