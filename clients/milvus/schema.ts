// The shape of an item collection: `item_id` primary key, one float vector, filterable scalars.
import { DataType } from '@zilliz/milvus2-sdk-node';

export const PK = 'item_id';
export const VEC = 'vector';

/** A scalar field of an item collection (structurally the vectors store's FilterableField). */
export interface ScalarField {
  name: string;
  type: 'varchar' | 'int64' | 'double' | 'bool';
}

export interface ItemCollectionSpec {
  name: string;
  dim: number;
  /** Filterable scalar fields besides the `item_id` primary key and the vector. */
  scalars: ScalarField[];
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

export const SCALAR_TYPES: Record<ScalarField['type'], DataType> = {
  varchar: DataType.VarChar,
  int64: DataType.Int64,
  double: DataType.Double,
  bool: DataType.Bool,
};
