import { describe, expect, it } from 'vitest';
import { SearchBatcher, SearchDeadlineError } from '../../../serving/search-batcher.js';
import type {
  VectorHit as Hit,
  ItemVectorStore,
  VectorSearchOptions as SearchOptions,
} from '../../../stores/vectors/index.js';

// The coalescing logic only: a recorder stands in for the item vector store (the real search is
// covered by the integration tests of the recall API).
function recorder() {
  const calls: { collection: string; nq: number; limit: number; opts: SearchOptions }[] = [];
  const waiting: (() => void)[] = [];
  let fail = false;
  const milvus = {
    async search(collection: string, vectors: number[][], limit: number, opts: SearchOptions) {
      calls.push({ collection, nq: vectors.length, limit, opts });
      await new Promise<void>((r) => {
        waiting.push(r);
      });
      if (fail) throw new Error('milvus down');
      // each query's hits encode which vector it was, and as many as the limit asks
      return vectors.map((v) =>
        Array.from({ length: limit }, (_, i): Hit => ({ item_id: `${v[0]}-${i}`, score: -i, fields: {} })),
      );
    },
  } as unknown as ItemVectorStore;
  return {
    milvus,
    calls,
    /** Lets the oldest call in flight answer. */
    release: () => waiting.shift()?.(),
    failNext: () => {
      fail = true;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SearchBatcher', () => {
  it('sends a lone request at once, and batches those that arrive while a search is in flight', async () => {
    const r = recorder();
    const b = new SearchBatcher(r.milvus, 8);
    const first = b.search('c', [1], 3, {});
    await tick();
    expect(r.calls).toEqual([{ collection: 'c', nq: 1, limit: 3, opts: {} }]);
    const later = [b.search('c', [2], 2, {}), b.search('c', [3], 5, {})];
    await tick();
    expect(r.calls).toHaveLength(1);
    r.release();
    expect((await first).map((h) => h.item_id)).toEqual(['1-0', '1-1', '1-2']);
    await tick();
    expect(r.calls[1]).toMatchObject({ nq: 2, limit: 5 });
    r.release();
    const [two, three] = await Promise.all(later);
    expect(two?.map((h) => h.item_id)).toEqual(['2-0', '2-1']);
    expect(three).toHaveLength(5);
  });

  it('never mixes collections or filters in one call, and bounds the batch', async () => {
    const r = recorder();
    const b = new SearchBatcher(r.milvus, 2);
    const all = [
      b.search('v1', [1], 1, {}),
      b.search('v2', [2], 1, {}),
      b.search('v1', [3], 1, { conditions: [{ field: 'category', op: 'in', values: ['A'] }] }),
    ];
    await tick();
    expect(r.calls.map((c) => [c.collection, c.nq, c.opts.conditions])).toEqual([
      ['v1', 1, undefined],
      ['v2', 1, undefined],
      ['v1', 1, [{ field: 'category', op: 'in', values: ['A'] }]],
    ]);
    for (let i = 0; i < 3; i++) r.release();
    const more = [b.search('v1', [4], 1, {}), b.search('v1', [5], 1, {}), b.search('v1', [6], 1, {})];
    await tick();
    r.release();
    await tick();
    r.release();
    await tick();
    r.release();
    await Promise.all([...all, ...more]);
    // three queued for one collection and filter, at most 2 a call: 2 then 1
    expect(r.calls.slice(3).map((c) => [c.collection, c.nq])).toEqual([
      ['v1', 2],
      ['v1', 1],
    ]);
  });

  it('fails a request past its deadline, queued or in flight, and the rest of its batch still answers', async () => {
    const r = recorder();
    const b = new SearchBatcher(r.milvus, 8, 40);
    const sent = b.search('c', [1], 1, {});
    await tick();
    const queued = b.search('c', [2], 1, {});
    await expect(sent).rejects.toThrow(SearchDeadlineError);
    await expect(queued).rejects.toThrow(/within 40 ms/);
    // the queued one left the lane: the next call carries only the newcomer
    const late = b.search('c', [3], 1, {});
    r.release();
    await tick();
    expect(r.calls.map((c) => c.nq)).toEqual([1, 1]);
    r.release();
    expect((await late).map((h) => h.item_id)).toEqual(['3-0']);
  });

  it('fails every request of a failed call, and the next one goes out', async () => {
    const r = recorder();
    const b = new SearchBatcher(r.milvus, 8);
    r.failNext();
    const failed = b.search('c', [1], 1, {});
    await tick();
    r.release();
    await expect(failed).rejects.toThrow('milvus down');
    await tick();
    expect(r.calls).toHaveLength(1);
  });
});
