// The item vectors of model versions, as their users need them: the daily job builds a version's
// collection and switches the live alias; the item bypass writes rows of the live version; the
// embeddings processor reads them; the recall API searches a version's top-k under a filter.
import type { Condition, FilterableField } from './filter.js';

/** One item's row: its id, its vector and its scalar fields (ITEM_SCALARS for a published version). */
export interface ItemVectorRow {
  item_id: string;
  vector: ArrayLike<number>;
  [scalar: string]: unknown;
}

export interface VectorHit {
  item_id: string;
  /** Inner product with the query vector. */
  score: number;
  /** The scalar fields asked for in `outputFields`. */
  fields: Record<string, unknown>;
}

export interface VectorSearchOptions {
  /**
   * Conditions on the scalar fields, all of which a hit meets; checked by `checkConditions`
   * (filter.ts) against the fields the caller may filter on. The backend renders them in its own
   * syntax, escaping every value: no caller writes a backend's filter expression.
   */
  conditions?: readonly Condition[];
  /** Scalar fields to return with each hit (a slower path: only ids and scores otherwise). */
  outputFields?: string[];
  /** Search breadth of the index; at least k. */
  ef?: number;
  /** Bounded does not wait for the newest writes (recall); Strong does (tests, evaluations). */
  consistency?: 'Strong' | 'Session' | 'Bounded' | 'Eventually';
}

export interface VersionShape {
  dim: number;
  /** Filterable scalar fields each row carries besides its id and vector. */
  scalars: readonly FilterableField[];
  description?: string;
  /** Written once then replaced (a published version): the backend may skip its compactions. */
  writeOnce?: boolean;
}

export interface IndexParams {
  M?: number;
  efConstruction?: number;
}

/** `search(LIVE, …)`: the version the live alias points at. */
export const LIVE = '@live';

/**
 * The item vectors of model versions, one set per version key (a version name, or any key of
 * letters, digits and hyphens), and the live alias. Building a version: `create`, `insert`…,
 * `flush`, `buildIndex`, `load`. Every call names a version, never a backend collection.
 */
export interface ItemVectorStore {
  /** The backend's name of the version's collection (reports, the live pointer). */
  collectionOf(version: string): string;

  create(version: string, shape: VersionShape): Promise<void>;
  /** Adds rows (ids not present yet); returns how many were written. */
  insert(version: string, rows: readonly ItemVectorRow[]): Promise<number>;
  /** Makes every row written so far durable and part of sealed segments. */
  flush(version: string): Promise<void>;
  /** Builds the ANN index (HNSW, inner product) and waits until every row is indexed. */
  buildIndex(version: string, params?: IndexParams): Promise<void>;
  /** Makes the version searchable (into memory); waits until it is. */
  load(version: string): Promise<void>;
  /** Frees the version's memory; its rows stay, `load` brings it back. */
  release(version: string): Promise<void>;
  isLoaded(version: string): Promise<boolean>;
  exists(version: string): Promise<boolean>;
  count(version: string): Promise<number>;
  /** Removes the version and its rows; dropping an absent version is not an error. */
  drop(version: string): Promise<void>;
  /** Every version stored under this store's alias. */
  versions(): Promise<string[]>;

  /** Writes rows, replacing those with the same ids; returns how many were written. */
  upsert(version: string, rows: readonly ItemVectorRow[]): Promise<number>;
  delete(version: string, ids: readonly string[]): Promise<void>;
  /** The stored rows of these ids (absent ids left out), with the fields asked for. */
  fetch(
    version: string,
    ids: readonly string[],
    fields: readonly string[],
  ): Promise<Record<string, unknown>[]>;
  /** Every (item_id, vector) of the version, page by page. */
  scan(version: string, pageSize?: number): AsyncGenerator<{ item_id: string; vector: number[] }[]>;

  /** Top-k by inner product for each query vector (one call for all), best first. */
  search(
    version: string,
    vectors: readonly ArrayLike<number>[],
    k: number,
    opts?: VectorSearchOptions,
  ): Promise<VectorHit[][]>;

  /** Points the live alias at the version in one step. Searches of LIVE follow a moment later (the
   * Milvus proxy caches the alias), so serving searches the concrete version, never LIVE. */
  switchLive(version: string): Promise<void>;
  /** The version the live alias points at; undefined when there is no alias. */
  liveVersion(): Promise<string | undefined>;
  /** Removes the live alias (absent: not an error). */
  dropLive(): Promise<void>;

  close(): Promise<void>;
}
