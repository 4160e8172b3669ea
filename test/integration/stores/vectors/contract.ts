import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConditions, FilterError } from '../../../../stores/vectors/filter.js';
import { type ItemVectorRow, type ItemVectorStore, LIVE } from '../../../../stores/vectors/index.js';
import { ITEM_SCALARS } from '../../../../stores/vectors/item-fields.js';

// What every backend of the item vector store must do, run against the real server: a suite
// function over a backend factory (Gorse's storage tests), so a new backend is one more call.
// `open(alias)` gives a store under an alias of its own: this run's versions never meet another's.

const DIM = 8;
const N = 60;
const V1 = 'v20240101-000000';
const V2 = 'v20240102-000000-2';

const basis = (d: number): number[] => Array.from({ length: DIM }, (_, i) => (i === d ? 1 : 0));
/** Item i at angle 0.02·i from e0 towards e(1 + i % 7): its score for e0 is cos(0.02·i), strictly decreasing. */
const angle = (i: number) => 0.02 * i;
function vectorOf(i: number): number[] {
  const v = basis(0).map((x) => x * Math.cos(angle(i)));
  v[1 + (i % 7)] = Math.sin(angle(i));
  return v;
}
const rows: ItemVectorRow[] = Array.from({ length: N }, (_, i) => ({
  item_id: `item-${String(i).padStart(2, '0')}`,
  vector: vectorOf(i),
  category: ['a', 'b', 'c'][i % 3] as string,
  published_at: 1000 + i,
}));
const id = (i: number) => `item-${String(i).padStart(2, '0')}`;
const strong = { consistency: 'Strong' } as const;

async function build(
  store: ItemVectorStore,
  version: string,
  items: readonly ItemVectorRow[],
): Promise<void> {
  await store.create(version, { dim: DIM, scalars: ITEM_SCALARS, writeOnce: true });
  expect(await store.insert(version, items)).toBe(items.length);
  await store.flush(version);
  await store.buildIndex(version);
  await store.load(version);
}

export function itemVectorStoreContract(backend: string, open: (alias: string) => ItemVectorStore): void {
  describe(`item vector store: ${backend}`, () => {
    const alias = `test_vectors_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    const store = open(alias);

    beforeAll(async () => {
      await build(store, V1, rows);
    });
    afterAll(async () => {
      await store.dropLive().catch(() => {});
      for (const v of await store.versions().catch(() => [])) await store.drop(v).catch(() => {});
      await store.close();
    });

    it('builds a version that holds every row and answers the exact top-k per query, best first', async () => {
      expect(await store.exists(V1)).toBe(true);
      expect(await store.isLoaded(V1)).toBe(true);
      expect(await store.count(V1)).toBe(N);
      expect(await store.versions()).toEqual([V1]);
      const [byE0, byE1] = await store.search(V1, [basis(0), basis(1)], 5, strong);
      expect(byE0?.map((h) => h.item_id)).toEqual([0, 1, 2, 3, 4].map(id));
      for (const [j, h] of (byE0 ?? []).entries()) expect(h.score).toBeCloseTo(Math.cos(angle(j)), 5);
      // e1: only items with i % 7 = 0 lean towards it, the farther from e0 the more
      expect(byE1?.map((h) => h.item_id)).toEqual([56, 49, 42, 35, 28].map(id));
      expect(byE1?.[0]?.score).toBeCloseTo(Math.sin(angle(56)), 5);
    });

    it('filters on the scalar fields', async () => {
      const conditions = checkConditions(
        [
          { field: 'category', op: 'in', values: ['b'] },
          { field: 'published_at', op: '>=', value: 1010 },
        ],
        ITEM_SCALARS,
      );
      const [hits] = await store.search(V1, [basis(0)], 3, {
        ...strong,
        conditions,
        outputFields: ['category'],
      });
      expect(hits?.map((h) => h.item_id)).toEqual([10, 13, 16].map(id));
      expect(hits?.map((h) => h.fields.category)).toEqual(['b', 'b', 'b']);
      const none = checkConditions([{ field: 'published_at', op: '<', value: 0 }], ITEM_SCALARS);
      expect(await store.search(V1, [basis(0), basis(1)], 3, { ...strong, conditions: none })).toEqual([
        [],
        [],
      ]);
    });

    it('takes a hostile filter value as one literal, and refuses what cannot be one', async () => {
      // unescaped, this value would close the string and match every row
      const hostile = checkConditions(
        [{ field: 'category', op: '==', value: 'a" or category != "' }],
        ITEM_SCALARS,
      );
      expect(await store.search(V1, [basis(0)], 5, { ...strong, conditions: hostile })).toEqual([[]]);
      const backslash = checkConditions(
        [{ field: 'category', op: 'in', values: ['a\\', 'b'] }],
        ITEM_SCALARS,
      );
      const [onlyB] = await store.search(V1, [basis(0)], 2, { ...strong, conditions: backslash });
      expect(onlyB?.map((h) => h.item_id)).toEqual([1, 4].map(id));
      expect(() =>
        checkConditions([{ field: 'category', op: '==', value: 'a"\n or true' }], ITEM_SCALARS),
      ).toThrow(FilterError);
      expect(() => checkConditions([{ field: 'item_id', op: '!=', value: '' }], ITEM_SCALARS)).toThrow(
        /unknown field "item_id"/,
      );
    });

    it('upserts and deletes rows, and reads them back by id and by scan', async () => {
      const changed = { item_id: id(1), vector: basis(3), category: 'z', published_at: 7 };
      const added = { item_id: 'added', vector: basis(2), category: 'y', published_at: 8 };
      expect(await store.upsert(V1, [changed, added])).toBe(2);
      const back = await store.fetch(
        V1,
        [id(1), 'added', 'absent'],
        ['item_id', 'vector', 'category', 'published_at'],
      );
      const byId = new Map(back.map((r) => [String(r.item_id), r]));
      expect([...byId.keys()].sort()).toEqual(['added', id(1)]);
      expect(byId.get(id(1))).toMatchObject({ category: 'z', vector: basis(3) });
      expect(Number(byId.get('added')?.published_at)).toBe(8);
      expect((await store.search(V1, [basis(2)], 1, strong))[0]?.[0]?.item_id).toBe('added');

      await store.delete(V1, [id(1), 'absent']);
      expect((await store.fetch(V1, [id(1), 'added'], ['item_id'])).map((r) => r.item_id)).toEqual(['added']);
      const [top] = await store.search(V1, [basis(3)], 3, strong);
      expect(top?.map((h) => h.item_id)).not.toContain(id(1));
      expect(await store.count(V1)).toBe(N);

      const scanned: string[] = [];
      for await (const page of store.scan(V1, 16)) {
        expect(page.length).toBeLessThanOrEqual(16);
        for (const r of page) {
          expect(r.vector).toHaveLength(DIM);
          scanned.push(r.item_id);
        }
      }
      const expected = [...rows.map((r) => r.item_id).filter((x) => x !== id(1)), 'added'];
      expect(scanned.sort()).toEqual(expected.sort());
    });

    // Milvus flips the alias's target at once, but its proxy drops its cached alias→collection
    // entry a moment later (a clean CI run saw LIVE answer from V1 just after the switch): so
    // serving never searches the alias, it names the concrete version from the Redis pointer.
    it('switches the live alias in one step: its target flips at once, searches of LIVE follow', async () => {
      await build(store, V2, [{ item_id: 'only-in-v2', vector: basis(0), category: 'a', published_at: 1 }]);
      expect(await store.liveVersion()).toBeUndefined();
      await store.switchLive(V1);
      expect(await store.liveVersion()).toBe(V1);
      expect((await store.search(LIVE, [basis(0)], 1, strong))[0]?.[0]?.item_id).toBe(id(0));
      // searches running across the switch get one version or the other, never an error
      let switched = false;
      const seen = new Set<string>();
      const during = (async () => {
        while (!switched) seen.add((await store.search(LIVE, [basis(0)], 1, strong))[0]?.[0]?.item_id ?? '');
      })();
      await store.switchLive(V2);
      switched = true;
      await during;
      expect([...seen].filter((x) => x !== id(0) && x !== 'only-in-v2')).toEqual([]);
      expect(await store.liveVersion()).toBe(V2);
      await expect
        .poll(async () => (await store.search(LIVE, [basis(0)], 1, strong))[0]?.[0]?.item_id, {
          timeout: 15_000,
        })
        .toBe('only-in-v2');
      expect((await store.search(V1, [basis(0)], 1, strong))[0]?.[0]?.item_id).toBe(id(0));
    });

    it('releases a version from memory and loads it back, rows kept', async () => {
      await store.release(V1);
      expect(await store.isLoaded(V1)).toBe(false);
      await expect(store.search(V1, [basis(0)], 1, strong)).rejects.toThrow();
      await store.load(V1);
      expect(await store.isLoaded(V1)).toBe(true);
      expect((await store.search(V1, [basis(0)], 1, strong))[0]?.[0]?.item_id).toBe(id(0));
    });

    it('drops a version and the alias; dropping again is no error', async () => {
      await store.dropLive();
      expect(await store.liveVersion()).toBeUndefined();
      await store.dropLive();
      await store.drop(V2);
      expect(await store.exists(V2)).toBe(false);
      expect(await store.versions()).toEqual([V1]);
      await store.drop(V2);
      await expect(store.search(V2, [basis(0)], 1, strong)).rejects.toThrow();
    });

    it('refuses bad input with an error that says what is wrong', async () => {
      await expect(
        store.insert(V1, [{ item_id: 'short', vector: [1, 2, 3], category: 'a', published_at: 1 }]),
      ).rejects.toThrow(/vector must be 8 numbers/);
      await expect(
        store.upsert(V1, [{ item_id: 'typed', vector: basis(0), category: 'a', published_at: 1.5 }]),
      ).rejects.toThrow(/published_at/);
      await expect(store.search(V1, [[1, 2, 3]], 1)).rejects.toThrow(/3 numbers, the collection 8/);
      await expect(store.search(V1, [basis(0).map(() => Number.NaN)], 1)).rejects.toThrow(/non-finite/);
      expect(() => store.collectionOf('under_score')).toThrow(/not a version key/);
      await expect(store.count(V1)).resolves.toBe(N);
    });
  });
}
