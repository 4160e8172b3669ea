import type { ExperimentReport } from '../../versions/experiments/report.js';
import { formatTable } from './table.js';

/** A share as a percentage with two decimals, `-` when not a number. */
export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)} %` : '-');

/** An experiment's report as `towerflow experiment report` prints it (and the demo says it). */
export function reportText(r: ExperimentReport): string {
  const rows = r.arms.map((a) => ({
    arm: a.name,
    model_version: a.model_version,
    users: a.users,
    events: a.events,
    hits: a.hits,
    hit_rate: pct(a.hit_rate),
    p50_ms: a.latency_ms?.p50,
    p99_ms: a.latency_ms?.p99,
  }));
  return [
    `${r.name} (${r.mode}, ${r.state}, candidate share ${pct(r.share)})`,
    formatTable(rows).trimEnd(),
    `lift ${pct(r.lift)}, 95 % CI [${pct(r.ci_low)}, ${pct(r.ci_high)}] (${r.ci_method})`,
    `sample ratio: chi² ${r.srm_chi2.toFixed(2)}, p ${r.srm_p.toPrecision(3)}${r.srm_mismatch ? ' — MISMATCH' : ''}`,
    `recommendation: ${r.recommendation} (${r.reason})`,
    ...(r.arms.some((a) => a.latency_ms) ? [] : ['latency: not in Prometheus (no recall API reported it)']),
  ].join('\n');
}
