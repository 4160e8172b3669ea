import {
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  type Dashboard,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

// A small vocabulary over the Grafana Foundation SDK: every dashboard is a list of rows of
// panels; every panel has a description and a unit, and thresholds where an objective exists.

/** The label selector of the project's own processes, scoped to the chosen stacks. */
export const TF = 'job="towerflow",stack=~"$stack"';
/** The same, narrowed to the chosen processes (the process panels). */
export const TF_ROLE = `${TF},role=~"$role"`;

export interface Query {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  kind?: 'timeseries' | 'stat';
  /** Objective lines: [value, color] above the base color. */
  thresholds?: [number, string][];
  /** Color below the first threshold (default green). */
  base?: string;
  /** Set when the panel can only be empty on a healthy system: why (shown in its description). */
  emptyWhenHealthy?: string;
  /** Panel width in grid units (24 = full); default 12, stats 6. */
  width?: number;
  min?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  rows: RowSpec[];
  /** Whether panels filter on the `stack` variable (the project's processes). */
  stackVariable?: boolean;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** The marker `towerflow dashboards verify` reads: a panel with it may be empty. */
export const EMPTY_WHEN_HEALTHY = 'Empty while healthy:';

function thresholds(steps: [number, string][], base = 'green') {
  return (
    new ThresholdsConfigBuilder()
      .mode(ThresholdsMode.Absolute)
      // Grafana's base step has a null value
      .steps([{ value: null as unknown as number, color: base }, ...steps.map(([value, color]) => ({ value, color }))])
  );
}

function panel(p: PanelSpec, id: number, x: number, y: number, width: number) {
  const description = p.emptyWhenHealthy ? `${p.description} ${EMPTY_WHEN_HEALTHY} ${p.emptyWhenHealthy}` : p.description;
  const builder = p.kind === 'stat' ? new StatPanel() : new TimeseriesPanel();
  builder
    .id(id)
    .title(p.title)
    .description(description)
    .unit(p.unit)
    .datasource(DATASOURCE)
    .gridPos({ x, y, w: width, h: p.kind === 'stat' ? 5 : 8 });
  if (p.min !== undefined) builder.min(p.min);
  if (p.thresholds) builder.thresholds(thresholds(p.thresholds, p.base));
  p.queries.forEach((q, i) => {
    const t = new DataqueryBuilder()
      .expr(q.expr)
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE);
    if (q.legend) t.legendFormat(q.legend);
    builder.withTarget(t);
  });
  return builder;
}

/** The Grafana JSON of one dashboard (Grafana 10.4 schema; Grafana 11 migrates it on import). */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const d = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['towerflow'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .link(new DashboardLinkBuilder('towerflow').type(DashboardLinkType.Dashboards).tags(['towerflow']).asDropdown(true).keepTime(true).includeVars(true));
  if (spec.stackVariable !== false)
    d.withVariable(
      new QueryVariableBuilder('stack')
        .label('Stack')
        .description('Which deployment (KAFKA_CLIENT_ID of its processes)')
        .query('label_values(up{job="towerflow"}, stack)')
        .datasource(DATASOURCE)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .refresh(VariableRefresh.OnTimeRangeChanged),
    )
      .withVariable(
        new QueryVariableBuilder('role')
          .label('Process')
          .description('Which towerflow processes the process panels show (ingest, serve, stream-…, batch)')
          .query('label_values(process_cpu_seconds_total{job="towerflow",stack=~"$stack"}, role)')
          .datasource(DATASOURCE)
          .multi(true)
          .includeAll(true)
          .allValue('.*')
          .refresh(VariableRefresh.OnTimeRangeChanged),
      );
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    d.withRow(new RowBuilder(row.title).id(id++).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const width = p.width ?? (p.kind === 'stat' ? 6 : 12);
      const height = p.kind === 'stat' ? 5 : 8;
      if (x + width > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      d.withPanel(panel(p, id++, x, y, width));
      x += width;
      rowHeight = Math.max(rowHeight, height);
    }
    y += rowHeight;
  }
  return d.build();
}

/** Every panel of a built dashboard with its queries (rows flattened). */
export function panelsOf(d: Dashboard): { title: string; description: string; unit: string; exprs: string[] }[] {
  const out: { title: string; description: string; unit: string; exprs: string[] }[] = [];
  for (const p of (d.panels ?? []) as {
    type: string;
    title?: string;
    description?: string;
    fieldConfig?: { defaults?: { unit?: string } };
    targets?: { expr?: string }[];
  }[]) {
    if (p.type === 'row') continue;
    out.push({
      title: p.title ?? '',
      description: p.description ?? '',
      unit: p.fieldConfig?.defaults?.unit ?? '',
      exprs: (p.targets ?? []).map((t) => t.expr ?? ''),
    });
  }
  return out;
}
