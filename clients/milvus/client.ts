import { DataType, MilvusClient } from '@zilliz/milvus2-sdk-node';
import type { Config } from '../../config/index.js';
import { ColumnWriteEncoder, type SchemaField, type WriteKind } from './columnWrite.js';
import { type FilterableField, idsFilter, stringLiteral } from './filter.js';
import { SearchCodec } from './searchCodec.js';

export { DataType } from '@zilliz/milvus2-sdk-node';

export class MilvusError extends Error {
  override name = 'MilvusError';
}

// biome-ignore lint/suspicious/noExplicitAny: SDK result shapes vary per call
type AnyResult = any;

/**
 * Every SDK result carries a status; the SDK turns a gRPC UNIMPLEMENTED into an empty object,
 * so a missing status is a failure too.
 */
export function checkStatus(what: string, res: AnyResult): AnyResult {
  if (res === null || res === undefined) throw new MilvusError(`${what}: no result`);
  const st = res.status && typeof res.status === 'object' ? res.status : res;
  if (st.error_code === undefined && st.code === undefined)
    throw new MilvusError(`${what}: the server returned no status (unsupported call?)`);
  const ok = (st.error_code === undefined || st.error_code === 'Success' || st.error_code === 0) && !st.code;
  if (!ok) throw new MilvusError(`${what}: ${st.error_code ?? st.code} ${st.reason ?? ''}`.trim());
  return res;
}

export function createMilvus(
  cfg: Pick<Config, 'milvusAddress' | 'milvusToken'>,
  timeoutMs = 60_000,
): MilvusClient {
  const client = new MilvusClient({
    address: cfg.milvusAddress,
    token: cfg.milvusToken || undefined,
    timeout: timeoutMs,
    // the SDK's default heartbeats go to the Milvus server itself; nothing leaves the cluster, but off is quieter
    telemetry: { enabled: false },
    logLevel: 'error',
    // a long unary call (index build) sends no data: Python gRPC servers (milvus-lite) GOAWAY on frequent pings
    channelOptions: { 'grpc.keepalive_time_ms': 300_000 },
  } as ConstructorParameters<typeof MilvusClient>[0]);
  // The SDK's connect handshake runs in the background and nothing awaits it when Milvus is down
  // at start: observed here so that it cannot crash the process as an unhandled rejection.
  // Data calls do not wait for it and work once Milvus is reachable.
  (client as unknown as { connectPromise?: Promise<unknown> }).connectPromise?.catch(() => {});
  return client;
}

export interface ItemCollectionSpec {
  name: string;
  dim: number;
  /** Filterable scalar fields besides the `item_id` primary key and the vector. */
  scalars: FilterableField[];
  description?: string;
  /**
   * Written once and then replaced (a version's collection): Milvus' automatic compaction is
   * switched off for it, so the segments a publish indexed are not merged and indexed again after
   * the switch, while they serve (docs/decisions.md, Recall API, "Full segments"). Rows the item
   * bypass deletes or rewrites are then reclaimed when the next publish replaces the collection.
   */
  writeOnce?: boolean;
}

/** Milvus' per-collection switch for automatic compaction (a collection property). */
export const AUTO_COMPACTION_PROPERTY = 'collection.autocompaction.enabled';

export interface ItemRow {
  item_id: string;
  vector: ArrayLike<number>;
  [scalar: string]: unknown;
}

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

const PK = 'item_id';
const VEC = 'vector';

const SCALAR_TYPES: Record<FilterableField['type'], DataType> = {
  varchar: DataType.VarChar,
  int64: DataType.Int64,
  double: DataType.Double,
  bool: DataType.Bool,
};

/** The operations the system needs, each checked; one collection per model version. */
export class ItemVectors {
  private encoder: ColumnWriteEncoder | undefined;
  private searchCodec: SearchCodec | undefined;
  /** The SDK's interceptors without its retrying one (the list it gives its heartbeats). */
  private readonly noRetryInterceptors: unknown[] | undefined;
  /** Collections whose next write re-reads the schema instead of the SDK's describe cache. */
  private readonly staleSchemas = new Set<string>();

  constructor(readonly client: MilvusClient) {
    const list = (client as AnyResult).telemetryChannelOptions?.interceptors;
    this.noRetryInterceptors = Array.isArray(list) && list.length > 0 ? list : undefined;
  }

  static fromConfig(cfg: Pick<Config, 'milvusAddress' | 'milvusToken'>): ItemVectors {
    return new ItemVectors(createMilvus(cfg));
  }

  async hasCollection(name: string): Promise<boolean> {
    const res = checkStatus('hasCollection', await this.client.hasCollection({ collection_name: name }));
    return Boolean(res.value);
  }

  /** `item_id` VarChar primary key (not auto-id), the vector, the scalars; Strong consistency for fresh reads. */
  async createCollection(spec: ItemCollectionSpec): Promise<void> {
    checkStatus(
      `createCollection ${spec.name}`,
      await this.client.createCollection({
        collection_name: spec.name,
        description: spec.description ?? '',
        consistency_level: 'Strong',
        ...(spec.writeOnce ? { properties: { [AUTO_COMPACTION_PROPERTY]: 'false' } } : {}),
        fields: [
          { name: PK, data_type: DataType.VarChar, is_primary_key: true, autoID: false, max_length: 128 },
          { name: VEC, data_type: DataType.FloatVector, dim: spec.dim },
          ...spec.scalars.map((f) => ({
            name: f.name,
            data_type: SCALAR_TYPES[f.type],
            ...(f.type === 'varchar' ? { max_length: 256 } : {}),
          })),
        ],
      } as AnyResult),
    );
  }

  async createHnswIndex(name: string, params: { M?: number; efConstruction?: number } = {}): Promise<void> {
    checkStatus(
      `createIndex ${name}`,
      await this.client.createIndex({
        collection_name: name,
        field_name: VEC,
        index_name: 'vector_hnsw',
        index_type: 'HNSW',
        metric_type: 'IP',
        params: { M: params.M ?? 16, efConstruction: params.efConstruction ?? 200 },
      } as AnyResult),
    );
  }

  /** Milvus standalone builds indexes in the background: wait until every row is indexed. */
  async waitForIndex(name: string, timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = checkStatus(
        `getIndexBuildProgress ${name}`,
        await this.client.getIndexBuildProgress({
          collection_name: name,
          index_name: 'vector_hnsw',
        } as AnyResult),
      );
      const total = Number(res.total_rows ?? 0);
      if (Number(res.indexed_rows ?? 0) >= total) return;
      if (Date.now() > deadline)
        throw new MilvusError(`index of ${name} not built after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async load(name: string): Promise<void> {
    checkStatus(`loadCollection ${name}`, await this.client.loadCollectionSync({ collection_name: name }));
  }

  /** Frees the collection's memory in Milvus; its data stays, and `load` brings it back. */
  async release(name: string): Promise<void> {
    checkStatus(`releaseCollection ${name}`, await this.client.releaseCollection({ collection_name: name }));
  }

  /** Whether the collection is loaded (searchable) now; false while loading or released. */
  async isLoaded(name: string): Promise<boolean> {
    const res = checkStatus(
      `getLoadState ${name}`,
      await this.client.getLoadState({ collection_name: name }),
    );
    return res.state === 'LoadStateLoaded';
  }

  async insert(name: string, rows: ItemRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const res = await this.write('insert', name, rows);
    return Number(res.insert_cnt ?? rows.length);
  }

  async upsert(name: string, rows: ItemRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const res = await this.write('upsert', name, rows);
    return Number(res.upsert_cnt ?? rows.length);
  }

  /**
   * Encodes the request column by column (columnWrite.ts) and sends the bytes on one of the
   * SDK's own gRPC channels (`unary`).
   */
  private async write(kind: WriteKind, name: string, rows: ItemRow[]): Promise<AnyResult> {
    const what = `${kind} ${name}`;
    const schema = await this.describedFields(name);
    this.encoder ??= new ColumnWriteEncoder((this.client as AnyResult).milvusProto);
    let body: Uint8Array;
    try {
      body = this.encoder.encode(kind, name, schema, rows);
    } catch (e) {
      throw new MilvusError(`${what}: ${(e as Error).message}`);
    }
    const summary = { collection_name: name, rows: rows.length };
    return this.unary(what, name, kind === 'insert' ? 'Insert' : 'Upsert', body, summary);
  }

  /**
   * One pre-encoded unary call on one of the SDK's own gRPC channels, so that its interceptors
   * (auth, database, retries) and deadline apply as usual; its status checked. `decode`
   * replaces the SDK's deserializer and may hand back a MilvusError as the answer.
   * `retry: false` keeps the SDK's interceptors but its retrying one, which also serializes
   * every request and answer to JSON for a debug log line, whatever the log level.
   */
  private async unary(
    what: string,
    collection: string,
    methodName: string,
    body: Uint8Array,
    summary: Record<string, unknown>,
    opts: { decode?: (bytes: Buffer) => unknown; retry?: boolean } = {},
  ): Promise<AnyResult> {
    const pool = this.client.channelPool;
    const channel: AnyResult = await pool.acquire();
    try {
      const method = channel[methodName];
      const answer = await new Promise((resolve, reject) => {
        // the SDK's retry interceptor logs each request as JSON: a summary, not the bytes
        const request = { body, toJSON: () => summary };
        channel.makeUnaryRequest(
          method.path,
          (r: typeof request) => Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength),
          opts.decode ?? method.responseDeserialize,
          request,
          {
            deadline: new Date(Date.now() + (this.client.timeout || 60_000)),
            // call interceptors replace the channel's (grpc-js); the SDK's list without retries
            ...(opts.retry === false && this.noRetryInterceptors
              ? { interceptors: this.noRetryInterceptors }
              : {}),
          },
          (err: Error | null, out: unknown) => (err ? reject(err) : resolve(out)),
        );
      });
      if (answer instanceof MilvusError) throw answer;
      return checkStatus(what, answer);
    } catch (e) {
      // a collection dropped and recreated elsewhere under this name may have another schema
      this.staleSchemas.add(collection);
      if (e instanceof MilvusError) throw e;
      throw new MilvusError(`${what}: ${(e as Error).message}`);
    } finally {
      await pool.release(channel);
    }
  }

  /** The collection's fields, from the SDK's bounded describe cache (which its drops invalidate). */
  private async describedFields(name: string): Promise<SchemaField[]> {
    const res = await this.describe(name, !this.staleSchemas.delete(name));
    return (res.schema?.fields ?? []) as SchemaField[];
  }

  /** The collection's properties as Milvus stores them (e.g. `AUTO_COMPACTION_PROPERTY`). */
  async collectionProperties(name: string): Promise<Record<string, string>> {
    const list = ((await this.describe(name, false)).properties ?? []) as { key: string; value: string }[];
    return Object.fromEntries(list.map((p) => [p.key, p.value]));
  }

  private async describe(name: string, cache: boolean): Promise<AnyResult> {
    return checkStatus(
      `describeCollection ${name}`,
      await this.client.describeCollection({ collection_name: name, cache } as AnyResult),
    );
  }

  /** Delete by primary keys (safer than delete-by-expression on Milvus 2.3). */
  async deleteByIds(name: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    checkStatus(
      `delete ${name}`,
      await this.client.delete({ collection_name: name, filter: idsFilter(PK, ids) } as AnyResult),
    );
  }

  async flush(name: string): Promise<void> {
    checkStatus(`flush ${name}`, await this.client.flushSync({ collection_names: [name] }));
  }

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
    vectors: ArrayLike<number>[],
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
    vectors: ArrayLike<number>[],
    k: number,
    ef: number,
    opts: SearchOptions,
  ): Promise<Hit[][]> {
    const what = `search ${name}`;
    const vec = (await this.describedFields(name)).find((f) => f.name === VEC);
    if (!vec) throw new MilvusError(`${what}: the collection has no ${VEC} field`);
    this.searchCodec ??= new SearchCodec((this.client as AnyResult).milvusProto);
    const codec = this.searchCodec;
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
      this.staleSchemas.add(name);
      throw new MilvusError(`${what}: ${(e as Error).message}`);
    }
    const summary = { collection_name: name, nq: vectors.length, limit: k };
    const res = await this.unary(what, name, 'Search', body, summary, {
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
    vectors: ArrayLike<number>[],
    k: number,
    ef: number,
    opts: SearchOptions,
    extra: string[],
  ): Promise<Hit[][]> {
    const res = checkStatus(
      `search ${name}`,
      await this.client.search({
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

  async query(
    name: string,
    filter: string,
    outputFields: string[],
    limit = 1000,
  ): Promise<Record<string, unknown>[]> {
    const res = checkStatus(
      `query ${name}`,
      await this.client.query({
        collection_name: name,
        filter,
        output_fields: outputFields,
        limit,
      } as AnyResult),
    );
    return res.data ?? [];
  }

  /**
   * Every (item_id, vector) of a collection, page by page: each page asks for the keys after the
   * previous page's largest (Milvus reduces query results in primary-key order before cutting at
   * the limit; the SDK's queryIterator relies on the same), so no offset scan grows with the size.
   */
  async *scanVectors(
    name: string,
    pageSize = 16_384,
  ): AsyncGenerator<{ item_id: string; vector: number[] }[]> {
    let after = '';
    for (;;) {
      const page = (await this.query(name, `${PK} > ${stringLiteral(PK, after)}`, [PK, VEC], pageSize)).map(
        (r) => ({ item_id: String(r[PK]), vector: r[VEC] as number[] }),
      );
      if (page.length === 0) return;
      yield page;
      if (page.length < pageSize) return;
      for (const r of page) if (r.item_id > after) after = r.item_id;
    }
  }

  async count(name: string): Promise<number> {
    const res = checkStatus(
      `count ${name}`,
      await this.client.query({
        collection_name: name,
        filter: '',
        output_fields: ['count(*)'],
      } as AnyResult),
    );
    return Number(res.data?.[0]?.['count(*)'] ?? 0);
  }

  async createAlias(alias: string, collection: string): Promise<void> {
    checkStatus(
      `createAlias ${alias}`,
      await this.client.createAlias({ alias, collection_name: collection } as AnyResult),
    );
  }

  async alterAlias(alias: string, collection: string): Promise<void> {
    checkStatus(
      `alterAlias ${alias}`,
      await this.client.alterAlias({ alias, collection_name: collection } as AnyResult),
    );
  }

  /** Points the alias at `collection`, creating it when absent. */
  async switchAlias(alias: string, collection: string): Promise<void> {
    const current = await this.aliasTarget(alias);
    if (current === undefined) await this.createAlias(alias, collection);
    else if (current !== collection) await this.alterAlias(alias, collection);
  }

  async aliasTarget(alias: string): Promise<string | undefined> {
    try {
      // the SDK insists on a collection_name here that the server ignores
      const res = await this.client.describeAlias({ alias, collection_name: alias } as AnyResult);
      const st = res.status;
      if (st && (st.error_code !== 'Success' || st.code)) return undefined;
      return res.collection || undefined;
    } catch {
      return undefined;
    }
  }

  async dropAlias(alias: string): Promise<void> {
    checkStatus(`dropAlias ${alias}`, await this.client.dropAlias({ alias } as AnyResult));
  }

  async dropCollection(name: string): Promise<void> {
    if (!(await this.hasCollection(name))) return;
    checkStatus(`dropCollection ${name}`, await this.client.dropCollection({ collection_name: name }));
  }

  close(): Promise<unknown> {
    return this.client.closeConnection();
  }
}
