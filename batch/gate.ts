import type { Dataset } from '../model/data/types.js';
import { type EvaluationResult, MAX_CUTOFF, MetricAccumulator, rankTopK } from '../model/eval/metrics.js';
import type { LeaveLastOutSplit } from '../model/eval/protocol.js';
import { byUserInTimeOrder } from '../model/samples.js';
import { tf } from '../model/tf.js';
import type { ModelVersion, UserQuery } from '../model/version.js';

/**
 * DESIGN.md §6 for an already trained version: every test case's user vector from its history
 * before the held-out row, the full corpus ranked exactly, training items excluded.
 */
export async function evaluateVersion(
  mv: ModelVersion,
  ds: Dataset,
  split: LeaveLastOutSplit,
  /** Receives each test case's top 100 (item ids, best first). */
  onRanked?: (user: string, ranked: string[]) => void,
): Promise<EvaluationResult> {
  const corpus = [...ds.items.values()];
  const ids = corpus.map((r) => r.id);
  const rowOf = new Map(ids.map((id, i) => [id, i]));
  const dim = mv.dim;
  const itemVecs = mv.itemVectors(corpus);
  const history = byUserInTimeOrder(split.train);
  const acc = new MetricAccumulator();
  const itemT = tf.tensor2d(itemVecs, [ids.length, dim]);
  const batch = 256;
  try {
    for (let s = 0; s < split.test.length; s += batch) {
      // let timers run between batches (the job's lease renewal, metrics)
      await new Promise((r) => setImmediate(r));
      const cases = split.test.slice(s, s + batch);
      const queries = heldOutQueries(ds, history, cases);
      const u = tf.tensor2d(mv.userVectors(queries), [cases.length, dim]);
      const scores = tf.matMul(u, itemT, false, true);
      const all = scores.dataSync() as Float32Array;
      tf.dispose([u, scores]);
      cases.forEach((c, j) => {
        const exclude = new Set(
          [...(split.trainItemsByUser.get(c.user) ?? [])].map((id) => rowOf.get(id) ?? -1),
        );
        const top = rankTopK(all.subarray(j * ids.length, (j + 1) * ids.length), MAX_CUTOFF, exclude);
        const ranked = top.map((r) => ids[r] as string);
        onRanked?.(c.user, ranked);
        acc.add(ranked, c.item);
      });
    }
  } finally {
    itemT.dispose();
  }
  return acc.result();
}

/** The user tower's input for each held-out case: the user's training history and profile, at the case's time. */
export function heldOutQueries(
  ds: Dataset,
  history: ReadonlyMap<string, readonly { item: string; ts: number }[]>,
  cases: readonly { user: string; ts: number }[],
): UserQuery[] {
  return cases.map((c) => ({
    userId: c.user,
    profile: ds.users.get(c.user)?.categorical,
    history: (history.get(c.user) ?? []).map((x) => ({ itemId: x.item, ts: x.ts })),
    ts: c.ts,
  }));
}

export interface GateDecision {
  pass: boolean;
  metric: 'HR@50';
  candidate: number;
  live?: number;
  tolerance: number;
  reason: string;
}

/** Passes unless the candidate's HR@50 is below the live version's by more than `tolerance`. */
export function decide(candidate: number, live: number | undefined, tolerance: number): GateDecision {
  const base = { metric: 'HR@50' as const, candidate, live, tolerance };
  if (!Number.isFinite(candidate)) return { ...base, pass: false, reason: 'candidate HR@50 is not a number' };
  if (live === undefined) return { ...base, pass: true, reason: 'no live version to compare with' };
  const pass = candidate >= live - tolerance;
  return {
    ...base,
    pass,
    reason: pass
      ? `HR@50 ${candidate.toFixed(4)} vs live ${live.toFixed(4)} (tolerance ${tolerance})`
      : `HR@50 ${candidate.toFixed(4)} is below live ${live.toFixed(4)} by more than ${tolerance}`,
  };
}
