// The item vectors of model versions in Milvus: one collection per version, named after the
// alias (collections.ts), which points at the live one.
import { CollectionAdmin } from '../../clients/milvus/admin.js';
import type { MilvusConnection } from '../../clients/milvus/connection.js';
import { buildFilter, idsFilter } from '../../clients/milvus/filter.js';
import { RowQuery } from '../../clients/milvus/query.js';
import { PK } from '../../clients/milvus/schema.js';
import { type SearchOptions, VectorSearch } from '../../clients/milvus/search.js';
import { RowWriter } from '../../clients/milvus/write.js';
import { checkVersionKey, collectionOf, versionOf } from './collections.js';
import {
  type IndexParams,
  type ItemVectorRow,
  type ItemVectorStore,
  LIVE,
  type VectorHit,
  type VectorSearchOptions,
  type VersionShape,
} from './index.js';

/** The store's search options as Milvus takes them: the conditions rendered as one escaped expression. */
export function milvusSearchOptions(opts: VectorSearchOptions = {}): SearchOptions {
  const { conditions, ...rest } = opts;
  return conditions && conditions.length > 0 ? { ...rest, filter: buildFilter(conditions) } : rest;
}

export class MilvusItemVectorStore implements ItemVectorStore {
  readonly admin: CollectionAdmin;
  private readonly writer: RowWriter;
  private readonly reader: RowQuery;
  private readonly searcher: VectorSearch;
  /** Collection names by version key: searches name the same few versions over and over. */
  private readonly names = new Map<string, string>();

  constructor(
    readonly conn: MilvusConnection,
    /** The live alias, and the prefix of every version's collection. */
    readonly alias: string,
  ) {
    this.admin = new CollectionAdmin(conn);
    this.writer = new RowWriter(conn);
    this.reader = new RowQuery(conn);
    this.searcher = new VectorSearch(conn);
  }

  collectionOf(version: string): string {
    let name = this.names.get(version);
    if (name === undefined) {
      if (version === LIVE) name = this.alias;
      else name = collectionOf(this.alias, checkVersionKey(version));
      if (this.names.size > 64) this.names.clear();
      this.names.set(version, name);
    }
    return name;
  }

  create(version: string, shape: VersionShape): Promise<void> {
    return this.admin.createCollection({
      name: this.collectionOf(version),
      dim: shape.dim,
      scalars: [...shape.scalars],
      ...(shape.description !== undefined ? { description: shape.description } : {}),
      ...(shape.writeOnce ? { writeOnce: true } : {}),
    });
  }

  insert(version: string, rows: readonly ItemVectorRow[]): Promise<number> {
    return this.writer.insert(this.collectionOf(version), rows);
  }

  flush(version: string): Promise<void> {
    return this.admin.flush(this.collectionOf(version));
  }

  async buildIndex(version: string, params?: IndexParams): Promise<void> {
    const name = this.collectionOf(version);
    await this.admin.createHnswIndex(name, params);
    await this.admin.waitForIndex(name);
  }

  load(version: string): Promise<void> {
    return this.admin.load(this.collectionOf(version));
  }

  release(version: string): Promise<void> {
    return this.admin.release(this.collectionOf(version));
  }

  isLoaded(version: string): Promise<boolean> {
    return this.admin.isLoaded(this.collectionOf(version));
  }

  exists(version: string): Promise<boolean> {
    return this.admin.hasCollection(this.collectionOf(version));
  }

  count(version: string): Promise<number> {
    return this.reader.count(this.collectionOf(version));
  }

  drop(version: string): Promise<void> {
    return this.admin.dropCollection(this.collectionOf(version));
  }

  async versions(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.admin.listCollections()) {
      const v = versionOf(this.alias, name);
      if (v !== undefined) out.push(v);
    }
    return out.sort();
  }

  upsert(version: string, rows: readonly ItemVectorRow[]): Promise<number> {
    return this.writer.upsert(this.collectionOf(version), rows);
  }

  delete(version: string, ids: readonly string[]): Promise<void> {
    return this.writer.deleteByIds(this.collectionOf(version), ids);
  }

  async fetch(
    version: string,
    ids: readonly string[],
    fields: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    if (ids.length === 0) return [];
    return this.reader.query(this.collectionOf(version), idsFilter(PK, ids), [...fields], ids.length);
  }

  scan(version: string, pageSize?: number): AsyncGenerator<{ item_id: string; vector: number[] }[]> {
    return this.reader.scanVectors(this.collectionOf(version), pageSize);
  }

  search(
    version: string,
    vectors: readonly ArrayLike<number>[],
    k: number,
    opts?: VectorSearchOptions,
  ): Promise<VectorHit[][]> {
    return this.searcher.searchMany(this.collectionOf(version), vectors, k, milvusSearchOptions(opts));
  }

  switchLive(version: string): Promise<void> {
    return this.admin.switchAlias(this.alias, this.collectionOf(version));
  }

  async liveVersion(): Promise<string | undefined> {
    const target = await this.admin.aliasTarget(this.alias);
    return target === undefined ? undefined : versionOf(this.alias, target);
  }

  async dropLive(): Promise<void> {
    if ((await this.admin.aliasTarget(this.alias)) !== undefined) await this.admin.dropAlias(this.alias);
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}
