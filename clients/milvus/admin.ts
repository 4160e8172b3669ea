// Collection administration: create, index, load/release, flush, aliases, drop.
import { DataType } from '@zilliz/milvus2-sdk-node';
import type { MilvusConnection } from './connection.js';
import { AUTO_COMPACTION_PROPERTY, type ItemCollectionSpec, PK, SCALAR_TYPES, VEC } from './schema.js';
import { type AnyResult, checkStatus, MilvusError } from './status.js';

export interface HnswParams {
  M?: number;
  efConstruction?: number;
}

const INDEX_NAME = 'vector_hnsw';

/** The administrative calls, each checked; one collection per model version. */
export class CollectionAdmin {
  constructor(private readonly conn: MilvusConnection) {}

  private get client() {
    return this.conn.client;
  }

  async hasCollection(name: string): Promise<boolean> {
    const res = checkStatus('hasCollection', await this.client.hasCollection({ collection_name: name }));
    return Boolean(res.value);
  }

  /** Names of every collection of the database. */
  async listCollections(): Promise<string[]> {
    const res = checkStatus('showCollections', await this.client.showCollections());
    return ((res.data ?? []) as { name: string }[]).map((c) => c.name);
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

  async createHnswIndex(name: string, params: HnswParams = {}): Promise<void> {
    checkStatus(
      `createIndex ${name}`,
      await this.client.createIndex({
        collection_name: name,
        field_name: VEC,
        index_name: INDEX_NAME,
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
          index_name: INDEX_NAME,
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

  async flush(name: string): Promise<void> {
    checkStatus(`flush ${name}`, await this.client.flushSync({ collection_names: [name] }));
  }

  /** The collection's properties as Milvus stores them (e.g. `AUTO_COMPACTION_PROPERTY`). */
  async collectionProperties(name: string): Promise<Record<string, string>> {
    const list = ((await this.conn.describe(name, false)).properties ?? []) as {
      key: string;
      value: string;
    }[];
    return Object.fromEntries(list.map((p) => [p.key, p.value]));
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

  /** Drops the collection when it exists (dropping an absent one is not an error). */
  async dropCollection(name: string): Promise<void> {
    if (!(await this.hasCollection(name))) return;
    checkStatus(`dropCollection ${name}`, await this.client.dropCollection({ collection_name: name }));
  }
}
