import type { Dataset, Interaction } from '../data/types.js';
import { type EvaluationResult, evaluateRankings, MAX_CUTOFF } from './metrics.js';
import type { LeaveLastOutSplit } from './protocol.js';

/** Training rows per item (every row counts, repeats included). */
export function itemCounts(train: readonly Interaction[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of train) counts.set(r.item, (counts.get(r.item) ?? 0) + 1);
  return counts;
}

/**
 * All items, most trained-on first; ties by item ID in string order so runs are reproducible.
 * Corpus items never seen in training follow with count 0.
 */
export function popularityOrder(train: readonly Interaction[], corpus: Iterable<string> = []): string[] {
  const counts = itemCounts(train);
  for (const id of corpus) if (!counts.has(id)) counts.set(id, 0);
  return [...counts.entries()]
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id]) => id);
}

/** A ranker returning the k most popular items the user has not touched in training. */
export function popularityRanker(
  split: Pick<LeaveLastOutSplit, 'train' | 'trainItemsByUser'>,
  corpus: Iterable<string> = [],
  k: number = MAX_CUTOFF,
): (user: string) => string[] {
  const order = popularityOrder(split.train, corpus);
  const none = new Set<string>();
  return (user) => {
    const seen = split.trainItemsByUser.get(user) ?? none;
    const out: string[] = [];
    for (const id of order) {
      if (out.length === k) break;
      if (!seen.has(id)) out.push(id);
    }
    return out;
  };
}

/** The popularity baseline of design.md §6 on a leave-last-out split of `ds`. */
export function evaluatePopularity(ds: Dataset, split: LeaveLastOutSplit): EvaluationResult {
  return evaluateRankings(split.test, popularityRanker(split, ds.items.keys()));
}
