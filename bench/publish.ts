// Publishing item vectors: a new collection per model version, as the daily job does it
// (batch/publish.ts): insert rate with 1 and with INSERTS_IN_FLIGHT batches in flight (side by
// side, same vectors), flush, HNSW index build, load, and the alias switch readers see.
// Usage: towerflow bench publish [--items 100000] [--dim 64] [--json]

import { randomBytes } from 'node:crypto';
import { buildCollection, INSERTS_IN_FLIGHT } from '../batch/publish.js';
import { ItemVectors } from '../clients/milvus/client.js';
import { loadConfig } from '../config/index.js';
import type { ItemRecord } from '../model/data/types.js';
import { benchArgs, hostInfo, intOption, median, progress, Report, randomUnitVectors } from './lib.js';

const args = benchArgs(['items', 'dim']);
const N = intOption(args, 'items', 100_000);
const DIM = intOption(args, 'dim', 64);
const report = new Report('publish', args.json);
const cfg = loadConfig();
const milvus = ItemVectors.fromConfig(cfg);
const tag = randomBytes(3).toString('hex');
const created: string[] = [];
const alias = `bench_alias_${tag}`;

const records: ItemRecord[] = Array.from({ length: N }, (_, i) => ({
  id: `item${i}`,
  categorical: { category: [`c${i % 20}`] },
  numeric: { published_at: 1_700_000_000_000 + i },
}));
const vectors = randomUnitVectors(N, DIM, 7);

try {
  const rows: (string | number)[][] = [];
  const results: Record<number, Awaited<ReturnType<typeof buildCollection>>> = {};
  for (const inFlight of [1, INSERTS_IN_FLIGHT]) {
    const name = `bench_publish_${tag}_${inFlight}`;
    created.push(name);
    progress(`building ${name}: ${N.toLocaleString('en-US')} × ${DIM}-d, ${inFlight} insert(s) in flight`);
    const r = await buildCollection(milvus, name, records, vectors, DIM, undefined, inFlight);
    results[inFlight] = r;
    rows.push([
      `${inFlight} in flight`,
      r.rows / r.insertSeconds,
      r.insertSeconds,
      r.flushSeconds,
      r.indexSeconds,
      r.loadSeconds,
    ]);
  }
  const [a, b] = created as [string, string];
  await milvus.switchAlias(alias, a);
  const switches: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await milvus.switchAlias(alias, i % 2 === 0 ? b : a);
    switches.push(performance.now() - t0);
  }
  const best = results[INSERTS_IN_FLIGHT] as Awaited<ReturnType<typeof buildCollection>>;
  const single = results[1] as Awaited<ReturnType<typeof buildCollection>>;
  report.table(
    `Item vectors into a new collection (${N.toLocaleString('en-US')} × ${DIM}-d, HNSW M=16 efConstruction=200)`,
    ['inserts', 'vectors/s', 'insert s', 'flush s', 'index build s', 'load s'],
    rows,
  );
  report.table(
    'Alias switch (7 switches between the two collections)',
    ['median ms', 'max ms'],
    [[median(switches), Math.max(...switches)]],
  );
  report.note(
    `${INSERTS_IN_FLIGHT} in flight vs 1: ${(single.insertSeconds / best.insertSeconds).toFixed(2)}× the insert rate`,
  );
  report.finish({
    items: N,
    dim: DIM,
    vectors_per_s: Math.round(best.rows / best.insertSeconds),
    vectors_per_s_single: Math.round(single.rows / single.insertSeconds),
    flush_s: best.flushSeconds,
    index_build_s: best.indexSeconds,
    load_s: best.loadSeconds,
    alias_switch_ms: median(switches),
    host: await hostInfo(),
  });
} finally {
  await milvus.dropAlias(alias).catch(() => {});
  for (const c of created) await milvus.dropCollection(c).catch(() => {});
  await milvus.close();
}
