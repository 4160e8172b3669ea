import type { Arm } from '../versions/experiments/assign.js';
import type { ExperimentDefinition } from '../versions/experiments/definition.js';

type Latency = Partial<Record<Arm, { p50: number; p99: number }>>;

/**
 * Where the recall API's latency of each arm is, by mode: an A/B arm's answers in
 * `towerflow_recall_arm_seconds{arm}`; in shadow mode every returned answer is the live one (all
 * answers, or the control arm's when labelled so) and the candidate's are the shadow
 * computations. One experiment runs per alias at a time, so the series over the experiment's run
 * are its own.
 */
export function latencySources(mode: ExperimentDefinition['mode']): Record<Arm, string[]> {
  return mode === 'ab'
    ? {
        control: ['towerflow_recall_arm_seconds{arm="control"}'],
        candidate: ['towerflow_recall_arm_seconds{arm="candidate"}'],
      }
    : {
        control: ['towerflow_recall_arm_seconds{arm="control"}', 'towerflow_recall_seconds{}'],
        candidate: ['towerflow_recall_shadow_seconds{}'],
      };
}

/** The PromQL of a quantile of `histogram{labels}` over `seconds` before the evaluation time, in one stack. */
export function quantileQuery(q: number, selector: string, seconds: number, stack: string): string {
  const at = selector.indexOf('{');
  const name = selector.slice(0, at);
  const labels = selector.slice(at + 1, -1);
  // a stack's processes carry `stack` (runtime/targets.ts); a Prometheus without it matches too.
  // The id is a regex inside a PromQL string: each special character escaped for both
  const literal = stack.replace(/[^A-Za-z0-9_-]/g, (c) => `\\\\${c}`);
  const scope = `stack=~"${literal}|"${labels ? `,${labels}` : ''}`;
  return `histogram_quantile(${q}, sum(increase(${name}_bucket{${scope}}[${seconds}s])) by (le))`;
}

/**
 * p50 and p99 (ms) of each arm over the experiment's run (start to end, or to now), from
 * Prometheus; an arm is left out when Prometheus is unreachable or holds none of its series (the
 * report then leaves its latency out rather than failing).
 */
export async function armLatency(
  prometheusUrl: string,
  def: ExperimentDefinition,
  stack: string,
  now = Date.now(),
): Promise<Latency> {
  const end = def.endedAt ? Date.parse(def.endedAt) : now;
  const seconds = Math.max(60, Math.round((end - Date.parse(def.startedAt)) / 1000));
  const value = async (expr: string): Promise<number> => {
    const url = `${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr, time: String(end / 1000) })}`;
    const body = await fetch(url, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.json() as Promise<{ data?: { result?: { value: [number, string] }[] } }>)
      .catch(() => undefined);
    return Number(body?.data?.result?.[0]?.value[1] ?? Number.NaN);
  };
  const out: Latency = {};
  for (const [arm, selectors] of Object.entries(latencySources(def.mode)) as [Arm, string[]][])
    for (const selector of selectors) {
      const [p50, p99] = await Promise.all(
        [0.5, 0.99].map((q) => value(quantileQuery(q, selector, seconds, stack))),
      );
      if (Number.isFinite(p50) && Number.isFinite(p99)) {
        out[arm] = {
          p50: Number(((p50 as number) * 1000).toFixed(2)),
          p99: Number(((p99 as number) * 1000).toFixed(2)),
        };
        break;
      }
    }
  return out;
}
