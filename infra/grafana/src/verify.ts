import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generatedDashboards } from './generate.js';
import { EMPTY_WHEN_HEALTHY, panelsOf } from './panels.js';

export interface VerifyOptions {
  prometheusUrl: string;
  /** Regex for the `$stack` variable (default `.*`: every stack). */
  stack?: string;
  /** How far back to look for data (seconds). */
  sinceSeconds?: number;
  /** Rule files whose expressions' metric names must exist too. */
  ruleFiles?: string[];
}

export interface QueryProblem {
  dashboard: string;
  panel: string;
  expr: string;
  error?: string;
}

export interface VerifyReport {
  dashboards: number;
  panels: number;
  queries: number;
  /** Queries with no series over the window, on panels that should have data. */
  empty: QueryProblem[];
  /** Queries with no series on panels marked as empty while healthy (listed, not failures). */
  emptyWhenHealthy: QueryProblem[];
  errors: QueryProblem[];
  /** Metric names used by a dashboard or rule that the Prometheus has neither stored nor seen described by a target. */
  missingMetrics: string[];
  ok: boolean;
}

/** `$stack` and Grafana's interval variables replaced by concrete values. */
export function substitute(expr: string, stack: string): string {
  return expr
    .replaceAll('$stack', stack)
    .replaceAll('$role', '.*')
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m');
}

const PROMQL_WORDS = new Set([
  'sum', 'avg', 'min', 'max', 'count', 'rate', 'increase', 'irate', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'histogram_quantile', 'clamp_min', 'clamp_max', 'vector', 'time', 'changes',
  'or', 'and', 'unless', 'bool', 'offset', 'label_replace', 'abs', 'absent', 'delta', 'deriv', 'topk',
  'bottomk', 'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'le', 'scalar', 'sort',
]);

/** Metric names an expression selects (identifiers before `{` or `[`, recording rules excluded). */
export function metricNames(expr: string): string[] {
  const out = new Set<string>();
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of noStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)/g)) {
    const name = m[1] as string;
    if (!PROMQL_WORDS.has(name) && !name.includes(':')) out.add(name);
  }
  return [...out];
}

/** Every `expr:` of Prometheus rule files (one per line, YAML block scalars folded). */
export function ruleExpressions(files: string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\s*)(?:- )?expr:\s*(.*)$/.exec(lines[i] as string);
      if (!m) continue;
      let expr = (m[2] as string).trim();
      if (expr === '|' || expr === '>' || expr === '|-' || expr === '>-' || expr === '') {
        const parts: string[] = [];
        const indent = (m[1] as string).length;
        const indentOf = (line: string) => line.length - line.trimStart().length;
        for (i++; i < lines.length; i++) {
          const line = lines[i] as string;
          if (line.trim() !== '' && indentOf(line) <= indent) break;
          parts.push(line.trim());
        }
        i--;
        expr = parts.join(' ');
      }
      out.push(expr.replace(/^['"]|['"]$/g, ''));
    }
  }
  return out;
}

/** The rule files the project ships (infra/prometheus/rules/*.yml). */
export function projectRuleFiles(root: string): string[] {
  const dir = path.join(root, 'infra', 'prometheus', 'rules');
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** The series names of described metric families: a histogram's `_bucket`, `_count` and `_sum`. */
export function seriesNamesOf(metadata: Record<string, { type: string }[]>): string[] {
  return Object.entries(metadata).flatMap(([name, [m]]) =>
    m?.type === 'histogram' || m?.type === 'summary'
      ? [name, `${name}_bucket`, `${name}_count`, `${name}_sum`]
      : [name],
  );
}

async function promGet<T>(url: string): Promise<{ status: string; data?: T; error?: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return (await res.json()) as { status: string; data?: T; error?: string };
}

/**
 * Sends every query of every dashboard (variables substituted) to Prometheus as a range query
 * over the last `sinceSeconds`, and checks every metric name that dashboards and rules use.
 */
export async function verifyDashboards(o: VerifyOptions): Promise<VerifyReport> {
  const stack = o.stack ?? '.*';
  const end = Date.now() / 1000;
  const start = end - (o.sinceSeconds ?? 3600);
  const step = Math.max(5, Math.round((end - start) / 200));
  const report: VerifyReport = {
    dashboards: 0,
    panels: 0,
    queries: 0,
    empty: [],
    emptyWhenHealthy: [],
    errors: [],
    missingMetrics: [],
    ok: false,
  };
  const names = new Set<string>();
  for (const { dashboard } of generatedDashboards()) {
    report.dashboards++;
    for (const p of panelsOf(dashboard)) {
      report.panels++;
      for (const raw of p.exprs) {
        report.queries++;
        for (const n of metricNames(raw)) names.add(n);
        const expr = substitute(raw, stack);
        const where = { dashboard: dashboard.title ?? '', panel: p.title, expr };
        const q = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
        const body = await promGet<{ result: unknown[] }>(`${o.prometheusUrl}/api/v1/query_range?${q}`).catch(
          (e: Error) => ({ status: 'error', error: e.message, data: undefined }),
        );
        if (body.status !== 'success') report.errors.push({ ...where, error: body.error ?? body.status });
        else if ((body.data?.result.length ?? 0) === 0)
          (p.description.includes(EMPTY_WHEN_HEALTHY) ? report.emptyWhenHealthy : report.empty).push(where);
      }
    }
  }
  for (const e of ruleExpressions(o.ruleFiles ?? [])) for (const n of metricNames(e)) names.add(n);
  const known = await promGet<string[]>(`${o.prometheusUrl}/api/v1/label/__name__/values`);
  // a labelled counter without a series yet (an experiment's, before any experiment ran) is known
  // to Prometheus by the HELP and TYPE its target exports: the metadata of the active targets
  const described = await promGet<Record<string, { type: string }[]>>(`${o.prometheusUrl}/api/v1/metadata`);
  const have = new Set([...(known.data ?? []), ...seriesNamesOf(described.data ?? {})]);
  report.missingMetrics = [...names].filter((n) => !have.has(n)).sort();
  report.ok = report.empty.length === 0 && report.errors.length === 0 && report.missingMetrics.length === 0;
  return report;
}
