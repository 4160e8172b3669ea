import { createHash } from 'node:crypto';
import { byUserInTimeOrder } from '../samples.js';
import { ContentKeys } from './keys.js';
import { seededRandom } from './random.js';
import type { Dataset, Interaction, ItemRecord } from './types.js';

// `towerflow dataset sparse`: a harder benchmark made from any dataset. A seeded share of each
// user's rows, timestamps cut to the UTC day (so most of a user's rows tie), every n-th
// interacted item without an item row (ID-only), rows in a seeded random order (file order
// carries no time). Pure: the same dataset and options give the same output, byte for byte
// once written, whatever the source file's row order.

export interface SparseOptions {
  /** Share of each user's rows kept, in (0, 1]. */
  keep: number;
  seed: number;
  /** Every `dropEvery`-th interacted item (sorted IDs, index % n === n − 1) loses its item row; 0: none. */
  dropEvery: number;
  /** Name of the output dataset (its folder's name). */
  name: string;
}

export interface SparseStats {
  users: number;
  /** Rows kept, and rows of the source. */
  rows: number;
  sourceRows: number;
  /** Items of the output's interactions, and of its corpus (items.csv rows plus ID-only items). */
  interactedItems: number;
  corpusItems: number;
  /** Interacted items without an items.csv row: dropped by the rule, plus the source's own ID-only ones. */
  itemsWithoutRow: number;
  droppedByRule: number;
  /** Interactions on items without a row. */
  rowsOnItemsWithoutRow: number;
  /** Rows sharing their timestamp with another row of the same user. */
  tiedRows: number;
  /** Users with two or more distinct items (evaluable by leave-last-out). */
  evaluableUsers: number;
}

export interface SparseDataset {
  /** Interactions in output (file) order, keyed as loadDataset would key them; items and users to write. */
  ds: Dataset;
  /** Interacted items written without an items.csv row, sorted. */
  withoutRow: string[];
  stats: SparseStats;
}

const DAY = 86_400;
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Rows kept for a user with `n` rows: round(n · keep), at least 2 (so a user stays evaluable), at most n. */
export function rowsToKeep(n: number, keep: number): number {
  if (n <= 2) return n;
  return Math.min(n, Math.max(2, Math.round(n * keep)));
}

/** A 32-bit seed per (seed, user): each user's draw depends on nothing else. */
function userSeed(seed: number, user: string): number {
  return Number.parseInt(createHash('sha1').update(`${seed}\t${user}`).digest('hex').slice(0, 8), 16);
}

/**
 * The kept rows of one user (rows in (ts, key) order): a seeded sample of `rowsToKeep` rows; when
 * the sample holds one distinct item but the user has more, its last pick is swapped for the
 * first unpicked row of another item, so every user with two items stays evaluable.
 */
function sampleUser(rows: Interaction[], k: number, random: () => number): Interaction[] {
  const order = rows.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (order.length - i));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const picked = order.slice(0, k);
  const first = (rows[picked[0] as number] as Interaction).item;
  if (k >= 2 && picked.every((p) => (rows[p] as Interaction).item === first)) {
    const other = order.slice(k).find((p) => (rows[p] as Interaction).item !== first);
    if (other !== undefined) picked[k - 1] = other;
  }
  return picked.sort((a, b) => a - b).map((p) => rows[p] as Interaction);
}

export function sparsify(source: Dataset, o: SparseOptions): SparseDataset {
  if (!(o.keep > 0 && o.keep <= 1)) throw new RangeError(`keep must be in (0, 1], got ${o.keep}`);
  if (!Number.isInteger(o.dropEvery) || o.dropEvery < 0 || o.dropEvery === 1)
    throw new RangeError(`dropEvery must be 0 (none) or an integer ≥ 2, got ${o.dropEvery}`);

  // users in ID order, each user's rows in (ts, key) order: nothing depends on the source file order
  const grouped = byUserInTimeOrder(source.interactions);
  const kept: { user: string; item: string; ts: number; type?: string; value?: number }[] = [];
  let evaluableUsers = 0;
  for (const user of [...grouped.keys()].sort(byCodeUnits)) {
    const rows = grouped.get(user) as Interaction[];
    const sample = sampleUser(rows, rowsToKeep(rows.length, o.keep), seededRandom(userSeed(o.seed, user)));
    if (new Set(sample.map((x) => x.item)).size >= 2) evaluableUsers++;
    for (const x of sample) {
      const row: (typeof kept)[number] = { user: x.user, item: x.item, ts: Math.floor(x.ts / DAY) * DAY };
      if (x.type !== undefined) row.type = x.type;
      if (x.value !== undefined) row.value = x.value;
      kept.push(row);
    }
  }

  const interacted = [...new Set(kept.map((x) => x.item))].sort(byCodeUnits);
  const byRule = o.dropEvery === 0 ? [] : interacted.filter((_, i) => i % o.dropEvery === o.dropEvery - 1);
  const sourceBare = new Set(source.idOnly?.items);
  const noRow = new Set([...byRule, ...interacted.filter((id) => sourceBare.has(id))]);
  const items = new Map<string, ItemRecord>();
  for (const [id, rec] of source.items) if (!noRow.has(id) && !sourceBare.has(id)) items.set(id, rec);
  const withoutRow = [...noRow].sort(byCodeUnits);

  // a seeded shuffle of the file order, then the keys loadDataset will give the written file
  // (a repeat's .N suffix follows file order)
  const random = seededRandom(o.seed);
  for (let i = kept.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kept[i], kept[j]] = [kept[j] as (typeof kept)[number], kept[i] as (typeof kept)[number]];
  }
  const keys = new ContentKeys();
  const interactions: Interaction[] = kept.map((x, row) => ({ ...x, key: keys.next(x), row }));

  const corpus = new Map(items);
  for (const id of withoutRow) corpus.set(id, { id, categorical: {}, numeric: {} });
  const ds: Dataset = { name: o.name, interactions, items: corpus, users: source.users, skipped: [] };
  const rowsOnBare = interactions.filter((x) => noRow.has(x.item)).length;
  if (withoutRow.length > 0) ds.idOnly = { source: 'items.csv', items: withoutRow, interactions: rowsOnBare };

  const perUserTs = new Map<string, number>();
  for (const x of interactions)
    perUserTs.set(`${x.user}\t${x.ts}`, (perUserTs.get(`${x.user}\t${x.ts}`) ?? 0) + 1);
  let tiedRows = 0;
  for (const c of perUserTs.values()) if (c > 1) tiedRows += c;

  return {
    ds,
    withoutRow,
    stats: {
      users: grouped.size,
      rows: interactions.length,
      sourceRows: source.interactions.length,
      interactedItems: interacted.length,
      corpusItems: corpus.size,
      itemsWithoutRow: withoutRow.length,
      droppedByRule: byRule.length,
      rowsOnItemsWithoutRow: rowsOnBare,
      tiedRows,
      evaluableUsers,
    },
  };
}
