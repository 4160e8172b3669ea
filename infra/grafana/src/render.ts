import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { generatedDashboards } from './generate.js';
import { substitute } from './verify.js';

// A picture of each dashboard from Prometheus' query_range, laid out as Grafana lays it out
// (24 columns; rows; panel titles, units, legends), for people without a Grafana at hand.

const COLORS = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0'];
const CELL_W = 75;
const CELL_H = 30;

interface Series {
  label: string;
  points: [number, number][];
}

interface GrafanaPanel {
  type: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps?: { value: number | null; color: string }[] } } };
  targets?: { expr?: string; legendFormat?: string }[];
}

/** A value with its unit as Grafana would show it (short form). */
export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '–';
  const short = (x: number) =>
    Math.abs(x) >= 1e6
      ? `${(x / 1e6).toFixed(1)}M`
      : Math.abs(x) >= 1e3
        ? `${(x / 1e3).toFixed(1)}k`
        : Number.isInteger(x)
          ? String(x)
          : x.toFixed(Math.abs(x) < 10 ? 2 : 0);
  switch (unit) {
    case 's':
      return Math.abs(v) >= 3600 ? `${(v / 3600).toFixed(1)} h` : Math.abs(v) >= 1 ? `${v.toFixed(2)} s` : `${(v * 1000).toFixed(1)} ms`;
    case 'percentunit':
      return `${(v * 100).toFixed(1)}%`;
    case 'bytes':
      return v >= 2 ** 30 ? `${(v / 2 ** 30).toFixed(2)} GiB` : `${(v / 2 ** 20).toFixed(0)} MiB`;
    case 'reqps':
      return `${short(v)}/s`;
    default:
      return short(v);
  }
}

function legendOf(format: string | undefined, metric: Record<string, string>): string {
  if (!format) return Object.entries(metric).map(([k, v]) => `${k}=${v}`).join(', ') || 'value';
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => metric[k] ?? '');
}

async function queryRange(prometheusUrl: string, expr: string, start: number, end: number, step: number) {
  const q = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
  const res = await fetch(`${prometheusUrl}/api/v1/query_range?${q}`, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as {
    data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  return body.data?.result ?? [];
}

function drawTimeseries(g: SKRSContext2D, x: number, y: number, w: number, h: number, series: Series[], unit: string, start: number, end: number, thresholds: number[]) {
  const m = { left: 70, right: 10, top: 28, bottom: 22 + Math.min(3, Math.ceil(series.length / 2)) * 14 };
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let [y0, y1] = ys.length ? [Math.min(0, ...ys), Math.max(...ys)] : [0, 1];
  if (y1 === y0) y1 = y0 + 1;
  const px = (t: number) => x + m.left + ((t - start) / (end - start || 1)) * (w - m.left - m.right);
  const py = (v: number) => y + h - m.bottom - ((v - y0) / (y1 - y0)) * (h - m.top - m.bottom);
  g.font = '11px sans-serif';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    g.strokeStyle = '#2c3235';
    g.beginPath();
    g.moveTo(x + m.left, py(v));
    g.lineTo(x + w - m.right, py(v));
    g.stroke();
    g.fillStyle = '#9fa7b3';
    g.fillText(formatValue(v, unit), x + 6, py(v) + 4);
  }
  for (const t of thresholds)
    if (t >= y0 && t <= y1) {
      g.strokeStyle = '#e24d42';
      g.setLineDash([4, 4]);
      g.beginPath();
      g.moveTo(x + m.left, py(t));
      g.lineTo(x + w - m.right, py(t));
      g.stroke();
      g.setLineDash([]);
    }
  g.lineWidth = 1.5;
  series.forEach((s, i) => {
    g.strokeStyle = COLORS[i % COLORS.length] as string;
    g.beginPath();
    let moved = false;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) {
        moved = false;
        continue;
      }
      if (moved) g.lineTo(px(t), py(v));
      else g.moveTo(px(t), py(v));
      moved = true;
    }
    g.stroke();
  });
  if (series.length === 0) {
    g.fillStyle = '#9fa7b3';
    g.font = '13px sans-serif';
    g.fillText('No data', x + w / 2 - 25, y + h / 2);
  }
  // legend: two columns, at most 6 entries
  g.font = '11px sans-serif';
  series.slice(0, 6).forEach((s, i) => {
    const lx = x + m.left + (i % 2) * ((w - m.left) / 2);
    const ly = y + h - m.bottom + 16 + Math.floor(i / 2) * 14;
    g.fillStyle = COLORS[i % COLORS.length] as string;
    g.fillRect(lx, ly - 8, 10, 3);
    g.fillStyle = '#ccccdc';
    const last = s.points.at(-1)?.[1];
    g.fillText(`${s.label.slice(0, 38)}  ${last === undefined ? '' : formatValue(last, unit)}`, lx + 14, ly - 3);
  });
}

function drawStat(
  g: SKRSContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  series: Series[],
  unit: string,
  steps: { value: number | null; color: string }[],
  showLabels: boolean,
) {
  const values = series.map((s) => ({ label: s.label, v: s.points.at(-1)?.[1] ?? Number.NaN }));
  const colorOf = (v: number) => {
    const named = (color: string) =>
      color === 'green' ? '#73bf69' : color === 'orange' ? '#ff9830' : color === 'red' ? '#f2495c' : color;
    let c = named(steps.find((st) => st.value === null)?.color ?? 'green');
    for (const st of steps) if (st.value !== null && v >= st.value) c = named(st.color);
    return c;
  };
  if (values.length === 0) {
    g.fillStyle = '#9fa7b3';
    g.font = '13px sans-serif';
    g.fillText('No data', x + w / 2 - 25, y + h / 2 + 10);
    return;
  }
  values.slice(0, 2).forEach((s, i) => {
    g.fillStyle = colorOf(s.v);
    g.font = 'bold 30px sans-serif';
    // a stat whose legend names a label (the live version) shows the label, else the value
    const text = showLabels ? s.label : formatValue(s.v, unit);
    g.fillText(text.slice(0, 22), x + 14, y + 70 + i * 36);
  });
}

/** Draws every dashboard as `<uid>.png` in `outDir` from the last `sinceSeconds` of Prometheus data. */
export async function renderDashboards(o: {
  prometheusUrl: string;
  outDir: string;
  stack?: string;
  sinceSeconds?: number;
}): Promise<string[]> {
  mkdirSync(o.outDir, { recursive: true });
  const end = Date.now() / 1000;
  const start = end - (o.sinceSeconds ?? 3600);
  const step = Math.max(5, Math.round((end - start) / 300));
  const files: string[] = [];
  for (const { dashboard } of generatedDashboards()) {
    const panels = (dashboard.panels ?? []) as GrafanaPanel[];
    const bottom = Math.max(...panels.map((p) => (p.gridPos?.y ?? 0) + (p.gridPos?.h ?? 0)));
    const width = 24 * CELL_W;
    const height = 50 + bottom * CELL_H + 10;
    const canvas = createCanvas(width, height);
    const g = canvas.getContext('2d');
    g.fillStyle = '#111217';
    g.fillRect(0, 0, width, height);
    g.fillStyle = '#ccccdc';
    g.font = 'bold 18px sans-serif';
    g.fillText(`${dashboard.title}   (last ${Math.round((end - start) / 60)} min, ${new Date(end * 1000).toISOString().slice(0, 16)}Z)`, 12, 30);
    for (const p of panels) {
      const gp = p.gridPos ?? { x: 0, y: 0, w: 12, h: 8 };
      const x = gp.x * CELL_W + 4;
      const y = 50 + gp.y * CELL_H + 4;
      const w = gp.w * CELL_W - 8;
      const h = gp.h * CELL_H - 8;
      if (p.type === 'row') {
        g.fillStyle = '#ccccdc';
        g.font = 'bold 15px sans-serif';
        g.fillText(p.title ?? '', x + 4, y + 18);
        continue;
      }
      g.fillStyle = '#181b1f';
      g.fillRect(x, y, w, h);
      g.strokeStyle = '#2c3235';
      g.strokeRect(x, y, w, h);
      g.fillStyle = '#ccccdc';
      g.font = '13px sans-serif';
      g.fillText((p.title ?? '').slice(0, Math.floor(w / 7)), x + 8, y + 18);
      const unit = p.fieldConfig?.defaults?.unit ?? 'none';
      const series: Series[] = [];
      for (const t of p.targets ?? []) {
        for (const r of await queryRange(o.prometheusUrl, substitute(t.expr ?? '', o.stack ?? '.*'), start, end, step))
          series.push({ label: legendOf(t.legendFormat, r.metric), points: r.values.map(([ts, v]) => [ts, Number(v)]) });
      }
      const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
      const showLabels = (p.targets ?? []).some((t) => /\{\{/.test(t.legendFormat ?? ''));
      if (p.type === 'stat') drawStat(g, x, y, w, h, series, unit, steps, showLabels);
      else drawTimeseries(g, x, y, w, h, series, unit, start, end, steps.filter((s) => s.value !== null && s.color === 'red').map((s) => s.value as number));
    }
    const file = path.join(o.outDir, `${dashboard.uid}.png`);
    writeFileSync(file, canvas.toBuffer('image/png'));
    files.push(file);
  }
  return files;
}
