// Store profiles as the model's records: the one mapping from what HBase keeps to what the towers read.
import type { ItemState, UserProfile } from '../../stores/profiles/index.js';
import type { ItemRecord, UserRecord } from './types.js';

/** An item profile as the model's item record: lists are categorical, numbers numeric, `title` text. */
export function itemRecordOf(s: ItemState): ItemRecord {
  const rec: ItemRecord = { id: s.item_id, categorical: {}, numeric: {} };
  for (const [k, v] of Object.entries(s.features)) {
    if (k === 'title' && typeof v === 'string') rec.text = v;
    else if (Array.isArray(v)) rec.categorical[k] = v;
    else if (typeof v === 'number') rec.numeric[k] = v;
    else rec.categorical[k] = [String(v)];
  }
  return rec;
}

export function userRecordOf(p: UserProfile): UserRecord {
  const categorical: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.profile)) categorical[k] = Array.isArray(v) ? v.join('|') : String(v);
  return { id: p.user_id, categorical };
}
