// The data-flow picture of docs/architecture.md, once: the Mermaid block and the PNG
// (docs/architecture.png) are both drawn from these boxes and arrows, so they cannot disagree.
// Each box names its folder. Rows are the layers, top to bottom; `x` and `w` place a box on a
// 16-unit-wide grid for the PNG (Mermaid lays itself out).

export type BoxKind = 'outside' | 'process' | 'room' | 'store' | 'wire' | 'service';

export interface Box {
  id: string;
  title: string;
  note?: string;
  kind: BoxKind;
  row: number;
  x: number;
  w: number;
  /** the frame drawn around it (`streams/processors/`, `stores/<role>/`) */
  group?: string;
}

export interface Group {
  id: string;
  title: string;
}

/** `flow`: data goes this way (written, sent, published); `read`: read or used from `from` by `to`. */
export interface Edge {
  from: string;
  to: string;
  kind: 'flow' | 'read';
  label?: string;
}

export const GRID_UNITS = 16;

export const groups: Group[] = [
  { id: 'streams', title: 'streams/processors/' },
  { id: 'stores', title: 'stores/<role>/' },
];

// ordered by their writers, left to right, so that few arrows cross
const storeRoles: [string, string][] = [
  ['history', 'HBase'],
  ['popularity', 'Redis'],
  ['sequence', 'Redis'],
  ['seen', 'Redis'],
  ['profiles', 'HBase + Redis'],
  ['embeddings', 'Redis'],
  ['answers', 'Redis'],
  ['experiments', 'Redis'],
  ['vectors', 'Milvus'],
];

export const boxes: Box[] = [
  {
    id: 'producers',
    title: 'producers',
    note: 'replay/ or your services',
    kind: 'outside',
    row: 0,
    x: 0,
    w: 3.4,
  },
  {
    id: 'prometheus',
    title: 'Prometheus',
    note: 'scrapes every /metrics',
    kind: 'service',
    row: 0,
    x: 6.3,
    w: 3.4,
  },
  {
    id: 'callers',
    title: 'recall callers',
    note: 'GET /v1/recall',
    kind: 'outside',
    row: 0,
    x: 12.6,
    w: 3.4,
  },
  { id: 'ingest', title: 'ingest/', note: 'ingest API', kind: 'process', row: 1, x: 0, w: 3.4 },
  {
    id: 'kafka',
    title: 'Kafka',
    note: 'behaviour · item · user events · exposures',
    kind: 'service',
    row: 2,
    x: 0,
    w: 3.4,
  },
  ...(['history', 'sequence', 'items', 'embeddings', 'experiments'] as const).map(
    (name, i): Box => ({
      id: `p_${name}`,
      title: name,
      note: `${name}.ts`,
      kind: 'process',
      row: 3,
      x: 0.15 + i * 1.8,
      w: 1.65,
      group: 'streams',
    }),
  ),
  {
    id: 'batch',
    title: 'batch/',
    note: 'daily job: train, gate, publish',
    kind: 'process',
    row: 3,
    x: 9.3,
    w: 3.1,
  },
  { id: 'serving', title: 'serving/', note: 'recall API', kind: 'process', row: 3, x: 12.9, w: 3.1 },
  {
    id: 'versions',
    title: 'versions/',
    note: 'registry · live pointer · reload channel · item bypass',
    kind: 'room',
    row: 4,
    x: 3.3,
    w: 5.2,
  },
  {
    id: 'model',
    title: 'model/',
    note: 'towers · features · training · evaluation',
    kind: 'room',
    row: 4,
    x: 9.6,
    w: 4.4,
  },
  ...storeRoles.map(
    ([role, backend], i): Box => ({
      id: `s_${role}`,
      title: `${role}/`,
      note: backend,
      kind: 'store',
      row: 5,
      x: 0.15 + i * 1.75,
      w: 1.6,
      group: 'stores',
    }),
  ),
  {
    id: 'clients',
    title: 'clients/',
    note: 'kafka · hbase · redis · milvus wire clients',
    kind: 'wire',
    row: 6,
    x: 0,
    w: 16,
  },
  { id: 'hbase', title: 'HBase', note: 'via the Thrift2 gateway', kind: 'service', row: 7, x: 1.6, w: 3.2 },
  { id: 'redis', title: 'Redis', kind: 'service', row: 7, x: 6.4, w: 3.2 },
  {
    id: 'milvus',
    title: 'Milvus',
    note: 'one collection per version',
    kind: 'service',
    row: 7,
    x: 11.2,
    w: 3.2,
  },
];

const flow = (from: string, to: string, label?: string): Edge => ({
  from,
  to,
  kind: 'flow',
  ...(label && { label }),
});
const read = (from: string, to: string, label?: string): Edge => ({
  from,
  to,
  kind: 'read',
  ...(label && { label }),
});

export const edges: Edge[] = [
  flow('producers', 'ingest', 'POST /v1/events, /items, /users'),
  flow('ingest', 'kafka', 'validated events'),
  flow('kafka', 'streams', 'consumer groups'),
  flow('callers', 'serving'),
  read('prometheus', 'ingest'),
  read('prometheus', 'streams'),
  read('prometheus', 'batch'),
  read('prometheus', 'serving'),
  flow('p_history', 's_history'),
  flow('p_history', 's_popularity'),
  flow('p_sequence', 's_sequence'),
  flow('p_sequence', 's_seen'),
  read('s_answers', 'p_sequence', 'online hits'),
  flow('p_items', 's_profiles'),
  flow('p_items', 'versions', 'item bypass'),
  flow('p_embeddings', 's_embeddings'),
  read('s_vectors', 'p_embeddings'),
  read('versions', 'p_embeddings'),
  read('model', 'p_embeddings'),
  read('s_history', 'batch', 'training window'),
  read('s_profiles', 'batch'),
  flow('batch', 'model', 'train, gate'),
  flow('batch', 'versions', 'publish'),
  flow('batch', 's_vectors', 'new collection'),
  flow('versions', 's_vectors'),
  read('model', 'versions'),
  read('versions', 'serving', 'live version'),
  read('model', 'serving', 'user tower'),
  read('s_sequence', 'serving'),
  read('s_profiles', 'serving'),
  read('s_seen', 'serving'),
  read('s_embeddings', 'serving'),
  read('s_popularity', 'serving'),
  read('s_vectors', 'serving', 'ANN search'),
  flow('serving', 's_answers'),
  flow('serving', 'kafka', 'exposures'),
  flow('p_experiments', 's_experiments', 'per-arm results'),
  read('versions', 'p_experiments', 'experiments'),
  flow('stores', 'clients'),
  flow('clients', 'hbase'),
  flow('clients', 'redis'),
  flow('clients', 'milvus'),
];

const mermaidShape: Record<BoxKind, [string, string]> = {
  outside: ['([', '])'],
  process: ['[', ']'],
  room: ['[', ']'],
  store: ['[', ']'],
  wire: ['[', ']'],
  service: ['[(', ')]'],
};

// Mermaid reads `<` and `>` in a label as HTML: its own entity codes keep them as text.
const mermaidText = (s: string) => s.replaceAll('<', '#lt;').replaceAll('>', '#gt;');

function mermaidBox(b: Box): string {
  const [open, close] = mermaidShape[b.kind];
  const label = b.note ? `${mermaidText(b.title)}<br/>${mermaidText(b.note)}` : mermaidText(b.title);
  return `${b.id}${open}"${label}"${close}`;
}

/** The picture as a Mermaid flowchart (docs/architecture.md carries it between markers). */
export function architectureMermaid(): string {
  const lines = ['```mermaid', 'flowchart TD'];
  for (const b of boxes.filter((b) => !b.group)) lines.push(`  ${mermaidBox(b)}`);
  for (const g of groups) {
    lines.push(`  subgraph ${g.id}["${mermaidText(g.title)}"]`);
    for (const b of boxes.filter((b) => b.group === g.id)) lines.push(`    ${mermaidBox(b)}`);
    lines.push('  end');
  }
  for (const e of edges) {
    const arrow = e.kind === 'flow' ? '-->' : '-.->';
    lines.push(`  ${e.from} ${arrow}${e.label ? `|"${e.label}"|` : ''} ${e.to}`);
  }
  const kinds: Record<BoxKind, string> = {
    outside: 'fill:#ffffff,stroke:#888,stroke-dasharray:4 3',
    process: 'fill:#dbe9f6,stroke:#2f6fa8',
    room: 'fill:#e8e1f3,stroke:#6a4c9c',
    store: 'fill:#dff0de,stroke:#3f8a3a',
    wire: 'fill:#eeeeee,stroke:#666',
    service: 'fill:#fbead3,stroke:#b5761d',
  };
  for (const [kind, style] of Object.entries(kinds)) {
    const ids = boxes.filter((b) => b.kind === kind).map((b) => b.id);
    lines.push(`  classDef ${kind} ${style}`, `  class ${ids.join(',')} ${kind}`);
  }
  lines.push('```');
  return lines.join('\n');
}
