import type { Arm } from '../versions/experiments/assign.js';
import type { ExperimentDefinition } from '../versions/experiments/definition.js';

/**
 * The recall API's latency histogram per experiment and arm (labels `experiment`, `arm`), which
 * the report reads from Prometheus.
 */
export const ARM_LATENCY_METRIC = 'towerflow_recall_experiment_seconds';

type Latency = Partial<Record<Arm, { p50: number; p99: number }>>;

/**
 * p50 and p99 (ms) of each arm over the experiment's run (start to end, or to now), from
 * Prometheus; empty when Prometheus is unreachable or holds no such series (the report then
 * leaves latency out rather than failing).
 */
export async function armLatency(
  prometheusUrl: string,
  def: ExperimentDefinition,
  now = Date.now(),
): Promise<Latency> {
  const end = def.endedAt ? Date.parse(def.endedAt) : now;
  const seconds = Math.max(60, Math.round((end - Date.parse(def.startedAt)) / 1000));
  const out: Latency = {};
  for (const [q, key] of [
    [0.5, 'p50'],
    [0.99, 'p99'],
  ] as const) {
    // the name is an experiment name (definition.ts: [a-z0-9_-]), safe inside a PromQL string
    const expr = `histogram_quantile(${q}, sum by (le, arm) (increase(${ARM_LATENCY_METRIC}_bucket{experiment="${def.name}"}[${seconds}s])))`;
    const url = `${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr, time: String(end / 1000) })}`;
    const body = await fetch(url, { signal: AbortSignal.timeout(5000) })
      .then(
        (r) =>
          r.json() as Promise<{
            data?: { result?: { metric: { arm?: string }; value: [number, string] }[] };
          }>,
      )
      .catch(() => undefined);
    for (const r of body?.data?.result ?? []) {
      const arm = r.metric.arm;
      const v = Number(r.value[1]) * 1000;
      if ((arm !== 'control' && arm !== 'candidate') || !Number.isFinite(v)) continue;
      out[arm] = { ...(out[arm] ?? { p50: Number.NaN, p99: Number.NaN }), [key]: Number(v.toFixed(2)) };
    }
  }
  for (const arm of ['control', 'candidate'] as const) {
    const l = out[arm];
    if (l && !(Number.isFinite(l.p50) && Number.isFinite(l.p99))) delete out[arm];
  }
  return out;
}
