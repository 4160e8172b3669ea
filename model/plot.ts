import { writeFile } from 'node:fs/promises';
import { createCanvas } from '@napi-rs/canvas';

export interface Series {
  label: string;
  points: { x: number; y: number }[];
  color?: string;
}

/** A line chart as PNG (training loss curves and the like), with axes, ticks and a legend. */
export async function writeLineChart(
  file: string,
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  width = 900,
  height = 500,
): Promise<void> {
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  const m = { left: 90, right: 20, top: 40, bottom: 50 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    await writeFile(file, canvas.toBuffer('image/png'));
    return;
  }
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);

  g.strokeStyle = '#dddddd';
  g.fillStyle = '#333333';
  g.font = '12px sans-serif';
  g.lineWidth = 1;
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    g.beginPath();
    g.moveTo(m.left, py(y));
    g.lineTo(width - m.right, py(y));
    g.stroke();
    g.fillText(y.toFixed(2), 34, py(y) + 4);
    const x = x0 + ((x1 - x0) * i) / 5;
    g.fillText(String(Math.round(x)), px(x) - 10, height - m.bottom + 18);
  }
  g.font = '14px sans-serif';
  g.fillText(title, m.left, 24);
  g.fillText(xLabel, width / 2 - 20, height - 12);
  g.save();
  g.translate(16, height / 2 + 20);
  g.rotate(-Math.PI / 2);
  g.fillText(yLabel, 0, 0);
  g.restore();

  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  series.forEach((s, i) => {
    g.strokeStyle = s.color ?? (palette[i % palette.length] as string);
    g.lineWidth = 1.5;
    g.beginPath();
    s.points.forEach((p, j) => {
      if (j === 0) g.moveTo(px(p.x), py(p.y));
      else g.lineTo(px(p.x), py(p.y));
    });
    g.stroke();
    g.fillStyle = g.strokeStyle;
    g.fillText(s.label, width - m.right - 200, m.top + 16 * (i + 1));
  });
  await writeFile(file, canvas.toBuffer('image/png'));
}

/** Moving average, to show a noisy per-step loss as a readable curve. */
export function smooth(points: { x: number; y: number }[], window = 20): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    sum += (points[i] as { y: number }).y;
    if (i >= window) sum -= (points[i - window] as { y: number }).y;
    out.push({ x: (points[i] as { x: number }).x, y: sum / Math.min(i + 1, window) });
  }
  return out;
}
