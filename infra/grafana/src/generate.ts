import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARDS } from './dashboards.js';
import { buildDashboard } from './panels.js';

/** Every dashboard as the JSON file Grafana provisions: `infra/grafana/dashboards/<uid>.json`. */
export function generatedDashboards(): { file: string; dashboard: Dashboard; text: string }[] {
  return DASHBOARDS.map((spec) => {
    const dashboard = buildDashboard(spec);
    return { file: `${spec.uid}.json`, dashboard, text: `${JSON.stringify(dashboard, null, 2)}\n` };
  });
}

/** Writes the generated JSON into `dir` and removes any other dashboard file there; returns the files. */
export function writeDashboards(dir: string): string[] {
  const out = generatedDashboards();
  const keep = new Set(out.map((d) => d.file));
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && !keep.has(f)) rmSync(path.join(dir, f));
  for (const d of out) writeFileSync(path.join(dir, d.file), d.text);
  return out.map((d) => d.file);
}
