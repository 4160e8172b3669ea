import { type EvaluationResult, MAX_CUTOFF, MetricAccumulator } from '../model/eval/metrics.js';
import type { LeaveLastOutSplit } from '../model/eval/protocol.js';

export interface ApiEvaluation extends EvaluationResult {
  /** Answers by the path that served them (personal, profile, popular). */
  sources: Record<string, number>;
  /** Model versions that answered. */
  versions: string[];
  /** Users whose training items left fewer than 100 candidates within `maxK` (ranked shorter). */
  truncated: number;
  latencyMs: { p50: number; p99: number };
}

/**
 * DESIGN.md §6 through the running recall API: for every held-out case, GET /v1/recall for the
 * user, drop the user's training items (the API leaves out only the recent sequence; the
 * protocol leaves out all of them) and score the top 100 against the held-out item.
 */
export async function evaluateThroughApi(
  baseUrl: string,
  split: LeaveLastOutSplit,
  o: { maxK: number; concurrency?: number; onProgress?: (done: number) => void },
): Promise<ApiEvaluation> {
  const acc = new MetricAccumulator();
  const sources: Record<string, number> = {};
  const versions = new Set<string>();
  const latencies: number[] = [];
  let truncated = 0;
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < split.test.length; i = next++) {
      const c = split.test[i] as LeaveLastOutSplit['test'][number];
      const trained = split.trainItemsByUser.get(c.user) ?? new Set<string>();
      const k = Math.min(o.maxK, MAX_CUTOFF + trained.size);
      const t0 = performance.now();
      // `at`: the held-out event's time, so the context features are those of that moment
      const res = await fetch(
        `${baseUrl}/v1/recall?user_id=${encodeURIComponent(c.user)}&k=${k}&at=${Math.round(c.ts * 1000)}`,
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
      const ranked = body.items.map((x) => x.item_id).filter((id) => !trained.has(id));
      if (ranked.length < MAX_CUTOFF && body.items.length === k) truncated++;
      acc.add(ranked.slice(0, MAX_CUTOFF), c.item);
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
    truncated,
    latencyMs: { p50: q(0.5), p99: q(0.99) },
  };
}
