import { compareTimeKey } from './data/order.js';
import type { Dataset, Interaction } from './data/types.js';
import {
  allocUserInputs,
  type FeatureConfig,
  fillUserRow,
  type HistoryEntry,
  type ItemMatrix,
  type UserInputs,
  userCategoricalIndices,
  userSideLayout,
  userSlots,
  type Vocabularies,
} from './features.js';

/**
 * Interactions of each user in (ts, key) order (model/data/order.ts: ties by content key, never
 * by file position); users in order of their first row in `rows`.
 */
export function byUserInTimeOrder(rows: readonly Interaction[]): Map<string, Interaction[]> {
  const out = new Map<string, Interaction[]>();
  for (const r of rows) {
    const list = out.get(r.user);
    if (list) list.push(r);
    else out.set(r.user, [r]);
  }
  for (const list of out.values()) list.sort(compareTimeKey);
  return out;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Training examples: one per interaction, with the user's features as of just before it. */
export interface TrainingSet {
  n: number;
  users: UserInputs;
  /** Corpus row of each example's positive item. */
  positives: Int32Array;
  /** Training occurrences of every corpus row (for log-q correction and down-sampling). */
  itemCounts: Float64Array;
}

export function buildTrainingSet(
  ds: Dataset,
  train: readonly Interaction[],
  vocab: Vocabularies,
  items: ItemMatrix,
  cfg: FeatureConfig,
): TrainingSet {
  const grouped = byUserInTimeOrder(train);
  const n = train.length;
  const users = allocUserInputs(n, cfg);
  const positives = new Int32Array(n);
  const itemCounts = new Float64Array(items.ids.length);
  const layout = userSideLayout(vocab, cfg);
  let r = 0;
  // users by ID, so the examples (and the batches a seed draws from them) never depend on file order
  for (const user of [...grouped.keys()].sort(byCodeUnits)) {
    const rows = grouped.get(user) as Interaction[];
    const uIdx = vocab.users.lookup(user);
    const uCat = userCategoricalIndices(ds, user, vocab, cfg);
    const history: HistoryEntry[] = rows.map((x) => ({ itemIdx: vocab.items.lookup(x.item), ts: x.ts }));
    rows.forEach((x, p) => {
      fillUserRow(users, r, cfg, layout, uIdx, uCat, x.ts, history, p);
      const row = items.rowOf.get(x.item);
      if (row === undefined) throw new Error(`item ${x.item} missing from the corpus`);
      positives[r] = row;
      itemCounts[row] = (itemCounts[row] as number) + 1;
      r++;
    });
  }
  return { n, users, positives, itemCounts };
}

/** User inputs for predictions after each user's whole history (evaluation, serving). */
export function buildQueryInputs(
  ds: Dataset,
  queries: readonly { user: string; ts: number }[],
  historyOf: (user: string) => readonly Interaction[],
  vocab: Vocabularies,
  cfg: FeatureConfig,
): UserInputs {
  const out = allocUserInputs(queries.length, cfg);
  const layout = userSideLayout(vocab, cfg);
  queries.forEach((q, r) => {
    const past = historyOf(q.user).filter((x) => x.ts <= q.ts);
    const history = past.map((x) => ({ itemIdx: vocab.items.lookup(x.item), ts: x.ts }));
    fillUserRow(
      out,
      r,
      cfg,
      layout,
      vocab.users.lookup(q.user),
      userCategoricalIndices(ds, q.user, vocab, cfg),
      q.ts,
      history,
      history.length,
    );
  });
  return out;
}

/** Copies rows `idx` of `src` into a fresh batch of user inputs. */
export function sliceUserInputs(src: UserInputs, idx: ArrayLike<number>, cfg: FeatureConfig): UserInputs {
  const n = idx.length;
  const out = allocUserInputs(n, cfg);
  const L = cfg.seqLen;
  const U = userSlots(cfg);
  for (let i = 0; i < n; i++) {
    const s = idx[i] as number;
    out.userIdx[i] = src.userIdx[s] as number;
    out.seqIdx.set(src.seqIdx.subarray(s * L, s * L + L), i * L);
    out.seqW.set(src.seqW.subarray(s * 2 * L, (s + 1) * 2 * L), i * 2 * L);
    out.userSide.set(src.userSide.subarray(s * U, s * U + U), i * U);
  }
  return out;
}
