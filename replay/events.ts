import { compareInteractions } from '../model/data/order.js';
import type { Dataset, Interaction } from '../model/data/types.js';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import { ID_PATTERN } from '../schemas/ids.js';
import type { ItemEvent } from '../schemas/item.js';
import type { UserProfileEvent } from '../schemas/user.js';

// Turns a dataset (DESIGN.md §5) into the events producers would have posted. Event ids are
// derived from the dataset's name and each row's content key, so replaying the same dataset twice
// is a no-op downstream, and the online order of a user's events, (ts, event_id), is the
// offline order (ts, key) of model/data/order.ts: every id of a dataset shares the `${tag}-` prefix.

/** A prefix for event ids from the dataset's name, restricted to id characters. */
export function datasetTag(name: string): string {
  const tag = name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (tag || 'dataset').slice(0, 40);
}

/** A lowercase word (`[a-z][a-z0-9_]*`) from free text: `Add-To-Cart` → `add_to_cart`. */
function lowercaseWord(raw: string, fallback: string, max: number): string {
  const w = raw
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^[^a-z]+/, '');
  return (w || fallback).slice(0, max);
}

/** Feature names must be lowercase words: `Release Year` → `release_year`. */
export const featureName = (column: string): string => lowercaseWord(column, 'f', 64);

/** Event types must be lowercase words: `Add-To-Cart` → `add_to_cart`. */
export const eventType = (raw: string): string => lowercaseWord(raw, 'event', 32);

/** Contract limits of feature maps (schemas/ids.ts): keep the first 64 names, clip values. */
const MAX_FEATURES = 64;
function setFeature(out: Record<string, unknown>, column: string, value: string | number | string[]): void {
  const name = featureName(column);
  if (name in out || Object.keys(out).length >= MAX_FEATURES) return;
  out[name] = Array.isArray(value)
    ? value.slice(0, 64).map((v) => v.slice(0, 256))
    : typeof value === 'string'
      ? value.slice(0, 1024)
      : value;
}

const toMs = (unixSeconds: number): number => Math.round(unixSeconds * 1000);

/**
 * `${tag}-${key}`, checked against the id rule of schemas/ids.ts (1–128 chars of
 * [A-Za-z0-9_.@+=-]): a CSV key is 16 hex chars and maybe `.N`, so with a tag of ≤ 40 chars
 * an id has about 60.
 */
export function behaviourEventId(tag: string, key: string): string {
  const id = `${tag}-${key}`;
  // clipping or mapping would break uniqueness or the order equivalence, so refuse instead
  if (!ID_PATTERN.test(id)) throw new Error(`interaction key ${JSON.stringify(key)} gives no valid event id`);
  return id;
}

/** Interactions in (ts, key) order (model/data/order.ts), as behaviour events with id `${tag}-${key}`. */
export function behaviourEvents(
  ds: Dataset,
  interactions: Interaction[] = ds.interactions,
): BehaviourEvent[] {
  const tag = datasetTag(ds.name);
  const sorted = [...interactions].sort(compareInteractions);
  return sorted.map((x) => {
    const e: BehaviourEvent = {
      event_id: behaviourEventId(tag, x.key),
      user_id: x.user,
      item_id: x.item,
      type: x.type !== undefined ? eventType(x.type) : x.value !== undefined ? 'rating' : 'view',
      ts: toMs(x.ts),
    };
    if (x.value !== undefined) e.value = x.value;
    return e;
  });
}

/**
 * One upsert per item of the corpus, stamped with the dataset's first interaction time; items
 * in `ds.idOnly` (no row in the item file) get none, as a producer would post no profile for
 * them: online, like offline, they are known by their ID alone.
 */
export function itemEvents(ds: Dataset, ts: number): ItemEvent[] {
  const tag = datasetTag(ds.name);
  const bare = new Set(ds.idOnly?.items);
  return [...ds.items.values()]
    .filter((it) => !bare.has(it.id))
    .map((it) => {
      const features: NonNullable<ItemEvent['features']> = {};
      if (it.text !== undefined) setFeature(features, 'title', it.text);
      for (const [k, vs] of Object.entries(it.categorical)) setFeature(features, k, vs);
      for (const [k, v] of Object.entries(it.numeric)) setFeature(features, k, v);
      return { event_id: `${tag}-item-${it.id}`.slice(0, 128), op: 'upsert', item_id: it.id, ts, features };
    });
}

/** One profile per user that has profile columns (users.csv); bare users are skipped. */
export function userEvents(ds: Dataset, ts: number): UserProfileEvent[] {
  const tag = datasetTag(ds.name);
  const out: UserProfileEvent[] = [];
  for (const u of ds.users.values()) {
    const entries = Object.entries(u.categorical);
    if (entries.length === 0) continue;
    const profile: UserProfileEvent['profile'] = {};
    for (const [k, v] of entries) setFeature(profile, k, v);
    out.push({ event_id: `${tag}-user-${u.id}`.slice(0, 128), user_id: u.id, ts, profile });
  }
  return out;
}
