import { evaluateVersion } from '../../batch/gate.js';
import type { Dataset } from '../../model/data/types.js';
import type { EvaluationResult } from '../../model/eval/metrics.js';
import { evaluatePopularity } from '../../model/eval/popularity.js';
import type { LeaveLastOutSplit } from '../../model/eval/protocol.js';
import { ModelVersion } from '../../model/version.js';
import { evaluateThroughApi, type RecallEndpoint } from '../../serving/evaluate-api.js';

export type Metrics = EvaluationResult['metrics'];

export interface QualityReport {
  users: number;
  /** GET /v1/recall asked as a client asks (user, k = 100, the held-out time), scored as answered. */
  served: Metrics;
  /** The same published version ranked exactly offline on the same split (the daily job's gate code). */
  offline: Metrics;
  popularity: Metrics;
  /** How far the served answers are from the offline rankings, user by user. */
  agreement: { identicalTop50: number; meanOverlap50: number };
  /** HR@50 of users with more than HEAVY_HISTORY training items and of the others, served and offline. */
  byHistory: Record<'heavy' | 'others', { users: number; served: number; offline: number }>;
  sources: Record<string, number>;
  versions: string[];
  latencyMs: { p50: number; p99: number };
}

/** Users with more training items than this are "heavy" in the report. */
export const HEAVY_HISTORY = 400;

/** HR@50 of heavy users and of the others, from each user's served and offline rankings. */
export function hitRateByHistory(
  split: LeaveLastOutSplit,
  served: ReadonlyMap<string, readonly string[]>,
  offline: ReadonlyMap<string, readonly string[]>,
): QualityReport['byHistory'] {
  const out = {
    heavy: { users: 0, served: 0, offline: 0 },
    others: { users: 0, served: 0, offline: 0 },
  };
  for (const c of split.test) {
    const g = (split.trainItemsByUser.get(c.user)?.size ?? 0) > HEAVY_HISTORY ? out.heavy : out.others;
    g.users++;
    if ((served.get(c.user) ?? []).slice(0, 50).includes(c.item)) g.served++;
    if ((offline.get(c.user) ?? []).slice(0, 50).includes(c.item)) g.offline++;
  }
  for (const g of [out.heavy, out.others]) {
    g.served = g.users > 0 ? g.served / g.users : Number.NaN;
    g.offline = g.users > 0 ? g.offline / g.users : Number.NaN;
  }
  return out;
}

/** Share of users whose top 50 lists are identical, and the mean share of the offline top 50 served. */
export function compareRankings(
  served: ReadonlyMap<string, readonly string[]>,
  offline: ReadonlyMap<string, readonly string[]>,
  k = 50,
): QualityReport['agreement'] {
  let identical = 0;
  let overlap = 0;
  for (const [user, off] of offline) {
    const a = (served.get(user) ?? []).slice(0, k);
    const b = off.slice(0, k);
    if (a.length === b.length && a.every((x, i) => x === b[i])) identical++;
    const inA = new Set(a);
    overlap += b.length === 0 ? 1 : b.filter((x) => inA.has(x)).length / b.length;
  }
  const n = Math.max(1, offline.size);
  return { identicalTop50: identical / n, meanOverlap50: overlap / n };
}

/**
 * Recall quality of the published version: through the API as a client asks, next to the same
 * version ranked offline on the same split and to popularity.
 */
export async function measureQuality(
  recall: RecallEndpoint,
  ds: Dataset,
  split: LeaveLastOutSplit,
  versionDir: string,
  onProgress?: (done: number) => void,
): Promise<QualityReport> {
  const api = await evaluateThroughApi(recall, split, { ...(onProgress ? { onProgress } : {}) });
  const offlineRanked = new Map<string, string[]>();
  const mv = await ModelVersion.load(versionDir);
  let offline: EvaluationResult;
  try {
    offline = await evaluateVersion(mv, ds, split, (user, ranked) => offlineRanked.set(user, ranked));
  } finally {
    mv.dispose();
  }
  return {
    users: api.users,
    served: api.metrics,
    offline: offline.metrics,
    popularity: evaluatePopularity(ds, split).metrics,
    agreement: compareRankings(api.ranked, offlineRanked),
    byHistory: hitRateByHistory(split, api.ranked, offlineRanked),
    sources: api.sources,
    versions: api.versions,
    latencyMs: api.latencyMs,
  };
}

const COLUMNS = ['HR@10', 'HR@20', 'HR@50', 'HR@100', 'NDCG@10', 'NDCG@50'] as const;

/** The metrics as a small text table, one row per ranker. */
export function metricsTable(rows: [string, Metrics][]): string {
  const w = Math.max(...rows.map(([name]) => name.length)) + 2;
  const head = `${''.padEnd(w)}${COLUMNS.map((c) => c.padStart(9)).join('')}`;
  return [
    head,
    ...rows.map(
      ([name, m]) => `${name.padEnd(w)}${COLUMNS.map((c) => m[c].toFixed(4).padStart(9)).join('')}`,
    ),
  ].join('\n');
}
