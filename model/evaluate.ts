import type { Dataset } from './data/types.js';
import { evaluateKnnBaselines } from './eval/knn.js';
import { type EvaluationResult, MAX_CUTOFF, MetricAccumulator, rankTopK } from './eval/metrics.js';
import { evaluatePopularity } from './eval/popularity.js';
import { type LeaveLastOutSplit, leaveLastOut } from './eval/protocol.js';
import { type FitOptions, type Fitted, fitTwoTower } from './pipeline.js';
import { buildQueryInputs, byUserInTimeOrder } from './samples.js';
import { tf } from './tf.js';
import { embedAllItems, embedUsers } from './towers.js';

/** Nearest-neighbour search over the item vectors (Milvus for `--ann`). */
export interface AnnIndex {
  /** Top `k` corpus rows for each query vector, best first. */
  search(queries: Float32Array, dim: number, k: number): Promise<number[][]>;
  close(): Promise<void>;
}

/** Top-k the index is checked at with serve's smallest beam: a request's limit is k plus its exclusions. */
export const SERVE_BEAM_K = 50;

export interface EvalReport {
  users: number;
  models: Record<string, EvaluationResult['metrics']>;
  /**
   * With `ann`: the share of each user's exact top SERVE_BEAM_K (nothing excluded) that the index
   * returns when asked for exactly SERVE_BEAM_K, the smallest search serve sends at that k.
   */
  annRecall?: { k: number; recall: number };
  training: Fitted['result'];
  split: { trainRows: number; testUsers: number; corpusItems: number };
}

/** User vectors for every test case, as of its held-out interaction's time (its history before it). */
function testUserVectors(ds: Dataset, split: LeaveLastOutSplit, fitted: Fitted): Float32Array {
  const history = byUserInTimeOrder(split.train);
  const inputs = buildQueryInputs(
    ds,
    split.test.map((t) => ({ user: t.user, ts: t.ts })),
    (u) => history.get(u) ?? [],
    fitted.vocab,
    fitted.features,
  );
  return embedUsers(fitted.model, inputs, fitted.features);
}

/**
 * DESIGN.md §6 end to end: leave-last-out split, train on the training rows, rank the full
 * corpus for every test user (training items excluded) exactly, and through `ann` when given,
 * next to the popularity and item-kNN baselines of the same split (eval/knn.ts). `onNote` gets a
 * line per kNN baseline: its time, or why it was skipped (too much work for MAX_KNN_UPDATES).
 */
export async function evaluateTwoTower(
  ds: Dataset,
  opts: FitOptions & {
    ann?: (vectors: Float32Array, ids: string[], dim: number) => Promise<AnnIndex>;
    onNote?: (line: string) => void;
  } = {},
): Promise<EvalReport & { fitted: Fitted }> {
  const split = leaveLastOut(ds);
  const fitted = await fitTwoTower(ds, split.train, opts);
  const dim = fitted.model.towers.outDim;
  const itemVecs = embedAllItems(fitted.model, fitted.itemFeatures);
  const userVecs = testUserVectors(ds, split, fitted);
  const n = fitted.items.ids.length;
  const excludedRows = (user: string) =>
    new Set([...(split.trainItemsByUser.get(user) ?? [])].map((id) => fitted.items.rowOf.get(id) ?? -1));

  const exact = new MetricAccumulator();
  // per test case, the exact top SERVE_BEAM_K with nothing excluded (the ANN recall's reference)
  const exactTop: number[][] = [];
  const none = new Set<number>();
  const batch = 256;
  const itemT = tf.tensor2d(itemVecs, [n, dim]);
  for (let s = 0; s < split.test.length; s += batch) {
    const e = Math.min(split.test.length, s + batch);
    const u = tf.tensor2d(userVecs.subarray(s * dim, e * dim), [e - s, dim]);
    const scores = tf.matMul(u, itemT, false, true);
    const all = scores.dataSync() as Float32Array;
    tf.dispose([u, scores]);
    for (let i = s; i < e; i++) {
      const tc = split.test[i];
      if (!tc) continue;
      const row = all.subarray((i - s) * n, (i - s + 1) * n);
      if (opts.ann) exactTop[i] = rankTopK(row, SERVE_BEAM_K, none);
      const top = rankTopK(row, MAX_CUTOFF, excludedRows(tc.user));
      exact.add(
        top.map((r) => fitted.items.ids[r] as string),
        tc.item,
      );
    }
  }
  itemT.dispose();

  const models: EvalReport['models'] = { 'two-tower': exact.result().metrics };
  let annRecall: EvalReport['annRecall'];
  if (opts.ann) {
    const index = await opts.ann(itemVecs, fitted.items.ids, dim);
    try {
      const approx = new MetricAccumulator();
      for (let s = 0; s < split.test.length; s += batch) {
        const e = Math.min(split.test.length, s + batch);
        const cases = split.test.slice(s, e);
        const extra = Math.max(...cases.map((c) => split.trainItemsByUser.get(c.user)?.size ?? 0));
        const hits = await index.search(
          userVecs.subarray(s * dim, e * dim),
          dim,
          Math.min(16_384, MAX_CUTOFF + extra),
        );
        cases.forEach((tc, j) => {
          const ex = excludedRows(tc.user);
          approx.add(
            (hits[j] ?? [])
              .filter((r) => !ex.has(r))
              .slice(0, MAX_CUTOFF)
              .map((r) => fitted.items.ids[r] as string),
            tc.item,
          );
        });
      }
      models['two-tower (ann)'] = approx.result().metrics;
      annRecall = { k: SERVE_BEAM_K, recall: await beamRecall(index, userVecs, dim, exactTop) };
    } finally {
      await index.close();
    }
  }
  models.popularity = evaluatePopularity(ds, split).metrics;
  for (const b of evaluateKnnBaselines(ds, split)) {
    if ('skipped' in b) {
      opts.onNote?.(b.skipped);
      continue;
    }
    models[b.name] = b.result.metrics;
    opts.onNote?.(`${b.name}: ${b.seconds.toFixed(2)} s (work bound ${b.updates.toExponential(2)} updates)`);
  }
  return {
    users: split.test.length,
    models,
    ...(annRecall ? { annRecall } : {}),
    training: fitted.result,
    split: { trainRows: split.train.length, testUsers: split.test.length, corpusItems: n },
    fitted,
  };
}

/** Share of all `exactTop[i]` rows that the index returns when asked for exactly that many for user i. */
async function beamRecall(
  index: AnnIndex,
  userVecs: Float32Array,
  dim: number,
  exactTop: number[][],
): Promise<number> {
  let found = 0;
  let wanted = 0;
  for (let s = 0; s < exactTop.length; s += 256) {
    const e = Math.min(exactTop.length, s + 256);
    const hits = await index.search(userVecs.subarray(s * dim, e * dim), dim, SERVE_BEAM_K);
    for (let i = s; i < e; i++) {
      const truth = exactTop[i] ?? [];
      const got = new Set(hits[i - s] ?? []);
      wanted += truth.length;
      for (const r of truth) if (got.has(r)) found++;
    }
  }
  return wanted > 0 ? found / wanted : Number.NaN;
}

export function disposeFitted(f: Fitted): void {
  f.model.dispose();
}
