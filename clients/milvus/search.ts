// Top-k searches by inner product: pre-encoded (searchCodec.ts) for ids and scores, the SDK's
// search when scalar fields come back too.
import type { MilvusConnection } from './connection.js';
import { PK, VEC } from './schema.js';
import { SearchCodec } from './searchCodec.js';
import { type AnyResult, checkStatus, MilvusError } from './status.js';

export interface Hit {
  item_id: string;
  score: number;
  fields: Record<string, unknown>;
}

export interface SearchOptions {
  filter?: string;
  outputFields?: string[];
  ef?: number;
  /** Per-request override; on Milvus 2.3 Strong waits for a ~200 ms time tick, Bounded does not. */
  consistency?: 'Strong' | 'Session' | 'Bounded' | 'Eventually';
}

export class VectorSearch {
  private codec: SearchCodec | undefined;

  constructor(private readonly conn: MilvusConnection) {}

  /** Top-k by inner product (metric passed explicitly: milvus-lite does not infer it), best first. */
  async search(name: string, vector: ArrayLike<number>, k: number, opts: SearchOptions = {}): Promise<Hit[]> {
    return (await this.searchMany(name, [vector], k, opts))[0] ?? [];
  }

  /**
   * Top-k for several query vectors in one call; one hit list per query, best first. Without
   * extra output fields the request and answer are encoded here (searchCodec.ts): the SDK's
   * generic search path cost the client about as much CPU as the search cost Milvus.
   */
  async searchMany(
    name: string,
    vectors: readonly ArrayLike<number>[],
    k: number,
    opts: SearchOptions = {},
  ): Promise<Hit[][]> {
    if (vectors.length === 0) return [];
    const extra = (opts.outputFields ?? []).filter((f) => f !== PK);
    const ef = Math.max(opts.ef ?? 64, k);
    return extra.length === 0
      ? this.searchEncoded(name, vectors, k, ef, opts)
      : this.searchSdk(name, vectors, k, ef, opts, extra);
  }

  private async searchEncoded(
    name: string,
    vectors: readonly ArrayLike<number>[],
    k: number,
    ef: number,
    opts: SearchOptions,
  ): Promise<Hit[][]> {
    const what = `search ${name}`;
    const vec = (await this.conn.fields(name)).find((f) => f.name === VEC);
    if (!vec) throw new MilvusError(`${what}: the collection has no ${VEC} field`);
    this.codec ??= new SearchCodec(this.conn.proto);
    const codec = this.codec;
    let body: Uint8Array;
    try {
      body = codec.encode({
        collection: name,
        vectorField: VEC,
        pkField: PK,
        vectors,
        dim: Number(vec.dim),
        limit: k,
        metric: 'IP',
        params: { ef },
        ...(opts.filter ? { filter: opts.filter } : {}),
        ...(opts.consistency ? { consistency: opts.consistency } : {}),
      });
    } catch (e) {
      // the vector size comes from the cached schema: read it again next time
      this.conn.markStale(name);
      throw new MilvusError(`${what}: ${(e as Error).message}`);
    }
    const summary = { collection_name: name, nq: vectors.length, limit: k };
    const res = await this.conn.unary(what, name, 'Search', body, summary, {
      // no retries: a recall request that misses its deadline is served around, not repeated
      retry: false,
      // a decoding error is handed back as the answer: thrown in the deserializer, gRPC would
      // replace it with a generic parsing error
      decode: (bytes) => {
        try {
          return codec.decode(bytes, vectors.length, PK);
        } catch (e) {
          return new MilvusError(`${what}: ${(e as Error).message}`);
        }
      },
    });
    return (res.hits as { id: string; score: number }[][]).map((list) =>
      list.map((h) => ({ item_id: h.id, score: h.score, fields: {} })),
    );
  }

  /** The SDK's search, for answers that carry scalar fields. */
  private async searchSdk(
    name: string,
    vectors: readonly ArrayLike<number>[],
    k: number,
    ef: number,
    opts: SearchOptions,
    extra: string[],
  ): Promise<Hit[][]> {
    const res = checkStatus(
      `search ${name}`,
      await this.conn.client.search({
        collection_name: name,
        data: vectors.map((v) => Array.from(v)),
        anns_field: VEC,
        limit: k,
        filter: opts.filter || undefined,
        // milvus-lite returns no ids unless the primary key is asked for explicitly
        output_fields: [PK, ...extra],
        metric_type: 'IP',
        params: { ef },
        ...(opts.consistency ? { consistency_level: opts.consistency } : {}),
      } as AnyResult),
    );
    // one query comes back as a flat hit list, several as a list per query
    const results: AnyResult[] = res.results ?? [];
    const lists: AnyResult[][] = vectors.length === 1 && !Array.isArray(results[0]) ? [results] : results;
    return lists.map((hits) =>
      hits.map((h: AnyResult) => {
        const { id, score, [PK]: pk, ...fields } = h;
        return { item_id: String(pk ?? id), score: Number(score), fields };
      }),
    );
  }
}
