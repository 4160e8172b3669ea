import type { Dataset, Interaction } from '../data/types.js';
import { byUserInTimeOrder } from '../samples.js';
import { type EvaluationResult, MAX_CUTOFF, MetricAccumulator, rankTopK } from './metrics.js';
import type { LeaveLastOutSplit } from './protocol.js';

/*
 * The item-kNN reference recommenders of design.md §6, on the leave-last-out split.
 *
 * Binary user×item matrix of the training rows (a repeated item counts once); n_i = users of
 * item i, co(i,j) = users of both, sim(i,j) = co(i,j) / sqrt(n_i·n_j). A user's score for
 * candidate j is Σ w_i·sim(i,j) over the user's seed items i: every training item with weight 1
 * (item-knn), or the last RECENT_ITEMS distinct ones weighted RECENT_DECAY^r (the recency
 * baseline). The full corpus is ranked with every training item of the user excluded, exactly
 * as for the two-tower model and popularity.
 *
 * Exact scores without an item×item matrix: walking the co-occurrence lists of the seeds,
 *   Σ_i w_i·co(i,j)/sqrt(n_i n_j) = n_j^-½ · Σ_v a_v·[j ∈ I_v],  a_v = Σ_{i ∈ seeds ∩ I_v} w_i·n_i^-½,
 * so one pass over the users v of the seed items, then one over those users' items. Memory is
 * the user×item matrix both ways (two Int32 per training pair) plus one score per corpus item.
 */

/** Names in the eval report's `models` (its table pads names to 18 characters). */
export const ITEM_KNN = 'item-knn';
export const ITEM_KNN_RECENT = 'item-knn (last 5)';
/** Seed items of the recency baseline: the user's last distinct training items. */
export const RECENT_ITEMS = 5;
/**
 * Weight RECENT_DECAY^r of the r-th latest seed (r = 0 the latest); 1 would be unweighted. On
 * ml-latest-small 0.8 beat unweighted at HR@10/20/50 and NDCG@10/50 (HR@50 0.2361 vs 0.2311; 0.2443
 * vs 0.2393 under the earlier file-order tie-break) and lost at HR@100: a few of 610 users either way.
 */
export const RECENT_DECAY = 0.8;
/**
 * Bound on one baseline's work (`knnWorkBound`), above which it is skipped with a note: about
 * 1.5 s at the ~1.3e8 updates/s measured. ml-latest-small: 7.3e7 (item-knn, 0.54 s) and 5.7e7
 * (last 5, 0.37 s). Estimated for ml-1m: ~6e9 (6,040 test users, each reaching nearly all 1e6 pairs).
 */
export const MAX_KNN_UPDATES = 2e8;

/** The binary user×item matrix of the training rows, both ways, over corpus rows. */
export interface CooccurrenceIndex {
  /** Corpus rows: the corpus in order, then training items missing from it (none for loaded datasets). */
  ids: string[];
  rowOf: Map<string, number>;
  /** User index u → `userItems[userStart[u] .. userStart[u+1])`, the user's distinct items. */
  userStart: Int32Array;
  userItems: Int32Array;
  userIndex: Map<string, number>;
  /** Item row i → `itemUsers[itemStart[i] .. itemStart[i+1])`, its users. */
  itemStart: Int32Array;
  itemUsers: Int32Array;
  /** n_i^-½, 0 for items no user trained on. */
  invSqrtUsers: Float64Array;
}

export function buildCooccurrenceIndex(
  corpus: Iterable<string>,
  split: Pick<LeaveLastOutSplit, 'trainItemsByUser'>,
): CooccurrenceIndex {
  const ids: string[] = [];
  const rowOf = new Map<string, number>();
  const addItem = (id: string) => {
    if (rowOf.has(id)) return;
    rowOf.set(id, ids.length);
    ids.push(id);
  };
  for (const id of corpus) addItem(id);
  let pairs = 0;
  for (const items of split.trainItemsByUser.values()) {
    pairs += items.size;
    for (const id of items) addItem(id);
  }
  const users = split.trainItemsByUser.size;
  const userStart = new Int32Array(users + 1);
  const userItems = new Int32Array(pairs);
  const userIndex = new Map<string, number>();
  const counts = new Int32Array(ids.length);
  let at = 0;
  for (const [user, items] of split.trainItemsByUser) {
    userStart[userIndex.size] = at;
    userIndex.set(user, userIndex.size);
    for (const id of items) {
      const row = rowOf.get(id) as number;
      userItems[at++] = row;
      counts[row] = (counts[row] as number) + 1;
    }
  }
  userStart[users] = at;
  const itemStart = new Int32Array(ids.length + 1);
  for (let i = 0; i < ids.length; i++) itemStart[i + 1] = (itemStart[i] as number) + (counts[i] as number);
  const fill = itemStart.slice(0, ids.length);
  const itemUsers = new Int32Array(pairs);
  for (let u = 0; u < users; u++)
    for (let p = userStart[u] as number; p < (userStart[u + 1] as number); p++) {
      const row = userItems[p] as number;
      itemUsers[fill[row] as number] = u;
      fill[row] = (fill[row] as number) + 1;
    }
  const invSqrtUsers = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const n = counts[i] as number;
    invSqrtUsers[i] = n > 0 ? 1 / Math.sqrt(n) : 0;
  }
  return { ids, rowOf, userStart, userItems, userIndex, itemStart, itemUsers, invSqrtUsers };
}

/** A seed item (corpus row) of a user's score and its weight. */
export interface Seed {
  row: number;
  weight: number;
}

/**
 * Exact Σ w_i·sim(i,j) for every corpus row j (0 where no seed co-occurs). The returned array is
 * reused by the next call.
 */
export function knnScorer(index: CooccurrenceIndex): (seeds: readonly Seed[]) => Float64Array {
  const { itemStart, itemUsers, userStart, userItems, invSqrtUsers } = index;
  const scores = new Float64Array(index.ids.length);
  const users = index.userIndex.size;
  const userWeight = new Float64Array(users);
  const reachedUsers = new Int32Array(users);
  const isReached = new Uint8Array(users);
  return (seeds) => {
    let reached = 0;
    for (const s of seeds) {
      const f = s.weight * (invSqrtUsers[s.row] as number);
      for (let p = itemStart[s.row] as number; p < (itemStart[s.row + 1] as number); p++) {
        const v = itemUsers[p] as number;
        if (isReached[v] === 0) {
          isReached[v] = 1;
          reachedUsers[reached++] = v;
        }
        userWeight[v] = (userWeight[v] as number) + f;
      }
    }
    scores.fill(0);
    for (let t = 0; t < reached; t++) {
      const v = reachedUsers[t] as number;
      const a = userWeight[v] as number;
      for (let p = userStart[v] as number; p < (userStart[v + 1] as number); p++) {
        const j = userItems[p] as number;
        scores[j] = (scores[j] as number) + a;
      }
      userWeight[v] = 0;
      isReached[v] = 0;
    }
    for (let j = 0; j < scores.length; j++) scores[j] = (scores[j] as number) * (invSqrtUsers[j] as number);
    return scores;
  };
}

/**
 * The user's last `n` distinct items of `history` (time order, as `byUserInTimeOrder` gives it),
 * latest first, weighted decay^r for the r-th latest. A repeated item counts at its latest row.
 */
export function recentSeeds(
  history: readonly Interaction[],
  rowOf: ReadonlyMap<string, number>,
  n: number,
  decay = 1,
): Seed[] {
  const seen = new Set<string>();
  const out: Seed[] = [];
  for (let p = history.length - 1; p >= 0 && out.length < n; p--) {
    const item = (history[p] as Interaction).item;
    if (seen.has(item)) continue;
    seen.add(item);
    const row = rowOf.get(item);
    if (row !== undefined) out.push({ row, weight: decay ** out.length });
  }
  return out;
}

export interface ItemKnnOptions {
  /** Seed only the user's last `recent` distinct training items (default: every training item). */
  recent?: number;
  /** With `recent`: weight decay^r for the r-th latest seed (default 1, unweighted). */
  decay?: number;
}

/** Each user's seeds: every training item (weight 1), or the recent ones of `opts`. */
export function seedsFor(
  index: CooccurrenceIndex,
  train: readonly Interaction[],
  opts: ItemKnnOptions = {},
): (user: string) => Seed[] {
  if (opts.recent !== undefined) {
    const history = byUserInTimeOrder(train);
    const recent = opts.recent;
    const decay = opts.decay ?? 1;
    return (user) => recentSeeds(history.get(user) ?? [], index.rowOf, recent, decay);
  }
  return (user) => {
    const u = index.userIndex.get(user);
    const seeds: Seed[] = [];
    if (u === undefined) return seeds;
    for (let p = index.userStart[u] as number; p < (index.userStart[u + 1] as number); p++)
      seeds.push({ row: index.userItems[p] as number, weight: 1 });
    return seeds;
  };
}

/**
 * Upper bound of the scoring work for `users`: per user, the seeds' users walked (Σ n_i), the
 * items of the users reached (at most Σ over the seeds' users of their item counts, and at most
 * every training pair), and one pass over the corpus (scale and rank).
 */
export function knnWorkBound(
  index: CooccurrenceIndex,
  seedsOf: (user: string) => readonly Seed[],
  users: Iterable<string>,
): number {
  const { itemStart, itemUsers, userStart } = index;
  const pairs = index.userItems.length;
  // c_i: Σ over item i's users of their item counts, the walk from i alone
  const walk = new Float64Array(index.ids.length);
  for (let i = 0; i < index.ids.length; i++) {
    let c = 0;
    for (let p = itemStart[i] as number; p < (itemStart[i + 1] as number); p++) {
      const v = itemUsers[p] as number;
      c += (userStart[v + 1] as number) - (userStart[v] as number);
    }
    walk[i] = c;
  }
  let total = 0;
  for (const user of users) {
    let seedUsers = 0;
    let reachedItems = 0;
    for (const s of seedsOf(user)) {
      seedUsers += (itemStart[s.row + 1] as number) - (itemStart[s.row] as number);
      reachedItems += walk[s.row] as number;
    }
    total += seedUsers + Math.min(pairs, reachedItems) + index.ids.length;
  }
  return total;
}

/**
 * Ranks the top `k` corpus items of a user by `scorer`, the user's training items excluded.
 * Equal scores (compared as float32, as rankTopK does) rank the earlier corpus row first, so
 * items no seed co-occurs with follow in corpus order.
 */
function rankerOf(
  index: CooccurrenceIndex,
  split: Pick<LeaveLastOutSplit, 'trainItemsByUser'>,
  seedsOf: (user: string) => Seed[],
  k: number,
): (user: string) => string[] {
  const score = knnScorer(index);
  const ranked = new Float32Array(index.ids.length);
  return (user) => {
    ranked.set(score(seedsOf(user)));
    const exclude = new Set<number>();
    for (const id of split.trainItemsByUser.get(user) ?? []) exclude.add(index.rowOf.get(id) as number);
    return rankTopK(ranked, k, exclude).map((r) => index.ids[r] as string);
  };
}

/** A ranker for item-kNN over `split`'s training rows (full corpus, training items excluded). */
export function itemKnnRanker(
  corpus: Iterable<string>,
  split: Pick<LeaveLastOutSplit, 'train' | 'trainItemsByUser'>,
  opts: ItemKnnOptions = {},
  k: number = MAX_CUTOFF,
): (user: string) => string[] {
  const index = buildCooccurrenceIndex(corpus, split);
  return rankerOf(index, split, seedsFor(index, split.train, opts), k);
}

function evaluateWith(index: CooccurrenceIndex, split: LeaveLastOutSplit, seedsOf: (user: string) => Seed[]) {
  const rank = rankerOf(index, split, seedsOf, MAX_CUTOFF);
  const acc = new MetricAccumulator();
  for (const t of split.test) acc.add(rank(t.user), t.item);
  return acc.result();
}

/** Item-kNN (cosine on co-occurrence) on a leave-last-out split of `ds`, the full corpus ranked. */
export function evaluateItemKnn(
  ds: Dataset,
  split: LeaveLastOutSplit,
  opts: ItemKnnOptions = {},
): EvaluationResult {
  const index = buildCooccurrenceIndex(ds.items.keys(), split);
  return evaluateWith(index, split, seedsFor(index, split.train, opts));
}

/** One baseline of `evaluateKnnBaselines`: its metrics, or why it was skipped. */
export type KnnBaseline = { name: string; updates: number } & (
  | { result: EvaluationResult; seconds: number }
  | { skipped: string }
);

/**
 * Both reference baselines on `split` (item-knn over every training item; the last RECENT_ITEMS
 * weighted RECENT_DECAY^r), each skipped with the reason when its work bound exceeds `maxUpdates`.
 */
export function evaluateKnnBaselines(
  ds: Dataset,
  split: LeaveLastOutSplit,
  maxUpdates: number = MAX_KNN_UPDATES,
): KnnBaseline[] {
  const index = buildCooccurrenceIndex(ds.items.keys(), split);
  const testUsers = split.test.map((t) => t.user);
  const variants: [string, ItemKnnOptions][] = [
    [ITEM_KNN, {}],
    [ITEM_KNN_RECENT, { recent: RECENT_ITEMS, decay: RECENT_DECAY }],
  ];
  return variants.map(([name, opts]) => {
    const seedsOf = seedsFor(index, split.train, opts);
    const updates = knnWorkBound(index, seedsOf, testUsers);
    if (updates > maxUpdates)
      return {
        name,
        updates,
        skipped: `${name} skipped: scoring would take up to ${updates.toExponential(2)} updates, over the bound of ${maxUpdates.toExponential(2)} (MAX_KNN_UPDATES)`,
      };
    const started = performance.now();
    const result = evaluateWith(index, split, seedsOf);
    return { name, updates, result, seconds: (performance.now() - started) / 1000 };
  });
}
