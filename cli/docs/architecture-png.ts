import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { type Box, type BoxKind, boxes, type Edge, edges, GRID_UNITS, groups } from './architecture.js';

// docs/architecture.png: the boxes of architecture.ts on their grid, arrows drawn straight
// between box sides. Arrows go behind boxes (a line crossing a row disappears behind it and
// comes out below), and each side spreads its arrows by where their other end lies, so they
// do not meet in one point.

const UNIT = 118;
const MARGIN = 30;
const BOX_H = 60;
const ROW_TOP = [80, 200, 320, 470, 620, 770, 900, 1000];
const WIDTH = GRID_UNITS * UNIT + 2 * MARGIN;
const HEIGHT = 1110;

const STYLE: Record<BoxKind, { fill: string; stroke: string; dash?: number[] }> = {
  outside: { fill: '#ffffff', stroke: '#888888', dash: [5, 4] },
  process: { fill: '#dbe9f6', stroke: '#2f6fa8' },
  room: { fill: '#e8e1f3', stroke: '#6a4c9c' },
  store: { fill: '#dff0de', stroke: '#3f8a3a' },
  wire: { fill: '#eeeeee', stroke: '#666666' },
  service: { fill: '#fbead3', stroke: '#b5761d' },
};

// an arrow takes the colour of the process (or Prometheus) at one of its ends
const EDGE_COLOR: Record<string, string> = {
  prometheus: '#b5761d',
  ingest: '#4b5563',
  p_history: '#1f77b4',
  p_sequence: '#2ca02c',
  p_items: '#e6730b',
  p_embeddings: '#9467bd',
  batch: '#8c564b',
  serving: '#d62728',
};

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  row: number;
}

function boxRect(b: Box): Rect {
  const h = b.kind === 'wire' ? 44 : BOX_H;
  return { x: MARGIN + b.x * UNIT, y: ROW_TOP[b.row] ?? 0, w: b.w * UNIT, h, row: b.row };
}

function groupRect(id: string): Rect {
  const rs = boxes.filter((b) => b.group === id).map(boxRect);
  const x = Math.min(...rs.map((r) => r.x)) - 10;
  const y = Math.min(...rs.map((r) => r.y)) - 30;
  const right = Math.max(...rs.map((r) => r.x + r.w)) + 10;
  const bottom = Math.max(...rs.map((r) => r.y + r.h)) + 10;
  return { x, y, w: right - x, h: bottom - y, row: rs[0]?.row ?? 0 };
}

function rectOf(id: string): Rect {
  const b = boxes.find((b) => b.id === id);
  if (b) return boxRect(b);
  if (groups.some((g) => g.id === id)) return groupRect(id);
  throw new Error(`architecture: no box or group "${id}"`);
}

type Side = 'top' | 'bottom' | 'left' | 'right';
type Point = { x: number; y: number };

/** The point of `other` an arrow from `r` heads for: the middle of their overlap, if any, so it runs straight. */
function aim(r: Rect, other: Rect): Point {
  const mid = (a0: number, a1: number, b0: number, b1: number) => {
    const [lo, hi] = [Math.max(a0, b0), Math.min(a1, b1)];
    return lo < hi ? (lo + hi) / 2 : (b0 + b1) / 2;
  };
  return {
    x: mid(r.x, r.x + r.w, other.x, other.x + other.w),
    y: mid(r.y, r.y + r.h, other.y, other.y + other.h),
  };
}

function sideOf(e: Edge, end: 'from' | 'to'): Side {
  const [a, b] = [rectOf(e.from), rectOf(e.to)];
  if (a.row === b.row) return (end === 'from') === a.x < b.x ? 'right' : 'left';
  return (end === 'from') === a.row < b.row ? 'bottom' : 'top';
}

/**
 * Where each edge leaves and enters: on the facing sides, as close as the side allows to the
 * other end (so an arrow between boxes above each other is vertical), at least `gap` apart.
 */
function anchors(): Map<Edge, { from: Point; to: Point }> {
  const bySide = new Map<string, { edge: Edge; end: 'from' | 'to'; other: Point }[]>();
  for (const e of edges) {
    for (const end of ['from', 'to'] as const) {
      const key = `${e[end]}:${sideOf(e, end)}`;
      const list = bySide.get(key) ?? [];
      list.push({ edge: e, end, other: aim(rectOf(e[end]), rectOf(end === 'from' ? e.to : e.from)) });
      bySide.set(key, list);
    }
  }
  const out = new Map<Edge, { from: Point; to: Point }>();
  for (const [key, list] of bySide) {
    const [id, side] = key.split(':') as [string, Side];
    const r = rectOf(id);
    const vertical = side === 'left' || side === 'right';
    const [lo, len] = vertical ? [r.y, r.h] : [r.x, r.w];
    const inset = Math.min(24, len / 6);
    const [min, max] = [lo + inset, lo + len - inset];
    const gap = list.length > 1 ? Math.min(36, (max - min) / (list.length - 1)) : 0;
    list.sort((a, b) => (vertical ? a.other.y - b.other.y : a.other.x - b.other.x));
    const pos = list.map((a) => Math.min(max, Math.max(min, vertical ? a.other.y : a.other.x)));
    for (let i = 1; i < pos.length; i++) pos[i] = Math.max(pos[i] ?? 0, (pos[i - 1] ?? 0) + gap);
    for (let i = pos.length - 1; i >= 0; i--)
      pos[i] = Math.min(pos[i] ?? 0, max - (pos.length - 1 - i) * gap);
    list.forEach(({ edge, end }, i) => {
      const v = pos[i] ?? 0;
      const p = vertical
        ? { x: side === 'left' ? r.x : r.x + r.w, y: v }
        : { x: v, y: side === 'top' ? r.y : r.y + r.h };
      const a = out.get(edge) ?? { from: p, to: p };
      out.set(edge, { ...a, [end]: p });
    });
  }
  return out;
}

function roundRect(g: SKRSContext2D, r: Rect, radius: number) {
  g.beginPath();
  g.roundRect(r.x, r.y, r.w, r.h, radius);
}

function drawArrowHead(g: SKRSContext2D, from: Point, to: Point, color: string) {
  const a = Math.atan2(to.y - from.y, to.x - from.x);
  const s = 10;
  g.fillStyle = color;
  g.beginPath();
  g.moveTo(to.x, to.y);
  g.lineTo(to.x - s * Math.cos(a - 0.4), to.y - s * Math.sin(a - 0.4));
  g.lineTo(to.x - s * Math.cos(a + 0.4), to.y - s * Math.sin(a + 0.4));
  g.closePath();
  g.fill();
}

/** An edge's label on the edge, clear of the boxes and of the labels already placed. */
function drawLabel(g: SKRSContext2D, text: string, from: Point, to: Point, color: string, placed: Rect[]) {
  g.font = 'italic 12px sans-serif';
  const w = g.measureText(text).width + 8;
  const at = (t: number): Rect => {
    const x = from.x + (to.x - from.x) * t;
    const y = from.y + (to.y - from.y) * t;
    return { x: x - w / 2, y: y - 9, w, h: 17, row: -1 };
  };
  const overlaps = (a: Rect, b: Rect) =>
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const obstacles = [...boxes.map(boxRect), ...placed];
  const candidates = [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8].map(at);
  const r = candidates.find((c) => !obstacles.some((o) => overlaps(c, o))) ?? (candidates[0] as Rect);
  placed.push(r);
  g.fillStyle = 'rgba(255,255,255,0.92)';
  g.fillRect(r.x, r.y, r.w, r.h);
  g.fillStyle = color;
  g.fillText(text, r.x + 4, r.y + 13);
}

function drawBox(g: SKRSContext2D, b: Box) {
  const r = boxRect(b);
  const st = STYLE[b.kind];
  roundRect(g, r, 8);
  g.fillStyle = st.fill;
  g.fill();
  g.setLineDash(st.dash ?? []);
  g.strokeStyle = st.stroke;
  g.lineWidth = 1.6;
  g.stroke();
  g.setLineDash([]);
  g.fillStyle = '#1f2328';
  g.textAlign = 'center';
  g.font = 'bold 15px sans-serif';
  const cx = r.x + r.w / 2;
  g.fillText(b.title, cx, b.note ? r.y + r.h / 2 - 3 : r.y + r.h / 2 + 5);
  if (b.note) {
    g.font = '12px sans-serif';
    g.fillStyle = '#444c56';
    g.fillText(b.note, cx, r.y + r.h / 2 + 15);
  }
  g.textAlign = 'left';
}

/** The picture as PNG bytes. */
export function architecturePng(): Buffer {
  const canvas = createCanvas(WIDTH, HEIGHT);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, WIDTH, HEIGHT);
  g.fillStyle = '#1f2328';
  g.font = 'bold 20px sans-serif';
  g.fillText('towerflow: the data flow through the rooms (folders); imports only point down', MARGIN, 36);
  g.font = '13px sans-serif';
  g.fillStyle = '#444c56';
  g.fillText(
    'solid arrow: data goes this way · dashed: read or used · colour: the process at one end · docs/architecture.md',
    MARGIN,
    58,
  );
  for (const grp of groups) {
    const r = groupRect(grp.id);
    roundRect(g, r, 10);
    g.fillStyle = '#f6f8fa';
    g.fill();
    g.setLineDash([6, 4]);
    g.strokeStyle = '#8c959f';
    g.lineWidth = 1.2;
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = '#1f2328';
    g.font = 'bold 14px sans-serif';
    g.fillText(grp.title, r.x + 10, r.y + 19);
  }
  const ends = anchors();
  const colorOf = (e: Edge) => EDGE_COLOR[e.from] ?? EDGE_COLOR[e.to] ?? '#57606a';
  for (const e of edges) {
    const { from, to } = ends.get(e) ?? { from: { x: 0, y: 0 }, to: { x: 0, y: 0 } };
    g.strokeStyle = colorOf(e);
    g.lineWidth = e.kind === 'flow' ? 2 : 1.5;
    g.setLineDash(e.kind === 'flow' ? [] : [6, 4]);
    g.beginPath();
    g.moveTo(from.x, from.y);
    g.lineTo(to.x, to.y);
    g.stroke();
  }
  g.setLineDash([]);
  for (const b of boxes) drawBox(g, b);
  const labels: Rect[] = [];
  for (const e of edges) {
    const { from, to } = ends.get(e) ?? { from: { x: 0, y: 0 }, to: { x: 0, y: 0 } };
    drawArrowHead(g, from, to, colorOf(e));
    if (e.label) drawLabel(g, e.label, from, to, colorOf(e), labels);
  }
  return canvas.toBuffer('image/png');
}
