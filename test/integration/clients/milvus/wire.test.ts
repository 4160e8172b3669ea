import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectionAdmin } from '../../../../clients/milvus/admin.js';
import { MilvusConnection } from '../../../../clients/milvus/connection.js';
import { buildFilter } from '../../../../clients/milvus/filter.js';
import { RowQuery } from '../../../../clients/milvus/query.js';
import { AUTO_COMPACTION_PROPERTY } from '../../../../clients/milvus/schema.js';
import { VectorSearch } from '../../../../clients/milvus/search.js';
import { RowWriter } from '../../../../clients/milvus/write.js';
import { loadConfig } from '../../../../config/index.js';

const cfg = loadConfig();
// the wire modules on one connection, as the vector store's Milvus backend composes them
const conn = MilvusConnection.fromConfig(cfg);
const admin = new CollectionAdmin(conn);
const writer = new RowWriter(conn);
const reader = new RowQuery(conn);
const searcher = new VectorSearch(conn);
const suffix = randomUUID().slice(0, 8).replace(/-/g, '');
const coll = `test_items_${suffix}`;
const coll2 = `test_items2_${suffix}`;
const alias = `test_live_${suffix}`;
const DIM = 16;
const N = 1500;
const scalars = [
  { name: 'category', type: 'varchar' as const },
  { name: 'publish_ts', type: 'int64' as const },
];

function rand(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 2 ** 32 - 0.5;
  };
}
const r = rand(7);
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const vectors = Array.from({ length: N }, () => unit(Array.from({ length: DIM }, r)));
const rows = vectors.map((vector, i) => ({
  item_id: `item-${i}`,
  vector,
  category: ['a', 'b', 'c'][i % 3] as string,
  publish_ts: i,
}));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

describe(`milvus wire modules (${cfg.milvusEngine}, real server)`, () => {
  beforeAll(async () => {
    await admin.createCollection({ name: coll, dim: DIM, scalars });
    await admin.createHnswIndex(coll);
    await admin.load(coll);
  });
  afterAll(async () => {
    await admin.dropAlias(alias).catch(() => {});
    await admin.dropCollection(coll);
    await admin.dropCollection(coll2);
    await conn.close();
  });

  it('inserts with explicit item_id keys and counts them', async () => {
    for (let i = 0; i < N; i += 500) expect(await writer.insert(coll, rows.slice(i, i + 500))).toBe(500);
    await admin.flush(coll);
    expect(await reader.count(coll)).toBe(N);
  });

  it('stores every vector and scalar exactly as written (column-encoded requests)', async () => {
    const typed = `test_items3_${suffix}`;
    const allTypes = [
      { name: 'category', type: 'varchar' as const },
      { name: 'publish_ts', type: 'int64' as const },
      { name: 'price', type: 'double' as const },
      { name: 'active', type: 'bool' as const },
    ];
    try {
      await admin.createCollection({ name: typed, dim: DIM, scalars: allTypes });
      await admin.createHnswIndex(typed);
      await admin.load(typed);
      const written = [
        {
          item_id: 'a',
          vector: vectors[0]!,
          category: 'x',
          publish_ts: 2 ** 40 + 1,
          price: 0.1,
          active: true,
        },
        // a Float32Array is written as is (the daily job passes views of its vector block)
        {
          item_id: 'b',
          vector: Float32Array.from(vectors[1]!),
          category: '',
          publish_ts: -5,
          price: -1e300,
          active: false,
        },
      ];
      expect(await writer.insert(typed, written)).toBe(2);
      const back = await reader.query(typed, 'publish_ts != 0', [
        'item_id',
        'vector',
        'category',
        'publish_ts',
        'price',
        'active',
      ]);
      expect(back.map((x) => x.item_id).sort()).toEqual(['a', 'b']);
      for (const w of written) {
        const got = back.find((x) => x.item_id === w.item_id) as Record<string, unknown>;
        expect(got.category).toBe(w.category);
        expect(Number(got.publish_ts)).toBe(w.publish_ts);
        expect(got.price).toBe(w.price);
        expect(got.active).toBe(w.active);
        expect(got.vector).toEqual(Array.from(Float32Array.from(w.vector)));
      }
      // a bad row fails the whole request with the field named, and nothing of it is written
      await expect(
        writer.insert(typed, [
          { item_id: 'c', vector: vectors[2]!, category: 'y', publish_ts: 1, price: 1, active: true },
          {
            item_id: 'd',
            vector: vectors[3]!.slice(1),
            category: 'y',
            publish_ts: 1,
            price: 1,
            active: true,
          },
        ]),
      ).rejects.toThrow(/row 1: field vector must be 16 numbers/);
      await expect(
        writer.insert(typed, [
          { item_id: 'e', vector: vectors[4]!, category: 'y', publish_ts: 1.5, price: 1, active: true },
        ]),
      ).rejects.toThrow(/row 0: field publish_ts must be of type Int64/);
      expect(await reader.count(typed)).toBe(2);
    } finally {
      await admin.dropCollection(typed);
    }
  });

  it('searches by inner product, best first, with correct scores', async () => {
    const q = unit(Array.from({ length: DIM }, r));
    const hits = await searcher.search(coll, q, 10, { ef: 200 });
    expect(hits).toHaveLength(10);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    for (const h of hits) {
      const idx = Number(h.item_id.slice(5));
      expect(h.score).toBeCloseTo(dot(q, vectors[idx]!), 4);
    }
    const exact = vectors
      .map((v, i) => ({ i, s: dot(q, v) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 10);
    const overlap = hits.filter((h) => exact.some((e) => `item-${e.i}` === h.item_id)).length;
    // a bound, not 10: HNSW is approximate, and its graph is built by several threads
    expect(overlap).toBeGreaterThanOrEqual(8);
  });

  it('filters on scalar fields', async () => {
    const filter = buildFilter([
      { field: 'category', op: 'in', values: ['a', 'b'] },
      { field: 'publish_ts', op: '>=', value: 600 },
    ]);
    const hits = await searcher.search(coll, vectors[0]!, 20, {
      filter,
      outputFields: ['category', 'publish_ts'],
    });
    expect(hits.length).toBe(20);
    for (const h of hits) {
      expect(['a', 'b']).toContain(h.fields.category);
      expect(Number(h.fields.publish_ts)).toBeGreaterThanOrEqual(600);
    }
    const q = await reader.query(coll, buildFilter([{ field: 'publish_ts', op: '<', value: 3 }]), [
      'item_id',
      'category',
    ]);
    expect(q.map((x) => x.item_id).sort()).toEqual(['item-0', 'item-1', 'item-2']);
  });

  it('pre-encoded searches answer as the SDK does: several queries, filters, no match, bad input', async () => {
    const filter = buildFilter([{ field: 'category', op: 'in', values: ['a', 'c'] }]);
    const qs = [vectors[3]!, unit(Array.from({ length: DIM }, r)), Float32Array.from(vectors[7]!)];
    const encoded = await searcher.searchMany(coll, qs, 15, { filter, ef: 200, consistency: 'Strong' });
    // outputFields route the same search through the SDK's own search
    const sdk = await searcher.searchMany(coll, qs, 15, {
      filter,
      ef: 200,
      consistency: 'Strong',
      outputFields: ['category'],
    });
    expect(encoded).toHaveLength(3);
    for (const [q, list] of encoded.entries()) {
      expect(list.map((h) => h.item_id)).toEqual(sdk[q]!.map((h) => h.item_id));
      for (const [j, h] of list.entries()) {
        expect(h.score).toBeCloseTo(sdk[q]![j]!.score, 5);
        expect(h.score).toBeCloseTo(dot(Array.from(qs[q]!), vectors[Number(h.item_id.slice(5))]!), 4);
        // categories a and c: item i has ['a', 'b', 'c'][i % 3]
        expect([0, 2]).toContain(Number(h.item_id.slice(5)) % 3);
      }
    }
    expect(encoded[0]![0]!.item_id).toBe('item-3');
    const none = buildFilter([{ field: 'publish_ts', op: '<', value: 0 }]);
    expect(
      await searcher.searchMany(coll, qs.slice(0, 2), 5, { filter: none, consistency: 'Strong' }),
    ).toEqual([[], []]);
    await expect(searcher.search(coll, [1, 2, 3], 5)).rejects.toThrow(
      /search .*query vector 0 has 3 numbers, the collection 16/,
    );
    await expect(searcher.search(`missing_${suffix}`, vectors[0]!, 5)).rejects.toThrow(/missing_/);
  });

  it('upserts and deletes by id, visible to the next search', async () => {
    const target = unit(Array.from({ length: DIM }, r));
    await writer.upsert(coll, [{ item_id: 'item-7', vector: target, category: 'z', publish_ts: 7 }]);
    const top = await searcher.search(coll, target, 1, { outputFields: ['category'] });
    expect(top[0]?.item_id).toBe('item-7');
    expect(top[0]?.fields.category).toBe('z');
    expect(top[0]?.score).toBeCloseTo(1, 4);
    await writer.deleteByIds(coll, ['item-7']);
    const after = await searcher.search(coll, target, 5);
    expect(after.map((h) => h.item_id)).not.toContain('item-7');
    expect(await reader.count(coll)).toBe(N - 1);
  });

  it('serves through an alias that switches collections', async () => {
    await admin.createCollection({ name: coll2, dim: DIM, scalars, writeOnce: true });
    await admin.createHnswIndex(coll2);
    await admin.load(coll2);
    await writer.insert(coll2, [
      { item_id: 'only-in-v2', vector: vectors[0]!, category: 'a', publish_ts: 1 },
    ]);
    await admin.switchAlias(alias, coll);
    expect(await admin.aliasTarget(alias)).toBe(coll);
    expect((await searcher.search(alias, vectors[0]!, 1))[0]?.item_id).toBe('item-0');
    await admin.switchAlias(alias, coll2);
    expect(await admin.aliasTarget(alias)).toBe(coll2);
    expect((await searcher.search(alias, vectors[0]!, 1))[0]?.item_id).toBe('only-in-v2');
    await admin.dropAlias(alias);
    expect(await admin.aliasTarget(alias)).toBeUndefined();
  });

  it('releases a collection from memory and loads it back, data kept', async () => {
    expect(await admin.isLoaded(coll2)).toBe(true);
    await admin.release(coll2);
    expect(await admin.isLoaded(coll2)).toBe(false);
    await expect(searcher.search(coll2, vectors[0]!, 1)).rejects.toThrow();
    await admin.load(coll2);
    expect(await admin.isLoaded(coll2)).toBe(true);
    expect((await searcher.search(coll2, vectors[0]!, 1))[0]?.item_id).toBe('only-in-v2');
  });

  // milvus-lite has no compaction and keeps no collection properties
  it.skipIf(cfg.milvusEngine === 'lite')(
    'turns automatic compaction off for a write-once collection only',
    async () => {
      expect((await admin.collectionProperties(coll2))[AUTO_COMPACTION_PROPERTY]).toBe('false');
      expect((await admin.collectionProperties(coll))[AUTO_COMPACTION_PROPERTY]).toBeUndefined();
    },
  );
});
