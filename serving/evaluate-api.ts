import { type EvaluationResult, MAX_CUTOFF, MetricAccumulator } from '../model/eval/metrics.js';
import type { LeaveLastOutSplit } from '../model/eval/protocol.js';

/** Where the recall API listens and the read key its callers send. */
export interface RecallEndpoint {
  url: string;
  key: string;
}

export interface ApiEvaluation extends EvaluationResult {
  /** Answers by the path that served them (personal, profile, popular). */
  sources: Record<string, number>;
  /** Model versions that answered. */
  versions: string[];
  /** Each held-out user's answer (item ids, best first), for comparisons with offline rankings. */
  ranked: Map<string, string[]>;
  latencyMs: { p50: number; p99: number };
}

/**
 * DESIGN.md §6 through the running recall API, asked as a client asks: for every held-out case,
 * GET /v1/recall with the user, k = 100 and the held-out time, and the answer scored as it comes
 * (the API itself leaves out everything the user has interacted with).
 */
export async function evaluateThroughApi(
  api: RecallEndpoint,
  split: LeaveLastOutSplit,
  o: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<ApiEvaluation> {
  const acc = new MetricAccumulator();
  const sources: Record<string, number> = {};
  const versions = new Set<string>();
  const ranked = new Map<string, string[]>();
  const latencies: number[] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < split.test.length; i = next++) {
      const c = split.test[i] as LeaveLastOutSplit['test'][number];
      const t0 = performance.now();
      // `at`: the held-out event's time, so the context features are those of that moment
      const res = await fetch(
        `${api.url}/v1/recall?user_id=${encodeURIComponent(c.user)}&k=${MAX_CUTOFF}&at=${Math.round(c.ts * 1000)}`,
        { headers: { authorization: `Bearer ${api.key}` } },
      );
      const body = (await res.json()) as {
        source: string;
        model_version: string | null;
        items: { item_id: string }[];
      };
      latencies.push(performance.now() - t0);
      if (res.status !== 200)
        throw new Error(`recall for ${c.user} answered ${res.status}: ${JSON.stringify(body)}`);
      sources[body.source] = (sources[body.source] ?? 0) + 1;
      if (body.model_version) versions.add(body.model_version);
      const items = body.items.map((x) => x.item_id);
      ranked.set(c.user, items);
      acc.add(items, c.item);
      o.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    ...acc.result(),
    sources,
    versions: [...versions],
    ranked,
    latencyMs: { p50: q(0.5), p99: q(0.99) },
  };
}
