// The scalar fields every item collection carries beside the vector: what recall may filter on.
import type { FilterableField } from './filter.js';

/** The parts of an item's features the scalars are drawn from (structurally a model ItemRecord). */
export interface ItemFeatures {
  categorical: Record<string, string[] | undefined>;
  numeric: Record<string, number | undefined>;
}

/** Filterable scalar fields of every item collection (the serving layer's filter whitelist). */
export const ITEM_SCALARS: FilterableField[] = [
  { name: 'category', type: 'varchar' },
  { name: 'published_at', type: 'int64' },
];

/** At most `maxBytes` of UTF-8 (Milvus VarChar lengths count bytes), cut on a code-point boundary. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** The scalar values of an item: its first category (or genre) and its publish time (ms, 0 when unknown). */
export function scalarsOf(r: ItemFeatures): { category: string; published_at: number } {
  const cat = r.categorical.category?.[0] ?? r.categorical.genres?.[0] ?? '';
  const published = r.numeric.published_at ?? 0;
  return { category: utf8Prefix(cat, 256), published_at: Math.trunc(published) };
}
