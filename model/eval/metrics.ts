/** Ranking metrics for leave-last-out: one relevant (held-out) item per test user. */

export const CUTOFFS = [10, 20, 50, 100] as const;
export type Cutoff = (typeof CUTOFFS)[number];
export type MetricName = `HR@${Cutoff}` | `NDCG@${Cutoff}`;
/** The longest list a ranker needs to return. */
export const MAX_CUTOFF: Cutoff = 100;

export interface EvaluationResult {
  users: number;
  /** Means over test users; HR@{10,20,50,100} and NDCG@{10,20,50,100}. */
  metrics: Record<MetricName, number>;
}

export interface RankingCase {
  user: string;
  item: string;
}

/**
 * Accumulates HR@K (held-out item in the top K) and NDCG@K (1/log2(rank+1) at 1-based rank
 * ≤ K; with a single relevant item the ideal DCG is 1). For rankers that are async or batched.
 */
export class MetricAccumulator {
  private users = 0;
  private readonly sums = new Map<MetricName, number>();

  /** `ranked` is best first and already excludes the user's training items; only the top 100 count. */
  add(ranked: readonly string[], heldOut: string): void {
    this.users++;
    const at = ranked.indexOf(heldOut);
    if (at === -1 || at >= MAX_CUTOFF) return;
    for (const k of CUTOFFS) {
      if (at >= k) continue;
      this.bump(`HR@${k}`, 1);
      this.bump(`NDCG@${k}`, 1 / Math.log2(at + 2));
    }
  }

  result(): EvaluationResult {
    const metrics = {} as Record<MetricName, number>;
    for (const k of CUTOFFS) {
      for (const name of [`HR@${k}`, `NDCG@${k}`] as const) {
        metrics[name] = this.users === 0 ? 0 : (this.sums.get(name) ?? 0) / this.users;
      }
    }
    return { users: this.users, metrics };
  }

  private bump(name: MetricName, by: number): void {
    this.sums.set(name, (this.sums.get(name) ?? 0) + by);
  }
}

/** Ranks for every test case with `rank(user)` (top 100, training items excluded) and averages. */
export function evaluateRankings(
  tests: readonly RankingCase[],
  rank: (user: string) => readonly string[],
): EvaluationResult {
  const accumulator = new MetricAccumulator();
  for (const t of tests) accumulator.add(rank(t.user), t.item);
  return accumulator.result();
}

/**
 * Indices of the k highest scores, best first, skipping `exclude` and NaN; equal scores rank
 * the lower index first so results are deterministic. A size-k min-heap: O(n log k).
 */
export function rankTopK(scores: Float32Array, k: number, exclude: ReadonlySet<number>): number[] {
  if (k <= 0) return [];
  const heap = new Int32Array(k); // heap[0] is the worst kept index
  let size = 0;
  // a is worse than b: lower score, or equal score and a higher index.
  const worse = (a: number, b: number): boolean => {
    const sa = scores[a] as number;
    const sb = scores[b] as number;
    return sa < sb || (sa === sb && a > b);
  };
  const siftDown = (from: number): void => {
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) return;
      const right = left + 1;
      let child = left;
      if (right < size && worse(heap[right] as number, heap[left] as number)) child = right;
      if (!worse(heap[child] as number, heap[i] as number)) return;
      const tmp = heap[i] as number;
      heap[i] = heap[child] as number;
      heap[child] = tmp;
      i = child;
    }
  };
  for (let index = 0; index < scores.length; index++) {
    if (Number.isNaN(scores[index])) continue;
    // the exclusion lookup only for scores that would enter the heap: most never do
    if (size < k) {
      if (exclude.has(index)) continue;
      // sift up
      let i = size++;
      heap[i] = index;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i] as number, heap[parent] as number)) break;
        const tmp = heap[i] as number;
        heap[i] = heap[parent] as number;
        heap[parent] = tmp;
        i = parent;
      }
    } else if (worse(heap[0] as number, index) && !exclude.has(index)) {
      heap[0] = index;
      siftDown(0);
    }
  }
  const out = Array.from(heap.subarray(0, size));
  return out.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
